package remote

import (
	"context"
	"errors"
	"fmt"
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
}

func (d *dialer) dial(ctx context.Context, r route) (*connection, error) {
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
		client, err := d.handshake(ctx, conn, hop)
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
func (d *dialer) handshake(ctx context.Context, conn net.Conn, hop endpoint) (*ssh.Client, error) {
	signers, agentConn, err := d.creds.signers(ctx, d.keyFiles, hop.IdentityFiles, d.agent)
	if err != nil {
		conn.Close()
		return nil, err
	}
	defer agentConn.Close()
	cfg := &ssh.ClientConfig{
		User: hop.User,
		Auth: []ssh.AuthMethod{ssh.PublicKeys(signers...)},
	}
	if err := d.policy.configure(cfg, hop.Address); err != nil {
		conn.Close()
		return nil, err
	}
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
