// Package testhost makes disposable test hosts on this machine for
// end-to-end tests of the deployer: each host is a network namespace on a
// private bridge, with private /etc/strata, /opt/strata, /var/lib/strata,
// /var/log/strata and an empty root home /root (bind mounts in a mount
// namespace, backed by a directory the test can inspect; the empty home
// keeps this machine's shell start-up files out of every SSH command),
// running a real OpenSSH sshd that lets a
// generated client key log in as root. A known_hosts file lists every
// host's key.
//
// A cluster takes a free slot k (1..250): bridge strbr<k> with 10.213.k.254
// on 10.213.k.0/24, namespaces strata-<k>-h<i> with eth0 at 10.213.k.<i>,
// host-side veths stv<k>h<i>, and its files under /tmp/strata-testhosts/<k>.
// The slot is owned through an flock held for the cluster's lifetime, so a
// crashed run's leftovers (processes, namespaces, links, files) are found
// by name and removed by the next run, while a live run's are left alone.
// Traffic goes only to loopback and to these namespaces, and the harness
// checks a namespace exists before sending to its address.
//
// A host's sshd shares this machine's PID namespace and /run, except that
// a /run/systemd/system of this machine is hidden, so the deployer sees a
// host without systemd. Options.Systemd makes the first hosts boot a real
// systemd instead (systemd.go): systemd-nspawn --boot of the Debian root
// filesystem SystemdRootfs (`make systemd-rootfs`), read-only under a
// tmpfs overlay, in the host's network namespace, with the PrivateDirs
// bound in as above; systemd is PID 1 of the host's own PID namespace and
// runs sshd (the same host key, client key and user CA), and a user
// "deploy" may log in too and become root with sudo.
//
// Needs root, ip (iproute2), unshare and nsenter (util-linux), and sshd
// (openssh-server); New skips the test saying what is missing. The empty
// directories /etc/strata etc. are created on the machine as mount points
// if missing and left in place; nothing is ever written into them outside
// a test host.
package testhost
