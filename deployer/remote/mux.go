package remote

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// ServeMux runs the connection-keeping process on the Unix socket path,
// which must be in a directory only this user can enter (MuxDir). It keeps
// each upstream connection until it has been unused for persist, and
// returns once no client has used it for persist, when ctx ends, or when
// its socket file is removed or replaced (so removing the directory stops
// it within a second).
func ServeMux(ctx context.Context, socket string, persist time.Duration) error {
	if persist <= 0 {
		return errors.New("ssh mux: the lifetime must be positive")
	}
	if err := privateDir(filepath.Dir(socket)); err != nil {
		return fmt.Errorf("ssh mux: %w", err)
	}
	ln, err := net.Listen("unix", socket)
	if err != nil {
		return fmt.Errorf("ssh mux: %w", err)
	}
	ul := ln.(*net.UnixListener)
	// Only this process's own file may be removed on the way out: another
	// process may have replaced it.
	ul.SetUnlinkOnClose(false)
	defer ul.Close()
	if err := os.Chmod(socket, 0o600); err != nil {
		return fmt.Errorf("ssh mux: %w", err)
	}
	ino, err := socketInode(socket)
	if err != nil {
		return fmt.Errorf("ssh mux: %w", err)
	}
	// The key only names this process for the local handshake; clients
	// trust the kernel's word on who listens (checkPeer), not the key.
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("ssh mux: %w", err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return fmt.Errorf("ssh mux: %w", err)
	}
	m := &muxServer{persist: persist, ups: map[string]*upstream{}, lastActive: time.Now()}
	m.cfg = &ssh.ServerConfig{Config: muxLinkConfig(), NoClientAuth: true, ServerVersion: muxServerVersion}
	m.cfg.AddHostKey(signer)
	go m.accept(ul)
	defer m.closeAll()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			removeIfSame(socket, ino)
			return nil
		case <-tick.C:
		}
		if now, err := socketInode(socket); err != nil || now != ino {
			return nil
		}
		if m.reap(time.Now()) {
			removeIfSame(socket, ino)
			return nil
		}
	}
}

func removeIfSame(socket string, ino uint64) {
	if now, err := socketInode(socket); err == nil && now == ino {
		os.Remove(socket)
	}
}

type muxServer struct {
	cfg     *ssh.ServerConfig
	persist time.Duration

	mu         sync.Mutex
	ups        map[string]*upstream
	clients    int
	lastActive time.Time
}

// upstream is one kept connection and who uses it.
type upstream struct {
	dialMu sync.Mutex // one dial at a time per key

	// Set under dialMu.
	conn     *connection
	hostKeys [][]byte
	remotes  []string

	// Under muxServer.mu.
	users     int
	idleSince time.Time
}

func (m *muxServer) accept(ln *net.UnixListener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go m.serve(c)
	}
}

// reap closes upstreams unused for persist and reports whether the
// process has had no client for persist.
func (m *muxServer) reap(now time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for key, up := range m.ups {
		if up.users == 0 && now.Sub(up.idleSince) >= m.persist {
			delete(m.ups, key)
			if up.conn != nil {
				up.conn.close()
			}
		}
	}
	return m.clients == 0 && len(m.ups) == 0 && now.Sub(m.lastActive) >= m.persist
}

func (m *muxServer) closeAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for key, up := range m.ups {
		delete(m.ups, key)
		if up.conn != nil {
			up.conn.close()
		}
	}
}

func (m *muxServer) active(delta int) {
	m.mu.Lock()
	m.clients += delta
	m.lastActive = time.Now()
	m.mu.Unlock()
}

// serve is one local connection: a bind request, then sessions relayed to
// the bound upstream.
func (m *muxServer) serve(nc net.Conn) {
	defer nc.Close()
	if err := checkPeer(nc); err != nil {
		return
	}
	m.active(1)
	defer m.active(-1)
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	sconn, chans, reqs, err := ssh.NewServerConn(nc, m.cfg)
	if err != nil {
		return
	}
	nc.SetDeadline(time.Time{})
	defer sconn.Close()
	var bound atomic.Pointer[upstream]
	done := make(chan struct{})
	reqsDone := make(chan struct{})
	go func() {
		defer close(reqsDone)
		for req := range reqs {
			if req.Type != reqBind {
				if req.WantReply { // keepalives
					req.Reply(true, nil)
				}
				continue
			}
			if bound.Load() != nil {
				req.Reply(false, nil)
				continue
			}
			up, reply := m.bind(sconn, req.Payload)
			payload, _ := json.Marshal(reply)
			if up != nil {
				bound.Store(up)
				// A dead upstream ends its clients' connections, so they
				// ask again and get a new one.
				go func() {
					select {
					case <-up.conn.dead:
						sconn.Close()
					case <-done:
					}
				}()
			}
			req.Reply(up != nil, payload)
		}
	}()
	for nch := range chans {
		up := bound.Load()
		if up == nil {
			nch.Reject(ssh.Prohibited, "bind first")
			continue
		}
		if nch.ChannelType() != "session" { // all a Host opens
			nch.Reject(ssh.UnknownChannelType, "only sessions are relayed")
			continue
		}
		go relay(up.conn.client, nch)
	}
	close(done)
	<-reqsDone
	if up := bound.Load(); up != nil {
		m.release(up)
	}
}

