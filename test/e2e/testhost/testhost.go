package testhost

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

// PrivateDirs are the directories each host has its own copy of.
func PrivateDirs() []string {
	return []string{"/etc/strata", "/opt/strata", "/var/lib/strata", "/var/log/strata"}
}

// homeDir is root's home, private (and empty) on each host like a fresh
// machine's: sshd runs every command through root's login shell, and this
// machine's own /root/.bashrc (pyenv, cargo) made each SSH session cost up
// to two seconds, for the deployer and Ansible alike.
const homeDir = "/root"

// BaseDir holds one directory per slot.
const BaseDir = "/tmp/strata-testhosts"

// MaxHosts is the most hosts one cluster can have (addresses .1 to .200).
const MaxHosts = 200

const maxSlot = 250

// Cluster is a set of running test hosts.
type Cluster struct {
	Slot   int
	Dir    string // this cluster's files
	Bridge string
	// KnownHosts lists every host's key under its address.
	KnownHosts string
	// ClientKey is an unencrypted ed25519 private key every host accepts
	// for root; ClientSigner is the same key, loaded.
	ClientKey    string
	ClientSigner ssh.Signer
	// UserCA is a certificate authority every host trusts for user
	// certificates (sshd's TrustedUserCAKeys).
	UserCA ssh.Signer
	Hosts  []*Host

	lock *os.File
}

// Host is one test host.
type Host struct {
	Name      string // h1, h2, ...
	Namespace string
	Address   string // IPv4 address on the bridge; sshd listens on port 22
	Port      int
	// Root holds the host's private directories: Root+"/etc/strata" is
	// the host's /etc/strata.
	Root    string
	HostKey ssh.PublicKey
	// HostKeyFile is the host's private key (for tests that need another
	// host to present it).
	HostKeyFile string
	// Systemd is set on a host whose PID 1 is systemd (Options.Systemd).
	Systemd bool

	dir  string
	sshd *exec.Cmd
	pid  int
}

// SSHAddress is host:port for an SSH client.
func (h *Host) SSHAddress() string { return net.JoinHostPort(h.Address, strconv.Itoa(h.Port)) }

// Path is where the file p inside one of the host's PrivateDirs lives on
// this machine.
func (h *Host) Path(p string) string { return filepath.Join(h.Root, p) }

// Requirements returns nil when test hosts can be made here, or an error
// saying what is missing.
func Requirements() error {
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root (network namespaces need it)")
	}
	for _, tool := range []string{"ip", "unshare", "nsenter", "sshd"} {
		if _, err := lookTool(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("test hosts need %s; install iproute2, util-linux and openssh-server and run as root",
			strings.Join(missing, ", "))
	}
	return nil
}

// lookTool finds a tool on PATH or in the sbin directories, which a
// non-login PATH often lacks. sshd must be run by absolute path anyway.
func lookTool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return filepath.Abs(p)
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/bin", "/bin"} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found", name)
}

// Options tune Create.
type Options struct {
	// Keep marks the cluster as meant to outlive this process (the
	// testhosts command's -detach): stale-run cleanup leaves it alone and
	// only Remove(slot, true) deletes it.
	Keep bool
	// ReadyTimeout bounds the wait for every sshd to answer (default 15s).
	ReadyTimeout time.Duration
	// Systemd is how many hosts, the first ones, boot systemd as their
	// PID 1 (see SystemdRequirements); the others run sshd alone.
	Systemd int
}

// Create makes n hosts. On error everything made so far is removed.
func Create(ctx context.Context, n int, opts Options) (*Cluster, error) {
	req := Requirements
	if opts.Systemd > 0 {
		req = SystemdRequirements
	}
	if err := req(); err != nil {
		return nil, err
	}
	if n < 1 || n > MaxHosts {
		return nil, fmt.Errorf("testhost: %d hosts requested; 1 to %d are possible", n, MaxHosts)
	}
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = 15 * time.Second
		if opts.Systemd > 0 {
			opts.ReadyTimeout = 60 * time.Second // a boot, on 2 shared cores
		}
	}
	if err := RemoveStale(ctx); err != nil {
		return nil, err
	}
	c, err := claimSlot(opts.Keep)
	if err != nil {
		return nil, err
	}
	if err := c.build(ctx, n, opts); err != nil {
		return nil, errors.Join(err, c.Close())
	}
	return c, nil
}

func (c *Cluster) build(ctx context.Context, n int, opts Options) error {
	if err := c.prepareMachine(ctx); err != nil {
		return err
	}
	if err := c.makeClientKey(); err != nil {
		return err
	}
	for i := 1; i <= n; i++ {
		h, err := c.addHost(ctx, i, i <= opts.Systemd)
		if err != nil {
			return err
		}
		c.Hosts = append(c.Hosts, h)
	}
	deadline := time.Now().Add(opts.ReadyTimeout)
	for _, h := range c.Hosts {
		if err := c.waitReady(ctx, h, deadline); err != nil {
			return err
		}
	}
	return c.writeKnownHosts()
}

