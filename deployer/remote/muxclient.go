package remote

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// errMuxUnavailable is a failure to use the keeping process at all (not
// a failure to reach the host): the caller dials directly instead.
var errMuxUnavailable = errors.New("ssh connection-keeping process unavailable")

// muxStartWait bounds the wait for a just-started process to listen.
const muxStartWait = 3 * time.Second

// muxClient reaches the user's connection-keeping process, starting it
// when none listens.
type muxClient struct {
	dir     string
	persist time.Duration
	// start runs the process for the socket, detached.
	start func(socket string, persist time.Duration) error
	log   *slog.Logger

	mu sync.Mutex // one start at a time in this process
}

func (m *muxClient) socket() string { return filepath.Join(m.dir, muxSocketName) }

// connect returns a connection to the process, checked to be this user's.
func (m *muxClient) connect(ctx context.Context) (net.Conn, error) {
	sock := m.socket()
	if len(sock) > maxSocketPath {
		return nil, fmt.Errorf("%w: socket path %s is too long", errMuxUnavailable, sock)
	}
	if err := privateDir(m.dir); err != nil {
		return nil, fmt.Errorf("%w: %w", errMuxUnavailable, err)
	}
	if c, err := dialMuxSocket(ctx, sock); err == nil {
		return c, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	// Other strata processes may be starting one too: the first to take
	// the lock starts it, the others then find it listening.
	unlock, err := lockFile(ctx, filepath.Join(m.dir, "mux.lock"))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errMuxUnavailable, err)
	}
	defer unlock()
	if c, err := dialMuxSocket(ctx, sock); err == nil {
		return c, nil
	}
	os.Remove(sock) // nothing answers there: left by a process that died
	if err := m.start(sock, m.persist); err != nil {
		return nil, fmt.Errorf("%w: start: %w", errMuxUnavailable, err)
	}
	deadline := time.Now().Add(muxStartWait)
	for delay := time.Millisecond; ; delay = min(2*delay, 50*time.Millisecond) {
		c, err := dialMuxSocket(ctx, sock)
		if err == nil {
			return c, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("%w: it did not listen at %s: %w", errMuxUnavailable, sock, err)
		}
		time.Sleep(delay)
	}
}

func dialMuxSocket(ctx context.Context, sock string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, "unix", sock)
	if err != nil {
		return nil, err
	}
	if err := checkPeer(c); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// lockFile takes an exclusive flock on path (created 0600), waiting while
// ctx allows.
func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	for delay := time.Millisecond; ; delay = min(2*delay, 50*time.Millisecond) {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, err
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(delay):
		}
	}
}