func (m *muxServer) release(up *upstream) {
	m.mu.Lock()
	defer m.mu.Unlock()
	up.users--
	if up.users == 0 {
		up.idleSince = time.Now()
	}
}

// bind returns the upstream the request names, dialling it (with the
// client's host-key checks and signatures) when there is none alive.
func (m *muxServer) bind(sconn *ssh.ServerConn, payload []byte) (*upstream, muxBindReply) {
	var req muxBindRequest
	if err := json.Unmarshal(payload, &req); err != nil || len(req.Hops) == 0 || len(req.HostKeyAlgorithms) != len(req.Hops) {
		return nil, muxBindReply{Error: "ssh mux: malformed bind request"}
	}
	m.mu.Lock()
	up := m.ups[req.Key]
	if up == nil {
		up = &upstream{}
		m.ups[req.Key] = up
	}
	up.users++
	m.mu.Unlock()

	up.dialMu.Lock()
	defer up.dialMu.Unlock()
	if up.conn != nil && up.conn.alive() {
		return up, muxBindReply{HostKeys: up.hostKeys, Remotes: up.remotes, Reused: true}
	}
	n := len(req.Hops)
	ask := &askClient{conn: sconn, algs: req.HostKeyAlgorithms, keys: make([][]byte, n), remotes: make([]string, n)}
	d := &dialer{timeout: time.Duration(req.TimeoutNanos), keepalive: time.Duration(req.KeepaliveNanos), auth: ask}
	if d.timeout <= 0 {
		d.timeout = 15 * time.Second
	}
	var r route
	for i, h := range req.Hops {
		e := endpoint{Address: h.Address, User: h.User}
		if i == n-1 {
			r.Target = e
		} else {
			r.Jumps = append(r.Jumps, e)
		}
	}
	conn, err := d.dialDirect(context.Background(), r)
	if err != nil {
		m.release(up)
		return nil, muxBindReply{Error: err.Error()}
	}
	up.conn, up.hostKeys, up.remotes = conn, ask.keys, ask.remotes
	return up, muxBindReply{HostKeys: up.hostKeys, Remotes: up.remotes}
}

// askClient prepares a hop's handshake in the keeping process: the client
// checks the host key and signs.
type askClient struct {
	conn    *ssh.ServerConn
	algs    [][]string
	keys    [][]byte
	remotes []string
}

func (a *askClient) prepare(_ context.Context, i int, hop endpoint, cfg *ssh.ClientConfig) (io.Closer, error) {
	cfg.HostKeyAlgorithms = a.algs[i]
	cfg.HostKeyCallback = func(_ string, remote net.Addr, key ssh.PublicKey) error {
		extra, _ := json.Marshal(muxHostKeyCheck{Hop: i, Address: hop.Address, Remote: remote.String(), Key: key.Marshal()})
		ch, reqs, err := a.conn.OpenChannel(chanHostKey, extra)
		if err != nil {
			return openError(err)
		}
		go ssh.DiscardRequests(reqs)
		ch.Close()
		a.keys[i], a.remotes[i] = key.Marshal(), remote.String()
		return nil
	}
	extra, _ := json.Marshal(muxHop{Hop: i, Address: hop.Address, User: hop.User})
	ch, reqs, err := a.conn.OpenChannel(chanSigner, extra)
	if err != nil {
		return nil, openError(err)
	}
	go ssh.DiscardRequests(reqs)
	cfg.Auth = []ssh.AuthMethod{ssh.PublicKeysCallback(agent.NewClient(ch).Signers)}
	return ch, nil
}

// openError is the client's reason for refusing a channel.
func openError(err error) error {
	var oce *ssh.OpenChannelError
	if errors.As(err, &oce) {
		return errors.New(oce.Message)
	}
	return err
}

// relay joins a client's channel to a new channel of the same type on the
// upstream connection: data both ways, stderr, requests both ways (exec,
// signals; exit-status), end of input, and closing.
func relay(up *ssh.Client, nch ssh.NewChannel) {
	upCh, upReqs, err := up.OpenChannel(nch.ChannelType(), nch.ExtraData())
	if err != nil {
		var oce *ssh.OpenChannelError
		if errors.As(err, &oce) {
			nch.Reject(oce.Reason, oce.Message)
		} else {
			nch.Reject(ssh.ConnectionFailed, err.Error())
		}
		return
	}
	down, downReqs, err := nch.Accept()
	if err != nil {
		upCh.Close()
		go ssh.DiscardRequests(upReqs)
		return
	}
	go func() {
		io.Copy(upCh, down)
		upCh.CloseWrite()
	}()
	go func() {
		forwardRequests(downReqs, upCh)
		upCh.Close() // the client closed its channel
	}()
	var out sync.WaitGroup
	out.Add(3)
	go func() {
		defer out.Done()
		io.Copy(down, upCh)
	}()
	go func() {
		defer out.Done()
		io.Copy(down.Stderr(), upCh.Stderr())
	}()
	go func() {
		defer out.Done()
		forwardRequests(upReqs, down)
	}()
	out.Wait()
	down.CloseWrite()
	down.Close()
}

func forwardRequests(reqs <-chan *ssh.Request, to ssh.Channel) {
	for req := range reqs {
		ok, err := to.SendRequest(req.Type, req.WantReply, req.Payload)
		if req.WantReply {
			req.Reply(ok && err == nil, nil)
		}
	}
}
