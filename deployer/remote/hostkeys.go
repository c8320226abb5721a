package remote

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"
	xknownhosts "golang.org/x/crypto/ssh/knownhosts"
)

// AcceptNewHostKeysFlag is the command-line flag that pins unknown host
// keys; error messages name it so users know what to type.
const AcceptNewHostKeysFlag = "-accept-new-host-keys"

// HostKeyProblem says why a host key was refused.
type HostKeyProblem int

const (
	// HostKeyUnknown: known_hosts has no key for the address.
	HostKeyUnknown HostKeyProblem = iota + 1
	// HostKeyChanged: known_hosts has a different key for the address.
	HostKeyChanged
)

// HostKeyError is a host key refused by the known_hosts policy.
type HostKeyError struct {
	Problem HostKeyProblem
	// Address is the host:port the key was offered for (a bastion's, when
	// a hop of the chain failed).
	Address string
	// Offered is the SHA256 fingerprint of the key the server presented,
	// and OfferedType its algorithm.
	Offered     string
	OfferedType string
	// Known lists the recorded keys ("file:line SHA256:...") for a changed
	// key.
	Known      []string
	KnownHosts string
}

func (e *HostKeyError) Error() string {
	if e.Problem == HostKeyChanged {
		return fmt.Sprintf("host key of %s HAS CHANGED: the server offered %s %s, but %s records %s. "+
			"Someone may be intercepting the connection, or the host was reinstalled. "+
			"If you know the new key is right, remove the old one with `ssh-keygen -R %s -f %s` and connect again",
			e.Address, e.OfferedType, e.Offered, e.KnownHosts, strings.Join(e.Known, ", "),
			shQuote(knownhosts.Normalize(e.Address)), shQuote(e.KnownHosts))
	}
	return fmt.Sprintf("host key of %s is unknown: the server offered %s %s, which is not in %s. "+
		"Compare it with the host's own key (ssh-keygen -lf /etc/ssh/ssh_host_%s_key.pub on the host), "+
		"then rerun with %s to add it",
		e.Address, e.OfferedType, e.Offered, e.KnownHosts, keyFileStem(e.OfferedType), AcceptNewHostKeysFlag)
}

func keyFileStem(keyType string) string {
	switch {
	case strings.Contains(keyType, "ed25519"):
		return "ed25519"
	case strings.Contains(keyType, "ecdsa"):
		return "ecdsa"
	default:
		return "rsa"
	}
}

// hostKeyPolicy checks host keys against one known_hosts file: unknown
// keys are refused unless acceptNew, changed keys always.
type hostKeyPolicy struct {
	file      string
	acceptNew bool
	log       *slog.Logger
	// mu serialises appends from concurrent dials of one pool, so lines
	// never interleave and a key accepted by one dial is seen by the next.
	mu *sync.Mutex
}

// db loads the known_hosts file, or nil when it does not exist yet (every
// host is then unknown).
func (p hostKeyPolicy) db() (*knownhosts.HostKeyDB, error) {
	db, err := knownhosts.NewDB(p.file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("known_hosts %s: %w", p.file, err)
	}
	return db, nil
}

// configure sets the host-key callback and the algorithms for one hop. The
// algorithms are restricted to those known_hosts records for the address,
// so a server that prefers another key type is not mistaken for a changed
// key.
func (p hostKeyPolicy) configure(cfg *ssh.ClientConfig, address string) error {
	p.mu.Lock()
	db, err := p.db()
	p.mu.Unlock()
	if err != nil {
		return err
	}
	if db != nil {
		cfg.HostKeyAlgorithms = db.HostKeyAlgorithms(address)
	}
	cfg.HostKeyCallback = func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		return p.check(db, address, remote, key)
	}
	return nil
}

func (p hostKeyPolicy) check(db *knownhosts.HostKeyDB, address string, remote net.Addr, key ssh.PublicKey) error {
	var err error
	if db == nil {
		err = &xknownhosts.KeyError{}
	} else {
		err = db.HostKeyCallback()(address, remote, key)
	}
	var keyErr *xknownhosts.KeyError
	if err == nil || !errors.As(err, &keyErr) {
		return err
	}
	hkErr := &HostKeyError{Address: address, Offered: ssh.FingerprintSHA256(key), OfferedType: key.Type(), KnownHosts: p.file}
	if len(keyErr.Want) > 0 {
		hkErr.Problem = HostKeyChanged
		for _, k := range keyErr.Want {
			hkErr.Known = append(hkErr.Known, fmt.Sprintf("%s %s (%s:%d)", k.Key.Type(), ssh.FingerprintSHA256(k.Key), k.Filename, k.Line))
		}
		return hkErr
	}
	hkErr.Problem = HostKeyUnknown
	if !p.acceptNew {
		return hkErr
	}
	return p.pin(address, remote, key)
}

// pin appends the key to known_hosts (created 0600, its directory 0700),
// as OpenSSH's StrictHostKeyChecking=accept-new does.
func (p hostKeyPolicy) pin(address string, remote net.Addr, key ssh.PublicKey) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	// Another dial of this pool may have pinned it meanwhile.
	if db, err := p.db(); err == nil && db != nil && db.HostKeyCallback()(address, remote, key) == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p.file), 0o700); err != nil {
		return fmt.Errorf("pin host key of %s: %w", address, err)
	}
	f, err := os.OpenFile(p.file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("pin host key of %s: %w", address, err)
	}
	// One write of one line: O_APPEND keeps concurrent writers' lines whole.
	_, werr := f.WriteString(knownhosts.Line([]string{address}, key) + "\n")
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		return fmt.Errorf("pin host key of %s in %s: %w", address, p.file, err)
	}
	p.log.Info("pinned new host key", "address", address, "type", key.Type(),
		"fingerprint", ssh.FingerprintSHA256(key), "known_hosts", p.file)
	return nil
}
