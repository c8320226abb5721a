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
// # Kept connections
//
// With Options.Persist (strata's -ssh-persist, 60 s by default, as
// Ansible's ControlPersist), connections outlive the run in a background
// process of the user (ServeMux, started as Options.MuxCommand, in its own
// session with no environment and /dev/null for stdio), so the next plan
// or apply skips TCP, key exchange, authentication and sshd's
// per-connection work. Its socket is MuxDir(home)/mux-v1.sock: mode 0600
// in a 0700 directory that must belong to the user, and both ends check
// the other's uid (SO_PEERCRED). The process speaks SSH to its clients (one
// local connection per host, relayed channel by channel), holds no keys and
// decides nothing: while it dials it asks the client to check each hop's
// host key and to sign (an ssh-agent channel to the client's credentials),
// and the client checks the recorded host keys against its known_hosts
// again on every reuse. Connections are shared per hops, users and
// known_hosts file; one unused for Persist closes, and the process exits
// when it has had no client for Persist or its socket file is removed. If
// the process cannot be used (no MuxCommand, a socket path too long, a
// directory others can enter), the host is dialled directly.
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
