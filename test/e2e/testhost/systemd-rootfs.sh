#!/bin/sh
# Builds the Debian root filesystem that systemd test hosts boot
# (testhost.SystemdRootfs; `make systemd-rootfs`). The test hosts mount it
# read-only under a per-host tmpfs overlay, so one copy serves every host
# and every run. Needs root, mmdebstrap or debootstrap, and network access
# to the Debian archive. Rebuilds only when the stamp's recipe differs from
# this one's.
set -eu

dest=${1:-/var/cache/strata-test/rootfs}
suite=${SUITE:-bookworm}
mirror=${MIRROR:-http://deb.debian.org/debian}
# Bump when the recipe changes, so cached copies are rebuilt.
recipe="strata-systemd-rootfs v2 $suite"

if [ -f "$dest/.strata-rootfs" ] && [ "$(cat "$dest/.strata-rootfs")" = "$recipe" ]; then
  echo "systemd-rootfs: $dest is up to date"
  exit 0
fi

tmp="$dest.tmp.$$"
trap 'rm -rf -- "$tmp"' EXIT
rm -rf -- "$dest".tmp.*
mkdir -p -- "$(dirname "$dest")"
pkgs=systemd,systemd-sysv,dbus,openssh-server,iproute2,procps,sudo
# mmdebstrap fetches with apt, in parallel, and took half debootstrap's
# time here (6 minutes against 8 to 13 on a loaded machine).
if command -v mmdebstrap >/dev/null 2>&1; then
  mmdebstrap --mode=root --variant=minbase --include="$pkgs" "$suite" "$tmp" "$mirror"
elif command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ]; then
  PATH="$PATH:/usr/sbin:/sbin" debootstrap --variant=minbase --include="$pkgs" "$suite" "$tmp" "$mirror"
else
  echo "systemd-rootfs: neither mmdebstrap nor debootstrap is installed" >&2
  exit 1
fi

# Every host gets its own host key and sshd_config (bound in by the
# harness); the keys openssh-server's install made would be shared.
rm -f -- "$tmp"/etc/ssh/ssh_host_*
# Units a container without consoles, clock or hardware has no use for.
for u in getty@tty1.service console-getty.service systemd-timesyncd.service \
  apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer; do
  ln -sf /dev/null "$tmp/etc/systemd/system/$u"
done
# systemd makes a machine ID at boot (nspawn passes one), and the host
# name is the machine name nspawn gives.
: > "$tmp/etc/machine-id"
rm -f -- "$tmp/etc/hostname"
# A login user who becomes root through sudo without a password, as on
# many machines the deployer meets. Its password is "*" (no password),
# not "!" (locked), which sshd refuses even for keys without PAM.
chroot "$tmp" useradd --create-home --shell /bin/sh deploy
chroot "$tmp" usermod --password '*' deploy
echo 'deploy ALL=(ALL) NOPASSWD:ALL' > "$tmp/etc/sudoers.d/deploy"
chmod 440 "$tmp/etc/sudoers.d/deploy"
rm -rf -- "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/*
echo "$recipe" > "$tmp/.strata-rootfs"

rm -rf -- "$dest"
mv -- "$tmp" "$dest"
trap - EXIT
echo "systemd-rootfs: built $dest"