// prepareMachine makes the bridge and the directories sshd and the mount
// points need.
func (c *Cluster) prepareMachine(ctx context.Context) error {
	for _, d := range append([]string{"/run/sshd"}, PrivateDirs()...) {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("testhost: %w", err)
		}
	}
	return runAll(ctx,
		[]string{"link", "add", c.Bridge, "type", "bridge"},
		[]string{"addr", "add", c.gateway() + "/24", "dev", c.Bridge},
		[]string{"link", "set", c.Bridge, "up"},
	)
}

func (c *Cluster) gateway() string { return fmt.Sprintf("10.213.%d.254", c.Slot) }

func (c *Cluster) makeClientKey() error {
	signer, keyFile, err := writeKey(filepath.Join(c.Dir, "client_key"), "strata-testhost-client")
	if err != nil {
		return err
	}
	c.ClientKey, c.ClientSigner = keyFile, signer
	c.UserCA, _, err = writeKey(filepath.Join(c.Dir, "user_ca"), "strata-testhost-user-ca")
	if err != nil {
		return err
	}
	auth := ssh.MarshalAuthorizedKey(signer.PublicKey())
	return os.WriteFile(filepath.Join(c.Dir, "authorized_keys"), auth, 0o600)
}

// writeKey generates an ed25519 key and writes it in OpenSSH format (0600)
// with its .pub beside it.
func writeKey(path, comment string) (ssh.Signer, string, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, "", fmt.Errorf("testhost: key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return nil, "", fmt.Errorf("testhost: key: %w", err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, "", fmt.Errorf("testhost: %w", err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, "", fmt.Errorf("testhost: key: %w", err)
	}
	if err := os.WriteFile(path+".pub", ssh.MarshalAuthorizedKey(signer.PublicKey()), 0o644); err != nil {
		return nil, "", fmt.Errorf("testhost: %w", err)
	}
	return signer, path, nil
}

func (c *Cluster) addHost(ctx context.Context, i int, systemd bool) (*Host, error) {
	h := &Host{
		Name:      fmt.Sprintf("h%d", i),
		Namespace: nsName(c.Slot, i),
		Address:   fmt.Sprintf("10.213.%d.%d", c.Slot, i),
		Port:      22,
		dir:       filepath.Join(c.Dir, fmt.Sprintf("h%d", i)),
	}
	h.Root = filepath.Join(h.dir, "root")
	outer, inner := vethName(c.Slot, i), fmt.Sprintf("stp%dh%d", c.Slot, i)
	err := runAll(ctx,
		[]string{"netns", "add", h.Namespace},
		[]string{"link", "add", outer, "type", "veth", "peer", "name", inner},
		[]string{"link", "set", inner, "netns", h.Namespace},
		[]string{"link", "set", outer, "master", c.Bridge, "up"},
		[]string{"-n", h.Namespace, "link", "set", inner, "name", "eth0"},
		[]string{"-n", h.Namespace, "addr", "add", h.Address + "/24", "dev", "eth0"},
		[]string{"-n", h.Namespace, "link", "set", "eth0", "up"},
		[]string{"-n", h.Namespace, "link", "set", "lo", "up"},
	)
	if err != nil {
		return nil, err
	}
	for _, d := range append(PrivateDirs(), homeDir) {
		if err := os.MkdirAll(h.Path(d), 0o755); err != nil {
			return nil, fmt.Errorf("testhost: %w", err)
		}
	}
	signer, keyFile, err := writeKey(filepath.Join(h.dir, "ssh_host_ed25519_key"), "strata-testhost-"+h.Name)
	if err != nil {
		return nil, err
	}
	h.HostKey, h.HostKeyFile = signer.PublicKey(), keyFile
	start := c.startSSHD
	if systemd {
		start = c.startSystemd
	}
	if err := start(h); err != nil {
		return nil, err
	}
	return h, nil
}

func nsName(slot, i int) string   { return fmt.Sprintf("strata-%d-h%d", slot, i) }
func vethName(slot, i int) string { return fmt.Sprintf("stv%dh%d", slot, i) }
func bridgeName(slot int) string  { return fmt.Sprintf("strbr%d", slot) }

const sshdConfig = `# Generated by the strata test-host harness.
ListenAddress %s:22
HostKey %s
PidFile %s
AuthorizedKeysFile %s
TrustedUserCAKeys %s
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
# The harness's files live under /tmp, which StrictModes would reject.
StrictModes no
PrintMotd no
MaxStartups 200
LogLevel VERBOSE
`

