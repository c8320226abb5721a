package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// dialer connects routes: TCP to the first hop, then each next hop through
// the previous one, checking every hop's host key and authenticating at
// every hop with the same credentials.
type dialer struct {
	policy    hostKeyPolicy
	creds     *credentials
	keyFiles  []string // the spec's private_key_files
	agent     bool
	timeout   time.Duration
	keepalive time.Duration
	// mux, when set, gets the connection from the user's connection-keeping
	// process (Options.Persist) instead, falling back to dialling here.
	mux *muxClient
	// auth, when set, replaces policy and creds: the keeping process's
	// dialer asks the client that wants the connection.
	auth hopAuth
}

// hopAuth prepares the handshake of hop i of a route: its host-key check
// and algorithms, and the signers it authenticates with. The closer is
// closed after the handshake.
type hopAuth interface {
	prepare(ctx context.Context, i int, hop endpoint, cfg *ssh.ClientConfig) (io.Closer, error)
}

// localAuth checks host keys against known_hosts and signs with the
// credentials of this process.
type localAuth struct{ d *dialer }

func (a localAuth) prepare(ctx context.Context, _ int, hop endpoint, cfg *ssh.ClientConfig) (io.Closer, error) {
	signers, agentConn, err := a.d.creds.signers(ctx, a.d.keyFiles, hop.IdentityFiles, a.d.agent)
	if err != nil {
		return nil, err
	}
	cfg.Auth = []ssh.AuthMethod{ssh.PublicKeys(signers...)}
	if err := a.d.policy.configure(cfg, hop.Address); err != nil {
		agentConn.Close()
		return nil, err
	}
	return agentConn, nil
}

func (d *dialer) dial(ctx context.Context, r route) (*connection, error) {
	if d.mux != nil {
		c, err := d.dialMux(ctx, r)
		if !errors.Is(err, errMuxUnavailable) {
			return c, err
		}
		d.mux.log.Info("connecting directly", "reason", err)
	}
	return d.dialDirect(ctx, r)
}

// dialDirect connects r from this process.
func (d *dialer) dialDirect(ctx context.Context, r route) (*connection, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	hops := append(append([]endpoint(nil), r.Jumps...), r.Target)
	var clients []*ssh.Client
	fail := func(err error) (*connection, error) {
		for i := len(clients) - 1; i >= 0; i-- {
			clients[i].Close()
		}
		return nil, err
	}
	for i, hop := range hops {
		var conn net.Conn
		var err error
		if i == 0 {
			conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", hop.Address)
		} else {
			conn, err = clients[i-1].DialContext(ctx, "tcp", hop.Address)
		}
		if err != nil {
			return fail(fmt.Errorf("connect to %s%s: %w", hop.Address, via(hops[:i]), err))
		}
		client, err := d.handshake(ctx, conn, i, hop)
		if err != nil {
			return fail(fmt.Errorf("ssh to %s%s: %w", hop.Address, via(hops[:i]), err))
		}
		clients = append(clients, client)
	}
	c := &connection{client: clients[len(clients)-1], jumps: clients[:len(clients)-1], dead: make(chan struct{})}
	c.watch(d.keepalive)
	return c, nil
}

func via(jumps []endpoint) string {
	if len(jumps) == 0 {
		return ""
	}
	s := " via"
	for _, j := range jumps {
		s += " " + j.Address
	}
	return s
}

// handshake runs the SSH handshake on conn, bounded by ctx: x/crypto's
// handshake takes no context, and channels through a jump host have no
// deadlines, so the connection is closed when ctx ends first.
func (d *dialer) handshake(ctx context.Context, conn net.Conn, i int, hop endpoint) (*ssh.Client, error) {
	auth := d.auth
	if auth == nil {
		auth = localAuth{d}
	}
	cfg := &ssh.ClientConfig{User: hop.User}
	closer, err := auth.prepare(ctx, i, hop, cfg)
	if err != nil {
		conn.Close()
		return nil, err
	}
	defer closer.Close()
	type result struct {
		c     ssh.Conn
		chans <-chan ssh.NewChannel
		reqs  <-chan *ssh.Request
		err   error
	}
	done := make(chan result, 1)
	go func() {
		c, chans, reqs, err := ssh.NewClientConn(conn, hop.Address, cfg)
		done <- result{c, chans, reqs, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			conn.Close()
			return nil, unwrapHandshake(r.err, hop)
		}
		return ssh.NewClient(r.c, r.chans, r.reqs), nil
	case <-ctx.Done():
		conn.Close()
		if r := <-done; r.err == nil {
			r.c.Close()
		}
		return nil, fmt.Errorf("handshake: %w", ctx.Err())
	}
}

// unwrapHandshake returns a host-key refusal as itself (its message says
// what to do) and explains authentication failures.
func unwrapHandshake(err error, hop endpoint) error {
	var hkErr *HostKeyError
	if errors.As(err, &hkErr) {
		return hkErr
	}
	var authErr *ssh.ServerAuthError
	if errors.As(err, &authErr) || isAuthFailure(err) {
		return fmt.Errorf("authentication as %q failed (check the user, the agent and private_key_files): %w", hop.User, err)
	}
	return err
}

func isAuthFailure(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "unable to authenticate") || strings.Contains(msg, "no supported methods remain")
}