// startMuxCommand returns a start function running argv plus the socket
// and the lifetime: in a session of its own (a ^C at the terminal or the
// end of the parent leaves it alone), in /, with /dev/null for its standard
// streams (it must not hold the caller's pipes open) and an empty
// environment (it needs no secrets; it never sees one).
func startMuxCommand(argv []string) func(string, time.Duration) error {
	return func(socket string, persist time.Duration) error {
		cmd := exec.Command(argv[0], append(argv[1:len(argv):len(argv)], socket, persist.String())...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		cmd.Dir = "/"
		cmd.Env = []string{}
		if err := cmd.Start(); err != nil {
			return err
		}
		go cmd.Wait() // reaped if it ends while this process runs
		return nil
	}
}

// dialMux gets r's connection through the keeping process: a local SSH
// connection bound to the process's upstream connection for r, which the
// process dials (asking this process to check keys and sign) when it has
// none. The host keys are checked here against known_hosts on every call,
// reused connection or not.
func (d *dialer) dialMux(ctx context.Context, r route) (*connection, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	hops := append(append([]endpoint(nil), r.Jumps...), r.Target)
	d.policy.mu.Lock()
	db, err := d.policy.db()
	d.policy.mu.Unlock()
	if err != nil {
		return nil, err
	}
	nc, err := d.mux.connect(ctx)
	if err != nil {
		return nil, err
	}
	client, err := muxHandshake(ctx, nc)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errMuxUnavailable, err)
	}
	req := muxBindRequest{TimeoutNanos: int64(d.timeout), KeepaliveNanos: int64(d.keepalive)}
	key := []string{"known_hosts=" + d.policy.file}
	for i, h := range hops {
		req.Hops = append(req.Hops, muxHop{Hop: i, Address: h.Address, User: h.User})
		var algs []string
		if db != nil {
			algs = db.HostKeyAlgorithms(h.Address)
		}
		req.HostKeyAlgorithms = append(req.HostKeyAlgorithms, algs)
		key = append(key, h.User+"@"+h.Address)
	}
	req.Key = strings.Join(key, "\x00")
	refused := &hopErrors{}
	go d.answerHostKeys(client.HandleChannelOpen(chanHostKey), hops, db, refused)
	go d.answerSigners(ctx, client.HandleChannelOpen(chanSigner), hops, refused)
	payload, _ := json.Marshal(req)
	ok, answer, err := sendRequest(ctx, client, reqBind, payload)
	if err != nil {
		client.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("connect to %s%s: %w", r.Target.Address, via(r.Jumps), ctx.Err())
		}
		return nil, fmt.Errorf("%w: %w", errMuxUnavailable, err)
	}
	var reply muxBindReply
	if err := json.Unmarshal(answer, &reply); err != nil {
		client.Close()
		return nil, fmt.Errorf("%w: bad reply: %w", errMuxUnavailable, err)
	}
	if !ok {
		client.Close()
		if i, err := refused.first(); err != nil {
			return nil, fmt.Errorf("ssh to %s%s: %w", hops[i].Address, via(hops[:i]), err)
		}
		return nil, errors.New(reply.Error)
	}
	if len(reply.HostKeys) != len(hops) || len(reply.Remotes) != len(hops) {
		client.Close()
		return nil, fmt.Errorf("%w: bad reply", errMuxUnavailable)
	}
	for i, h := range hops {
		key, err := ssh.ParsePublicKey(reply.HostKeys[i])
		if err == nil {
			err = d.policy.check(db, h.Address, addrOf(reply.Remotes[i]), key)
		}
		if err != nil {
			client.Close()
			return nil, fmt.Errorf("ssh to %s%s: %w", h.Address, via(hops[:i]), err)
		}
	}
	c := &connection{client: client, dead: make(chan struct{})}
	c.watch(d.keepalive)
	return c, nil
}

// muxHandshake runs the local SSH handshake with the keeping process.
func muxHandshake(ctx context.Context, nc net.Conn) (*ssh.Client, error) {
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	}
	cfg := &ssh.ClientConfig{
		Config: muxLinkConfig(),
		User:   "strata",
		// The key is the process's own, made when it started: what makes
		// it trusted is that the kernel says the peer is this user
		// (checkPeer), in a directory only this user can enter.
		HostKeyCallback: func(string, net.Addr, ssh.PublicKey) error { return nil },
	}
	c, chans, reqs, err := ssh.NewClientConn(nc, "strata-mux", cfg)
	if err != nil {
		nc.Close()
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	if string(c.ServerVersion()) != muxServerVersion {
		c.Close()
		return nil, fmt.Errorf("unexpected version %q", c.ServerVersion())
	}
	return ssh.NewClient(c, chans, reqs), nil
}

// sendRequest is client.SendRequest bounded by ctx.
func sendRequest(ctx context.Context, client *ssh.Client, name string, payload []byte) (bool, []byte, error) {
	type result struct {
		ok     bool
		answer []byte
		err    error
	}
	done := make(chan result, 1)
	go func() {
		ok, answer, err := client.SendRequest(name, true, payload)
		done <- result{ok, answer, err}
	}()
	select {
	case r := <-done:
		return r.ok, r.answer, r.err
	case <-ctx.Done():
		client.Close()
		return false, nil, ctx.Err()
	}
}

// hopErrors keeps the first refusal (a host key, credentials) this
// process gave while the keeping process dialled, to return it as itself.
type hopErrors struct {
	mu  sync.Mutex
	hop int
	err error
}

func (h *hopErrors) set(hop int, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err == nil {
		h.hop, h.err = hop, err
	}
}

func (h *hopErrors) first() (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hop, h.err
}

