package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"sync"
	"time"

	"github.com/strata-db/strata/deployer/spec"
)

// Options configure a Pool. The zero value is usable: strict host-key
// checking, ~/.ssh/config and /etc/ssh/ssh_config, no prompting.
type Options struct {
	// AcceptNewHostKeys pins the keys of hosts known_hosts does not list
	// (OpenSSH's accept-new). Changed keys are refused regardless.
	AcceptNewHostKeys bool
	// SSHConfigFiles are read in order, first match wins; nil means
	// ~/.ssh/config then /etc/ssh/ssh_config, empty means none.
	SSHConfigFiles []string
	// Prompt asks for key passphrases and the sudo password when the
	// environment does not hold them; nil never asks.
	Prompt Prompter
	// Getenv reads SSH_AUTH_SOCK and the secret variables; nil is
	// os.Getenv.
	Getenv func(string) string
	// HomeDir expands ~ in paths; empty is the current user's home.
	HomeDir string
	// LocalUser is the login user when nothing names one; empty is the
	// current user.
	LocalUser string
	// ConnectTimeout bounds dialling and the handshake of the whole jump
	// chain (default 15s).
	ConnectTimeout time.Duration
	// KeepaliveInterval is how often a connection is probed; a probe
	// unanswered for three intervals closes it, and the next call dials
	// again (default 15s, negative: off).
	KeepaliveInterval time.Duration
	// MaxSessions bounds concurrent commands per host (default 8, below
	// OpenSSH's MaxSessions of 10).
	MaxSessions int
	// Logger receives notices such as pinned host keys; nil discards.
	Logger *slog.Logger
	// Persist, when positive, keeps SSH connections open after this
	// process ends, in a background process of this user (OpenSSH's
	// ControlMaster with ControlPersist): later runs reuse them, skipping
	// the TCP, key-exchange and authentication round trips and sshd's
	// per-connection work. A connection closes after Persist unused, and
	// the process exits once it has none. Host keys are still checked
	// against known_hosts on every use. Needs MuxCommand.
	Persist time.Duration
	// MuxCommand is the argv that runs ServeMux (given the socket path and
	// Persist as two more arguments), e.g. the strata binary and its
	// hidden ssh-mux command.
	MuxCommand []string
}

// Pool builds Hosts from spec hosts and keeps one per name, so every
// caller shares one connection per machine. Close closes them all.
type Pool struct {
	opts   Options
	creds  *credentials
	config *sshConfig
	// knownHostsMu serialises known_hosts reads and appends pool-wide.
	knownHostsMu sync.Mutex

	mux *muxClient // nil: connections end with the pool

	mu    sync.Mutex
	hosts map[string]Host
}

// NewPool reads the ssh_config files and returns a pool.
func NewPool(opts Options) (*Pool, error) {
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.HomeDir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, fmt.Errorf("remote: home directory: %w", err)
		}
		opts.HomeDir = home
	}
	if opts.LocalUser == "" {
		u, err := user.Current()
		if err != nil {
			return nil, fmt.Errorf("remote: current user: %w", err)
		}
		opts.LocalUser = u.Username
	}
	if opts.SSHConfigFiles == nil {
		opts.SSHConfigFiles = []string{"~/.ssh/config", "/etc/ssh/ssh_config"}
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = 15 * time.Second
	}
	if opts.KeepaliveInterval == 0 {
		opts.KeepaliveInterval = 15 * time.Second
	}
	if opts.MaxSessions <= 0 {
		opts.MaxSessions = 8
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	cfg, err := loadSSHConfig(opts.SSHConfigFiles, opts.HomeDir, opts.LocalUser)
	if err != nil {
		return nil, fmt.Errorf("remote: %w", err)
	}
	p := &Pool{
		opts:   opts,
		creds:  &credentials{getenv: opts.Getenv, prompt: opts.Prompt, home: opts.HomeDir},
		config: cfg,
		hosts:  map[string]Host{},
	}
	if opts.Persist > 0 && len(opts.MuxCommand) > 0 {
		p.mux = &muxClient{dir: MuxDir(opts.HomeDir), persist: opts.Persist, start: startMuxCommand(opts.MuxCommand), log: opts.Logger}
	}
	return p, nil
}

// Host returns the pool's Host for h, creating it on first use; an SSH
// host connects on its first call (or Connect).
func (p *Pool) Host(h *spec.Host) (Host, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hosts == nil {
		return nil, fmt.Errorf("%s: %w", h.Name, ErrClosed)
	}
	if host, ok := p.hosts[h.Name]; ok {
		return host, nil
	}
	host, err := p.newHost(h)
	if err != nil {
		return nil, err
	}
	p.hosts[h.Name] = host
	return host, nil
}

// Connect returns the Host for h, connected: an unreachable host or a
// refused host key is reported now, with the host's name.
func (p *Pool) Connect(ctx context.Context, h *spec.Host) (Host, error) {
	host, err := p.Host(h)
	if err != nil {
		return nil, err
	}
	if s, ok := host.(*SSH); ok {
		if err := s.Connect(ctx); err != nil {
			return nil, err
		}
	}
	return host, nil
}

func (p *Pool) newHost(h *spec.Host) (Host, error) {
	if h.Transport == spec.TransportLocal {
		return NewLocal(h.Name), nil
	}
	r, err := p.config.resolve(h)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", h.Name, err)
	}
	d := &dialer{
		policy: hostKeyPolicy{
			file:      expandHome(h.SSH.KnownHosts, p.opts.HomeDir),
			acceptNew: p.opts.AcceptNewHostKeys,
			log:       p.opts.Logger,
			mu:        &p.knownHostsMu,
		},
		creds:     p.creds,
		keyFiles:  h.SSH.PrivateKeyFiles,
		agent:     h.SSH.Agent,
		timeout:   p.opts.ConnectTimeout,
		keepalive: p.opts.KeepaliveInterval,
		mux:       p.mux,
	}
	if d.policy.file == "" {
		return nil, fmt.Errorf("%s: no known_hosts file configured; host keys are always checked", h.Name)
	}
	s := &SSH{
		name:     h.Name,
		route:    r,
		dial:     d.dial,
		creds:    p.creds,
		sessions: make(chan struct{}, p.opts.MaxSessions),
	}
	s.files = files{sh: s, sudo: h.SSH.Sudo}
	return s, nil
}

// Close closes every host of the pool; later calls to Host fail.
func (p *Pool) Close() error {
	p.mu.Lock()
	hosts := p.hosts
	p.hosts = nil
	p.mu.Unlock()
	var errs []error
	for _, h := range hosts {
		errs = append(errs, h.Close())
	}
	return errors.Join(errs...)
}
