// Package remote is how the deployer acts on a machine: run a command,
// upload a file verified by its digest, write a file atomically, read and
// stat files. Host is that interface; SSH and Local implement it, and Pool
// builds them from the hosts of a spec.ClusterSpec.
//
// # SSH
//
// An SSH host keeps one connection (golang.org/x/crypto/ssh) and opens a
// session per command on it, at most Options.MaxSessions at once, so a
// whole apply costs one handshake per machine and never meets sshd's
// MaxStartups. Keepalive requests detect a dead peer; the next call dials
// again. A command is never re-run after its connection died mid-way, since
// whether it ran is unknown.
//
// Credentials, in order: the ssh-agent (SSH_AUTH_SOCK, when ssh.agent is
// true), then the spec's private_key_files, then ~/.ssh/config's
// IdentityFile entries (or ~/.ssh/id_{ed25519,ecdsa,rsa} when nothing names
// a key). A key with a FILE-cert.pub beside it is also offered as that
// certificate. An encrypted key's passphrase comes from STRATA_SSH_PASSPHRASE
// or Options.Prompt, asked at most once per file.
//
// ~/.ssh/config supplies HostName, User, Port (when the spec leaves the
// default 22), IdentityFile and ProxyJump; the spec's settings win. Jump
// hosts (the spec's bastion chain, else ProxyJump) are dialled in order,
// each through the previous one, and every hop's host key is checked.
//
// # Host keys
//
// Keys are always checked against the host's known_hosts file
// (github.com/skeema/knownhosts, which also restricts the negotiated key
// types to those recorded, so a second key type is not mistaken for a
// change). An unknown key is refused with a *HostKeyError giving its SHA256
// fingerprint and the flag that pins it (AcceptNewHostKeysFlag, i.e.
// Options.AcceptNewHostKeys, which appends it to known_hosts, mode 0600). A
// changed key is always refused, with both fingerprints and the ssh-keygen
// command that removes the old one.
//
// # Privileges
//
// RunOpts.Sudo runs a command as root: directly when the login user is
// root, with `sudo -n` when sudo needs no password, otherwise with `sudo -S`
// and the password from STRATA_SUDO_PASSWORD or Options.Prompt (asked once
// per pool), written to sudo's stdin. File operations use sudo when the
// host's ssh.sudo setting is true. Passphrases and passwords never appear
// in logs, errors or command lines.
//
// # Files
//
// Upload, WriteFile and the readers are POSIX shell scripts run through the
// same transport, so SSH and Local behave alike: a write streams into a
// temporary file beside the destination, sha256sum checks it on the host,
// it is synced and renamed over the destination, and the directory is
// synced. Upload sends nothing when the destination already has the
// digest. Hosts need sh, coreutils (sha256sum, stat, sync, mv) and cat.
package remote