// startSSHD runs sshd in the host's network namespace, inside a new mount
// namespace whose PrivateDirs are bind mounts of the host's Root.
func (c *Cluster) startSSHD(h *Host) error {
	sshd, err := lookTool("sshd")
	if err != nil {
		return err
	}
	cfg := filepath.Join(h.dir, "sshd_config")
	text := fmt.Sprintf(sshdConfig, h.Address, h.HostKeyFile, filepath.Join(h.dir, "sshd.pid"),
		filepath.Join(c.Dir, "authorized_keys"), filepath.Join(c.Dir, "user_ca.pub"))
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		return fmt.Errorf("testhost: %w", err)
	}
	var script strings.Builder
	script.WriteString("set -e\n")
	for _, d := range append(PrivateDirs(), homeDir) {
		fmt.Fprintf(&script, "mount --bind %s %s\n", shQuote(h.Path(d)), shQuote(d))
	}
	// Where this machine's PID 1 is systemd, hide it: such a host is one
	// without systemd (sd_booted(3) looks for /run/systemd/system), and
	// apply must not install units into this machine.
	script.WriteString("if [ -d /run/systemd/system ]; then mount -t tmpfs -o size=1m,mode=755 strata-no-systemd /run/systemd; fi\n")
	fmt.Fprintf(&script, "exec %s -D -e -f %s\n", shQuote(sshd), shQuote(cfg))
	ip, err := lookTool("ip")
	if err != nil {
		return err
	}
	unshare, err := lookTool("unshare")
	if err != nil {
		return err
	}
	log, err := os.Create(filepath.Join(h.dir, "sshd.log"))
	if err != nil {
		return fmt.Errorf("testhost: %w", err)
	}
	defer log.Close()
	// `ip netns exec`, unshare (without --fork) and the shell's exec all
	// replace themselves, so the child's pid ends up being sshd's.
	cmd := exec.Command(ip, "netns", "exec", h.Namespace,
		unshare, "--mount", "--propagation", "private", "/bin/sh", "-c", script.String())
	cmd.Stdout, cmd.Stderr = log, log
	// Its own process group: a ^C at the terminal reaches the harness,
	// which then removes the hosts, not sshd directly.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("testhost: start sshd for %s: %w", h.Name, err)
	}
	h.sshd, h.pid = cmd, cmd.Process.Pid
	go cmd.Wait() // reap it whenever it ends
	return nil
}

// CheckNamespace returns an error unless h's network namespace exists, so
// nothing is sent to its address when it does not belong to a test host.
func (h *Host) CheckNamespace() error {
	if _, err := os.Stat(filepath.Join("/run/netns", h.Namespace)); err != nil {
		return fmt.Errorf("testhost: %s: namespace %s is missing; not sending to %s", h.Name, h.Namespace, h.Address)
	}
	return nil
}

// waitReady waits for h's sshd to send its banner.
func (c *Cluster) waitReady(ctx context.Context, h *Host, deadline time.Time) error {
	for {
		if err := h.CheckNamespace(); err != nil {
			return err
		}
		err := probeBanner(ctx, h.SSHAddress())
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			logText, _ := os.ReadFile(h.logFile())
			return fmt.Errorf("testhost: sshd of %s at %s not ready: %w; its log:\n%s", h.Name, h.SSHAddress(), err, logText)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func probeBanner(ctx context.Context, addr string) error {
	d := net.Dialer{Timeout: time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "SSH-") {
		return fmt.Errorf("unexpected banner %q", line)
	}
	return nil
}

func (c *Cluster) writeKnownHosts() error {
	var b strings.Builder
	for _, h := range c.Hosts {
		fmt.Fprintf(&b, "%s %s", h.Address, ssh.MarshalAuthorizedKey(h.HostKey))
	}
	c.KnownHosts = filepath.Join(c.Dir, "known_hosts")
	if err := os.WriteFile(c.KnownHosts, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("testhost: %w", err)
	}
	return nil
}

// Exec runs argv inside h's network and mount namespaces (nsenter into its
// sshd), without SSH, for checking what a test did.
func (c *Cluster) Exec(ctx context.Context, h *Host, argv ...string) ([]byte, error) {
	if err := h.CheckNamespace(); err != nil {
		return nil, err
	}
	nsenter, err := lookTool("nsenter")
	if err != nil {
		return nil, err
	}
	args := append(append([]string{"-t", strconv.Itoa(h.pid)}, h.nsenterFlags()...), "--")
	args = append(args, argv...)
	out, err := exec.CommandContext(ctx, nsenter, args...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("testhost: %s: %s: %w: %s", h.Name, strings.Join(argv, " "), err, out)
	}
	return out, nil
}

// Close removes everything the cluster made: processes in its namespaces,
// the namespaces (and with them the veths), the bridge and its files.
func (c *Cluster) Close() error {
	if c.lock == nil {
		return nil
	}
	err := removeSlot(context.Background(), c.Slot)
	c.lock.Close()
	c.lock = nil
	return err
}

func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
