package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// SSH is a Host reached over SSH. It keeps one connection (through the
// jump hosts, if any), opens a session per command on it, sends keepalives,
// and dials again on the next call after the connection broke.
type SSH struct {
	files
	name  string
	route route
	dial  func(ctx context.Context, r route) (*connection, error)
	creds *credentials
	// sessions bounds concurrent sessions below sshd's MaxSessions
	// (OpenSSH default 10), beyond which it refuses new ones.
	sessions chan struct{}

	mu     sync.Mutex
	conn   *connection
	closed bool
	// sudoMode is how privileged commands run, decided on first use.
	sudoMode sudoMode
}

type sudoMode int

const (
	sudoUnknown  sudoMode = iota
	sudoNone              // login user is root
	sudoNoPasswd          // sudo -n works
	sudoPassword          // sudo -S with the pool's password
)

// Name implements Host.
func (s *SSH) Name() string { return s.name }

func (s *SSH) hostName() string { return s.name }

// Address is the host:port this host's connection ends at.
func (s *SSH) Address() string { return s.route.Target.Address }

// Connect dials now, if not yet connected; the other methods connect on
// first use. It reports unreachable hosts and refused host keys early.
func (s *SSH) Connect(ctx context.Context) error {
	_, err := s.client(ctx)
	return err
}

// Close implements Host.
func (s *SSH) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.conn == nil {
		return nil
	}
	err := s.conn.close()
	s.conn = nil
	return err
}

// client returns the live connection, dialling when there is none or the
// last one broke. Concurrent callers wait for one dial.
func (s *SSH) client(ctx context.Context) (*connection, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("%s: %w", s.name, ErrClosed)
	}
	if s.conn != nil && s.conn.alive() {
		return s.conn, nil
	}
	if s.conn != nil {
		s.conn.close()
		s.conn = nil
	}
	conn, err := s.dial(ctx, s.route)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.name, err)
	}
	s.conn = conn
	return conn, nil
}

// dropIfCurrent forgets a broken connection so the next call redials.
func (s *SSH) dropIfCurrent(c *connection) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == c {
		c.close()
		s.conn = nil
	}
}

// session opens a session, redialling once if the connection turns out
// to be dead: no command ran, so retrying is safe.
func (s *SSH) session(ctx context.Context) (*ssh.Session, *connection, error) {
	for attempt := 0; ; attempt++ {
		conn, err := s.client(ctx)
		if err != nil {
			return nil, nil, err
		}
		sess, err := openSession(ctx, conn.client)
		if err == nil {
			return sess, conn, nil
		}
		if ctx.Err() != nil {
			return nil, nil, fmt.Errorf("%s: open session: %w", s.name, ctx.Err())
		}
		s.dropIfCurrent(conn)
		if attempt == 1 || ctx.Err() != nil {
			return nil, nil, fmt.Errorf("%s: open session: %w", s.name, err)
		}
	}
}