// answerHostKeys checks the keys the keeping process is offered, with
// this process's known_hosts policy (which pins new keys when allowed).
func (d *dialer) answerHostKeys(chans <-chan ssh.NewChannel, hops []endpoint, db *knownhosts.HostKeyDB, refused *hopErrors) {
	for nch := range chans {
		var q muxHostKeyCheck
		if err := json.Unmarshal(nch.ExtraData(), &q); err != nil || q.Hop < 0 || q.Hop >= len(hops) {
			nch.Reject(ssh.Prohibited, "malformed host-key check")
			continue
		}
		key, err := ssh.ParsePublicKey(q.Key)
		if err == nil {
			// The address checked is this process's own for the hop.
			err = d.policy.check(db, hops[q.Hop].Address, addrOf(q.Remote), key)
		}
		if err != nil {
			refused.set(q.Hop, err)
			nch.Reject(ssh.Prohibited, err.Error())
			continue
		}
		if ch, reqs, err := nch.Accept(); err == nil {
			go ssh.DiscardRequests(reqs)
			ch.Close()
		}
	}
}

// answerSigners serves this process's credentials for a hop as an
// ssh-agent session: the keeping process gets signatures, never keys.
func (d *dialer) answerSigners(ctx context.Context, chans <-chan ssh.NewChannel, hops []endpoint, refused *hopErrors) {
	for nch := range chans {
		var q muxHop
		if err := json.Unmarshal(nch.ExtraData(), &q); err != nil || q.Hop < 0 || q.Hop >= len(hops) {
			nch.Reject(ssh.Prohibited, "malformed signer request")
			continue
		}
		signers, closer, err := d.creds.signers(ctx, d.keyFiles, hops[q.Hop].IdentityFiles, d.agent)
		if err != nil {
			refused.set(q.Hop, err)
			nch.Reject(ssh.Prohibited, err.Error())
			continue
		}
		ch, reqs, err := nch.Accept()
		if err != nil {
			closer.Close()
			continue
		}
		go ssh.DiscardRequests(reqs)
		go func() {
			defer closer.Close()
			defer ch.Close()
			agent.ServeAgent(signerAgent(signers), ch)
		}()
	}
}

// signerAgent is a read-only ssh-agent over signers.
type signerAgent []ssh.Signer

var errReadOnlyAgent = errors.New("read-only agent")

func (a signerAgent) List() ([]*agent.Key, error) {
	keys := make([]*agent.Key, 0, len(a))
	for _, s := range a {
		pk := s.PublicKey()
		keys = append(keys, &agent.Key{Format: pk.Type(), Blob: pk.Marshal()})
	}
	return keys, nil
}

func (a signerAgent) Sign(key ssh.PublicKey, data []byte) (*ssh.Signature, error) {
	return a.SignWithFlags(key, data, 0)
}

func (a signerAgent) SignWithFlags(key ssh.PublicKey, data []byte, flags agent.SignatureFlags) (*ssh.Signature, error) {
	want := key.Marshal()
	for _, s := range a {
		if !bytes.Equal(s.PublicKey().Marshal(), want) {
			continue
		}
		algo := ""
		switch {
		case flags&agent.SignatureFlagRsaSha256 != 0:
			algo = ssh.KeyAlgoRSASHA256
		case flags&agent.SignatureFlagRsaSha512 != 0:
			algo = ssh.KeyAlgoRSASHA512
		}
		if algo == "" {
			return s.Sign(rand.Reader, data)
		}
		as, ok := s.(ssh.AlgorithmSigner)
		if !ok {
			return nil, fmt.Errorf("the key cannot sign with %s", algo)
		}
		return as.SignWithAlgorithm(rand.Reader, data, algo)
	}
	return nil, errors.New("no such key")
}

func (a signerAgent) Signers() ([]ssh.Signer, error) { return a, nil }
func (a signerAgent) Add(agent.AddedKey) error       { return errReadOnlyAgent }
func (a signerAgent) Remove(ssh.PublicKey) error     { return errReadOnlyAgent }
func (a signerAgent) RemoveAll() error               { return errReadOnlyAgent }
func (a signerAgent) Lock([]byte) error              { return errReadOnlyAgent }
func (a signerAgent) Unlock([]byte) error            { return errReadOnlyAgent }
func (a signerAgent) Extension(string, []byte) ([]byte, error) {
	return nil, agent.ErrExtensionUnsupported
}

// addrOf turns a remote address string back into a net.Addr for the
// known_hosts check (which also matches the IP).
func addrOf(s string) net.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return net.TCPAddrFromAddrPort(ap)
	}
	return stringAddr(s)
}

type stringAddr string

func (a stringAddr) Network() string { return "tcp" }
func (a stringAddr) String() string  { return string(a) }
