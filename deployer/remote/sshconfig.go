package remote

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kevinburke/ssh_config"

	"github.com/strata-db/strata/deployer/spec"
)

// defaultSSHPort is the port the spec fills in when a description sets
// none; ~/.ssh/config's Port is used only then, since the spec cannot tell
// an explicit 22 from the default.
const defaultSSHPort = 22

// endpoint is one hop of a connection: the address dialled and checked in
// known_hosts, and the login user.
type endpoint struct {
	Address string // host:port
	User    string
	// IdentityFiles are ~/.ssh/config's for this hop; missing ones are
	// skipped, unlike the spec's private_key_files.
	IdentityFiles []string
}

// route is how to reach a host: zero or more jump hosts, outermost first,
// then the host itself.
type route struct {
	Jumps  []endpoint
	Target endpoint
}

// sshConfig answers ssh_config(5) questions from a list of files, first
// file first, first match wins, as OpenSSH reads them. Match blocks are
// not supported (kevinburke/ssh_config skips them).
type sshConfig struct {
	files     []*ssh_config.Config
	home      string
	localUser string
}

func loadSSHConfig(paths []string, home, localUser string) (*sshConfig, error) {
	c := &sshConfig{home: home, localUser: localUser}
	for _, p := range paths {
		f, err := os.Open(expandHome(p, home))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("ssh config: %w", err)
		}
		cfg, err := ssh_config.Decode(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("ssh config %s: %w", p, err)
		}
		c.files = append(c.files, cfg)
	}
	return c, nil
}

func (c *sshConfig) get(alias, key string) string {
	for _, f := range c.files {
		if v, err := f.Get(alias, key); err == nil && v != "" {
			return v
		}
	}
	return ""
}

func (c *sshConfig) getAll(alias, key string) []string {
	var all []string
	for _, f := range c.files {
		if v, err := f.GetAll(alias, key); err == nil {
			all = append(all, v...)
		}
	}
	return all
}

// resolve works out the route to a spec host: the spec's settings win,
// then ~/.ssh/config (HostName, User, Port, IdentityFile, ProxyJump), then
// the defaults (local user, port 22).
func (c *sshConfig) resolve(h *spec.Host) (route, error) {
	target := c.endpoint(h.Address, h.SSH.User, h.SSH.Port)
	r := route{Target: target}
	if len(h.SSH.Bastions) > 0 {
		for _, b := range h.SSH.Bastions {
			r.Jumps = append(r.Jumps, c.jumpEndpoint(b.Address, b.User, b.Port, target))
		}
		return r, nil
	}
	jump := c.get(h.Address, "ProxyJump")
	if jump == "" || strings.EqualFold(jump, "none") {
		return r, nil
	}
	for _, hop := range strings.Split(jump, ",") {
		user, hostPort, hasUser := strings.Cut(strings.TrimSpace(hop), "@")
		if !hasUser {
			hostPort, user = user, ""
		}
		host, port := hostPort, 0
		if hs, ps, err := net.SplitHostPort(hostPort); err == nil {
			n, perr := strconv.Atoi(ps)
			if perr != nil || n < 1 || n > 65535 {
				return route{}, fmt.Errorf("ssh config: ProxyJump %q for %s: bad port %q", jump, h.Address, ps)
			}
			host, port = hs, n
		}
		if strings.Contains(host, "://") || host == "" {
			return route{}, fmt.Errorf("ssh config: ProxyJump %q for %s: only [user@]host[:port] hops are supported", jump, h.Address)
		}
		r.Jumps = append(r.Jumps, c.jumpEndpoint(host, user, port, target))
	}
	return r, nil
}

// jumpEndpoint resolves a jump host; its user defaults to ~/.ssh/config's
// for it, then to the target's user, and it may also use the target's
// identity files (one account and key everywhere is the common case).
func (c *sshConfig) jumpEndpoint(alias, user string, port int, target endpoint) endpoint {
	e := c.endpoint(alias, user, port)
	if user == "" && c.get(alias, "User") == "" {
		e.User = target.User
	}
	e.IdentityFiles = append(e.IdentityFiles, target.IdentityFiles...)
	return e
}

func (c *sshConfig) endpoint(alias, user string, port int) endpoint {
	hostname := alias
	if v := c.get(alias, "HostName"); v != "" {
		hostname = strings.ReplaceAll(v, "%h", alias)
	}
	if user == "" {
		user = c.get(alias, "User")
	}
	if user == "" {
		user = c.localUser
	}
	if port == 0 || port == defaultSSHPort {
		port = defaultSSHPort
		if v := c.get(alias, "Port"); v != "" {
			if n, err := strconv.Atoi(v); err == nil && n > 0 && n < 65536 {
				port = n
			}
		}
	}
	var ids []string
	for _, f := range c.getAll(alias, "IdentityFile") {
		ids = append(ids, c.expandTokens(f, hostname, user))
	}
	return endpoint{Address: net.JoinHostPort(hostname, strconv.Itoa(port)), User: user, IdentityFiles: ids}
}

// expandTokens expands the ssh_config tokens that make sense for identity
// files: ~, %d (home), %u (local user), %h (host), %r (remote user), %%.
func (c *sshConfig) expandTokens(s, host, user string) string {
	s = expandHome(s, c.home)
	repl := strings.NewReplacer("%%", "%", "%d", c.home, "%u", c.localUser, "%h", host, "%r", user)
	return repl.Replace(s)
}

// expandHome replaces a leading ~ with home.
func expandHome(p, home string) string {
	if p == "~" {
		return home
	}
	if strings.HasPrefix(p, "~/") {
		return filepath.Join(home, p[2:])
	}
	return p
}