// openSession opens a session unless ctx ends first: x/crypto waits for
// the server's answer without a deadline, and a hung server never sends
// one (until keepalives give up on it).
func openSession(ctx context.Context, client *ssh.Client) (*ssh.Session, error) {
	type result struct {
		sess *ssh.Session
		err  error
	}
	done := make(chan result, 1)
	go func() {
		sess, err := client.NewSession()
		done <- result{sess, err}
	}()
	select {
	case r := <-done:
		return r.sess, r.err
	case <-ctx.Done():
		go func() {
			if r := <-done; r.err == nil {
				r.sess.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// Run implements Host.
func (s *SSH) Run(ctx context.Context, cmd string, opts RunOpts) (Result, error) {
	return s.run(ctx, cmd, opts)
}

func (s *SSH) run(ctx context.Context, cmd string, opts RunOpts) (Result, error) {
	wrapped, stdin, err := s.privileged(ctx, cmd, opts)
	if err != nil {
		return Result{ExitCode: -1}, err
	}
	return s.exec(ctx, cmd, wrapped, stdin, opts)
}

// exec runs wrapped (cmd, possibly under sudo) in a new session; errors
// name the host and cmd, never the wrapper, which may mention sudo flags
// but never a secret.
func (s *SSH) exec(ctx context.Context, cmd, wrapped string, stdin io.Reader, opts RunOpts) (Result, error) {
	select {
	case s.sessions <- struct{}{}:
		defer func() { <-s.sessions }()
	case <-ctx.Done():
		return Result{ExitCode: -1}, fmt.Errorf("%s: command %s: %w", s.name, quoteForMessage(cmd), ctx.Err())
	}
	sess, conn, err := s.session(ctx)
	if err != nil {
		return Result{ExitCode: -1}, err
	}
	defer sess.Close()
	var stdout, stderr bytes.Buffer
	sess.Stdout = tee(&stdout, opts.Stdout)
	sess.Stderr = tee(&stderr, opts.Stderr)
	sess.Stdin = stdin
	if err := sess.Start(wrapped); err != nil {
		s.dropIfCurrent(conn)
		return Result{ExitCode: -1}, fmt.Errorf("%s: start command %s: %w", s.name, quoteForMessage(cmd), err)
	}
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		// OpenSSH 7.9+ delivers the signal; older servers see the channel
		// close.
		_ = sess.Signal(ssh.SIGKILL)
		sess.Close()
		return Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitCode: -1},
			fmt.Errorf("%s: command %s: %w", s.name, quoteForMessage(cmd), ctx.Err())
	}
	res := Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	var exitErr *ssh.ExitError
	switch {
	case err == nil:
		return res, nil
	case errors.As(err, &exitErr):
		res.ExitCode = exitErr.ExitStatus()
		if exitErr.Signal() != "" {
			res.ExitCode = -1
		}
		return res, &ExitError{Host: s.name, Command: cmd, ExitCode: res.ExitCode, Stderr: res.Stderr}
	default:
		// No exit status: the connection died under the command. Whether
		// it ran is unknown, so it is not retried.
		s.dropIfCurrent(conn)
		res.ExitCode = -1
		return res, fmt.Errorf("%s: command %s: connection lost: %w", s.name, quoteForMessage(cmd), err)
	}
}

// privileged wraps cmd for RunOpts.Sudo. The password, when one is needed,
// goes first on stdin (sudo -S), never on the command line.
func (s *SSH) privileged(ctx context.Context, cmd string, opts RunOpts) (string, io.Reader, error) {
	if !opts.Sudo {
		return cmd, opts.Stdin, nil
	}
	mode, err := s.sudo(ctx)
	if err != nil {
		return "", nil, err
	}
	shell := "/bin/sh -c " + shQuote(cmd)
	switch mode {
	case sudoNone:
		return cmd, opts.Stdin, nil
	case sudoNoPasswd:
		return "sudo -n -- " + shell, opts.Stdin, nil
	}
	pwd, err := s.creds.sudoPassword(ctx, s.name)
	if err != nil {
		return "", nil, err
	}
	stdin := io.Reader(strings.NewReader(pwd + "\n"))
	if opts.Stdin != nil {
		stdin = io.MultiReader(stdin, opts.Stdin)
	}
	// -k ignores cached credentials, so sudo always reads the password
	// line and never leaves it for the command to read.
	return "sudo -S -k -p '' -- " + shell, stdin, nil
}

// sudo decides, once, how this host runs privileged commands.
func (s *SSH) sudo(ctx context.Context) (sudoMode, error) {
	s.mu.Lock()
	mode := s.sudoMode
	s.mu.Unlock()
	if mode != sudoUnknown {
		return mode, nil
	}
	switch {
	case s.route.Target.User == "root":
		mode = sudoNone
	default:
		_, err := s.exec(ctx, "sudo -n true", "sudo -n true", nil, RunOpts{})
		var exitErr *ExitError
		switch {
		case err == nil:
			mode = sudoNoPasswd
		case IsExit(err, 127):
			return sudoUnknown, fmt.Errorf("%s: sudo is not installed, and the login user %q is not root", s.name, s.route.Target.User)
		case errors.As(err, &exitErr):
			mode = sudoPassword
		default:
			return sudoUnknown, err
		}
	}
	s.mu.Lock()
	s.sudoMode = mode
	s.mu.Unlock()
	return mode, nil
}

// connection is one SSH client plus the jump-host clients under it.
type connection struct {
	client *ssh.Client
	jumps  []*ssh.Client
	dead   chan struct{}
	once   sync.Once
}

func (c *connection) alive() bool {
	select {
	case <-c.dead:
		return false
	default:
		return true
	}
}

func (c *connection) close() error {
	c.once.Do(func() { close(c.dead) })
	err := c.client.Close()
	for i := len(c.jumps) - 1; i >= 0; i-- {
		c.jumps[i].Close()
	}
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// keepaliveMissed is how many intervals a keepalive may go unanswered
// before the connection is given up (OpenSSH's ServerAliveCountMax), so a
// reply queued behind a large upload is not mistaken for a dead peer.
const keepaliveMissed = 3

// watch marks the connection dead when the server goes away, and closes it
// when a keepalive goes unanswered for keepaliveMissed intervals, so a
// half-open TCP connection is noticed instead of hanging the next command.
func (c *connection) watch(interval time.Duration) {
	go func() {
		c.client.Wait()
		c.once.Do(func() { close(c.dead) })
	}()
	if interval <= 0 {
		return
	}
	go func() {
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		for {
			select {
			case <-c.dead:
				return
			case <-ticker.C:
			}
			reply := make(chan error, 1)
			go func() {
				_, _, err := c.client.SendRequest("keepalive@openssh.com", true, nil)
				reply <- err
			}()
			select {
			case err := <-reply:
				if err != nil {
					c.close()
					return
				}
			case <-time.After(keepaliveMissed * interval):
				c.close()
				return
			case <-c.dead:
				return
			}
		}
	}()
}
