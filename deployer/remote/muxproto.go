package remote

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/crypto/ssh"
)

// The connection-keeping process (Options.Persist; OpenSSH calls it a
// ControlMaster) speaks SSH itself on a Unix socket: a client opens one
// local SSH connection per host, asks the process to bind it to an upstream
// connection (dialling one if it has none), then opens ordinary sessions,
// which the process relays. Nothing secret reaches the process: while it
// dials, it asks the client to check every hop's host key (a channel the
// client rejects with its reason) and to sign the authentication (an agent
// channel to the client's own keys), and the client checks the host keys
// again on every reuse, against its known_hosts of the moment.
const (
	// muxVersion names the protocol in the socket's name, so a process of
	// another strata version is never asked to speak this one.
	muxVersion = "1"
	// muxSocketName is the control socket in MuxDir.
	muxSocketName    = "mux-v" + muxVersion + ".sock"
	muxServerVersion = "SSH-2.0-strata-mux-" + muxVersion
	// reqBind binds the local connection to an upstream (payload
	// muxBindRequest, reply muxBindReply).
	reqBind = "bind@strata"
	// chanHostKey asks the client to check a hop's key (extra data
	// muxHostKeyCheck): accepted means trusted, rejected carries why.
	chanHostKey = "hostkey@strata"
	// chanSigner is an ssh-agent session serving the client's signers for
	// one hop (extra data muxHop).
	chanSigner = "signer@strata"
)

// muxLinkConfig is the local link's algorithms on both ends: the cheapest
// strong ones (x/crypto would otherwise pick ML-KEM, whose key generation
// costs more than the rest of the handshake; AES-GCM has hardware support
// where it matters).
func muxLinkConfig() ssh.Config {
	return ssh.Config{KeyExchanges: []string{ssh.KeyExchangeCurve25519}, Ciphers: []string{ssh.CipherAES128GCM}}
}

type muxHop struct {
	Hop     int
	Address string
	User    string
}

// muxBindRequest names an upstream connection. Key is what it is shared
// by: the hops, their users and the known_hosts file the client checks
// keys against.
type muxBindRequest struct {
	Key               string
	Hops              []muxHop
	TimeoutNanos      int64
	KeepaliveNanos    int64
	HostKeyAlgorithms [][]string
}

type muxBindReply struct {
	Error string
	// HostKeys and Remotes are each hop's key (wire format) and address,
	// for the client to check again.
	HostKeys [][]byte
	Remotes  []string
	Reused   bool
}

type muxHostKeyCheck struct {
	Hop     int
	Address string
	Remote  string
	Key     []byte
}

// MuxDir is the directory of the control socket for a user's home:
// ~/.cache/strata/ssh, mode 0700; or, when that path is too long for a
// socket, a directory of this user in the temporary directory, named after
// the home (the same 0700 and ownership checks apply to it).
func MuxDir(home string) string {
	dir := filepath.Join(home, ".cache", "strata", "ssh")
	if len(filepath.Join(dir, muxSocketName)) <= maxSocketPath {
		return dir
	}
	sum := sha256.Sum256([]byte(home))
	return filepath.Join(os.TempDir(), fmt.Sprintf("strata-ssh-%d-%x", os.Geteuid(), sum[:6]))
}

// maxSocketPath is the longest Unix socket path every supported kernel
// takes (sun_path is 104 bytes on the BSDs, 108 on Linux).
const maxSocketPath = 100

// privateDir creates dir (0700) if needed and checks that it is a
// directory of this user that nobody else can enter or write, so a socket
// in it can only be reached by this user (or root).
func privateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%s belongs to uid %d, not to this user", dir, st.Uid)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%s has mode %#o; it must be 0700", dir, fi.Mode().Perm())
	}
	return nil
}

// checkPeer refuses a Unix-socket peer that is neither this user nor root
// (where the kernel says who the peer is; elsewhere the 0700 directory is
// the only guard).
func checkPeer(c net.Conn) error {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return errors.New("not a unix socket")
	}
	uid, err := peerUID(uc)
	if err != nil {
		return fmt.Errorf("peer credentials: %w", err)
	}
	if uid >= 0 && uid != os.Geteuid() && uid != 0 {
		return fmt.Errorf("peer is uid %d, not this user", uid)
	}
	return nil
}

// socketInode identifies the socket file a process listens on, so it can
// tell when the file was removed or replaced.
func socketInode(path string) (uint64, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return 0, err
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return 0, fmt.Errorf("%s is not a socket", path)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, errors.New("no inode")
	}
	return st.Ino, nil
}
