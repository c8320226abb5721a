package remote_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-db/strata/deployer/remote"
	"github.com/strata-db/strata/deployer/spec"
	"github.com/strata-db/strata/test/e2e/testhost"
)

// hosts are the test hosts shared by this package's tests (nil when the
// machine cannot make them); tests must not break them for others.
var hosts *testhost.Cluster

func TestMain(m *testing.M) {
	var err error
	if testhost.Requirements() == nil {
		hosts, err = testhost.Create(context.Background(), 3, testhost.Options{})
		if err != nil {
			fmt.Fprintln(os.Stderr, "test hosts:", err)
			os.Exit(1)
		}
	}
	code := m.Run()
	if hosts != nil {
		if err := hosts.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "removing test hosts:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func needHosts(t testing.TB) *testhost.Cluster {
	t.Helper()
	if hosts == nil {
		t.Skipf("skipping: %v", testhost.Requirements())
	}
	return hosts
}

// specHost describes a test host the way a cluster description would.
func specHost(c *testhost.Cluster, h *testhost.Host, knownHosts string) *spec.Host {
	return &spec.Host{
		Name:      h.Name,
		Address:   h.Address,
		Transport: spec.TransportSSH,
		SSH: spec.SSH{
			User:            "root",
			Port:            h.Port,
			PrivateKeyFiles: []string{c.ClientKey},
			KnownHosts:      knownHosts,
		},
	}
}

// newPool returns a pool isolated from this machine's SSH setup: no
// ssh_config, no agent, no secrets in the environment.
func newPool(t testing.TB, opts remote.Options) *remote.Pool {
	t.Helper()
	if opts.SSHConfigFiles == nil {
		opts.SSHConfigFiles = []string{}
	}
	if opts.Getenv == nil {
		opts.Getenv = func(string) string { return "" }
	}
	opts.HomeDir = t.TempDir()
	opts.LocalUser = "nobody-local"
	if opts.ConnectTimeout == 0 {
		opts.ConnectTimeout = 5 * time.Second
	}
	p, err := remote.NewPool(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func connect(t testing.TB, p *remote.Pool, h *spec.Host) remote.Host {
	t.Helper()
	host, err := p.Connect(context.Background(), h)
	if err != nil {
		t.Fatal(err)
	}
	return host
}

func TestRunOnThreeHosts(t *testing.T) {
	c := needHosts(t)
	p := newPool(t, remote.Options{})
	ctx := context.Background()
	var wg sync.WaitGroup
	for _, h := range c.Hosts {
		wg.Go(func() {
			host := connect(t, p, specHost(c, h, c.KnownHosts))
			// SSH_CONNECTION is "client port server port": the server
			// field proves which machine ran the command.
			res, err := host.Run(ctx, `echo "$SSH_CONNECTION"; id -u`, remote.RunOpts{})
			if err != nil {
				t.Errorf("%s: %v", h.Name, err)
				return
			}
			fields := strings.Fields(string(res.Stdout))
			if len(fields) != 5 || fields[2] != h.Address || fields[4] != "0" {
				t.Errorf("%s: got %q, want the connection to %s as uid 0", h.Name, res.Stdout, h.Address)
			}
		})
	}
	wg.Wait()
}

func TestRunFailureNamesHostCommandAndStderr(t *testing.T) {
	c := needHosts(t)
	host := connect(t, newPool(t, remote.Options{}), specHost(c, c.Hosts[0], c.KnownHosts))
	res, err := host.Run(context.Background(), "echo out; echo 'disk full' >&2; exit 3", remote.RunOpts{})
	var exitErr *remote.ExitError
	if !errors.As(err, &exitErr) {
		t.Fatalf("Run = %v, want an *ExitError", err)
	}
	if res.ExitCode != 3 || string(res.Stdout) != "out\n" {
		t.Errorf("Result = %d %q, want 3 \"out\\n\"", res.ExitCode, res.Stdout)
	}
	for _, want := range []string{"h1", "exit 3", "status 3", "disk full"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestRunSudoAsRoot(t *testing.T) {
	c := needHosts(t)
	h := specHost(c, c.Hosts[0], c.KnownHosts)
	h.SSH.Sudo = true
	host := connect(t, newPool(t, remote.Options{}), h)
	res, err := host.Run(context.Background(), "id -u", remote.RunOpts{Sudo: true})
	if err != nil || strings.TrimSpace(string(res.Stdout)) != "0" {
		t.Fatalf("sudo run as root = %q, %v; want uid 0 (root needs no sudo binary)", res.Stdout, err)
	}
}

func randomBytes(t testing.TB, n int) ([]byte, string) {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	sum := sha256.Sum256(b)
	return b, hex.EncodeToString(sum[:])
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("the source was read") }

func TestUploadVerifiesDigest(t *testing.T) {
	c := needHosts(t)
	h := c.Hosts[1]
	host := connect(t, newPool(t, remote.Options{}), specHost(c, h, c.KnownHosts))
	ctx := context.Background()
	data, sum := randomBytes(t, 1<<20)
	dst := "/opt/strata/releases/t-upload/strata"

	if err := host.Upload(ctx, bytes.NewReader(data), int64(len(data)), dst, 0o755, sum); err != nil {
		t.Fatal(err)
	}
	if got, err := host.Digest(ctx, dst); err != nil || got != sum {
		t.Errorf("Digest = %s, %v; want %s", got, err, sum)
	}
	info, err := host.Stat(ctx, dst)
	if err != nil || info.Size != int64(len(data)) || info.Mode != 0o755 {
		t.Errorf("Stat = %+v, %v; want size %d mode 0755", info, err, len(data))
	}
	if onDisk, err := os.ReadFile(h.Path(dst)); err != nil || !bytes.Equal(onDisk, data) {
		t.Errorf("the host's file differs from the upload (%v)", err)
	}

	// Present with that digest: nothing is read or sent.
	if err := host.Upload(ctx, failingReader{}, int64(len(data)), dst, 0o755, sum); err != nil {
		t.Errorf("re-upload of a present file: %v", err)
	}

	// Data that does not match its digest never replaces the file.
	other, _ := randomBytes(t, 4096)
	err = host.Upload(ctx, bytes.NewReader(other), int64(len(other)), dst, 0o755, strings.Repeat("ab", 32))
	if err == nil || !strings.Contains(err.Error(), "h2") || !strings.Contains(err.Error(), "sha256") {
		t.Errorf("upload with a wrong digest = %v; want an error naming the host and the digest", err)
	}
	if got, _ := host.Digest(ctx, dst); got != sum {
		t.Errorf("a failed upload changed the file")
	}
	assertNoTempFiles(t, h.Path(filepath.Dir(dst)))
}

func assertNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".strata-tmp.") {
			t.Errorf("temporary file %s left in %s", e.Name(), dir)
		}
	}
}

// Readers racing a writer see the old content or the new, never a mix or
// a partial file.
func TestWriteFileIsAtomic(t *testing.T) {
	c := needHosts(t)
	h := c.Hosts[2]
	host := connect(t, newPool(t, remote.Options{}), specHost(c, h, c.KnownHosts))
	ctx := context.Background()
	a := bytes.Repeat([]byte("A"), 256<<10)
	b := bytes.Repeat([]byte("B"), 200<<10)
	path := "/etc/strata/atomic.conf"
	if err := host.WriteFile(ctx, path, a, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(done)
		for i := range 8 {
			content := a
			if i%2 == 0 {
				content = b
			}
			if err := host.WriteFile(ctx, path, content, 0o644); err != nil {
				t.Error(err)
				return
			}
		}
	})
	reads := 0
	for {
		select {
		case <-done:
			wg.Wait()
			if reads == 0 {
				t.Fatal("no read overlapped the writes")
			}
			assertNoTempFiles(t, h.Path("/etc/strata"))
			return
		default:
		}
		got, err := host.ReadFile(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, a) && !bytes.Equal(got, b) {
			t.Fatalf("read %d bytes that are neither version: a torn write", len(got))
		}
		reads++
	}
}

func TestMountsArePrivate(t *testing.T) {
	c := needHosts(t)
	p := newPool(t, remote.Options{})
	h1 := connect(t, p, specHost(c, c.Hosts[0], c.KnownHosts))
	h2 := connect(t, p, specHost(c, c.Hosts[1], c.KnownHosts))
	ctx := context.Background()
	path := "/etc/strata/only-on-h1"
	if err := h1.WriteFile(ctx, path, []byte("h1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := h1.ReadFile(ctx, path); err != nil || string(got) != "h1\n" {
		t.Errorf("h1 reads back %q, %v", got, err)
	}
	if _, err := h2.ReadFile(ctx, path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("h2 ReadFile = %v; want fs.ErrNotExist", err)
	}
	if _, err := h2.Stat(ctx, path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("h2 Stat = %v; want fs.ErrNotExist", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("this machine's %s: %v; want it absent", path, err)
	}
}

func TestChangedHostKeyIsRefused(t *testing.T) {
	c := needHosts(t)
	h := c.Hosts[0]
	// known_hosts records host 2's key under host 1's address.
	known := filepath.Join(t.TempDir(), "known_hosts")
	line := h.Address + " " + string(sshAuthorizedKey(c.Hosts[1]))
	if err := os.WriteFile(known, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, accept := range []bool{false, true} {
		p := newPool(t, remote.Options{AcceptNewHostKeys: accept})
		_, err := p.Connect(context.Background(), specHost(c, h, known))
		var hkErr *remote.HostKeyError
		if !errors.As(err, &hkErr) || hkErr.Problem != remote.HostKeyChanged {
			t.Fatalf("accept-new=%v: Connect = %v; want a changed host key error", accept, err)
		}
		for _, want := range []string{"h1", "CHANGED", fingerprint(h), fingerprint(c.Hosts[1]), "ssh-keygen -R"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %q", err, want)
			}
		}
	}
	if got, _ := os.ReadFile(known); string(got) != line {
		t.Errorf("known_hosts changed after a refused key:\n%s", got)
	}
}

func TestUnknownHostKeyRefusedThenPinned(t *testing.T) {
	c := needHosts(t)
	h := c.Hosts[0]
	known := filepath.Join(t.TempDir(), "ssh", "known_hosts")
	ctx := context.Background()

	_, err := newPool(t, remote.Options{}).Connect(ctx, specHost(c, h, known))
	var hkErr *remote.HostKeyError
	if !errors.As(err, &hkErr) || hkErr.Problem != remote.HostKeyUnknown {
		t.Fatalf("Connect = %v; want an unknown host key error", err)
	}
	for _, want := range []string{"h1", h.Address, fingerprint(h), remote.AcceptNewHostKeysFlag} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}

	host := connect(t, newPool(t, remote.Options{AcceptNewHostKeys: true}), specHost(c, h, known))
	if _, err := host.Run(ctx, "true", remote.RunOpts{}); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(known)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("known_hosts after pinning: %v, %v; want mode 0600", st, err)
	}
	// A strict pool now trusts the pinned key.
	connect(t, newPool(t, remote.Options{}), specHost(c, h, known))
}

func TestUnreachableHostNamesTheHost(t *testing.T) {
	c := needHosts(t)
	h := c.Hosts[0]
	if err := h.CheckNamespace(); err != nil {
		t.Fatal(err)
	}
	sh := specHost(c, h, c.KnownHosts)
	sh.Name = "db-gone"
	sh.SSH.Port = 2999 // nothing listens there
	_, err := newPool(t, remote.Options{}).Connect(context.Background(), sh)
	if err == nil {
		t.Fatal("Connect to a closed port succeeded")
	}
	for _, want := range []string{"db-gone", h.Address + ":2999", "refused"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

// Host 2 through host 1: the target sees the connection come from the
// bastion, and the bastion's key is checked too.
func TestBastionChain(t *testing.T) {
	c := needHosts(t)
	bastion, target := c.Hosts[0], c.Hosts[1]
	sh := specHost(c, target, c.KnownHosts)
	sh.SSH.Bastions = []spec.Bastion{{Address: bastion.Address, Port: 22}}
	host := connect(t, newPool(t, remote.Options{}), sh)
	res, err := host.Run(context.Background(), `echo "$SSH_CONNECTION"`, remote.RunOpts{})
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(res.Stdout))
	if len(fields) != 4 || fields[0] != bastion.Address || fields[2] != target.Address {
		t.Errorf("SSH_CONNECTION = %q; want from %s to %s", res.Stdout, bastion.Address, target.Address)
	}

	// known_hosts lacking the bastion: refused at the first hop.
	known := filepath.Join(t.TempDir(), "known_hosts")
	os.WriteFile(known, []byte(target.Address+" "+string(sshAuthorizedKey(target))), 0o600)
	sh.SSH.KnownHosts = known
	_, err = newPool(t, remote.Options{}).Connect(context.Background(), sh)
	var hkErr *remote.HostKeyError
	if !errors.As(err, &hkErr) || hkErr.Address != bastion.Address+":22" {
		t.Errorf("Connect with an unknown bastion = %v; want the bastion's key refused", err)
	}
}

// ~/.ssh/config supplies the host name, user, key and jump host.
func TestSSHConfig(t *testing.T) {
	c := needHosts(t)
	bastion, target := c.Hosts[0], c.Hosts[2]
	cfg := filepath.Join(t.TempDir(), "config")
	text := fmt.Sprintf("Host db3\n  HostName %s\n  User root\n  IdentityFile %s\n  ProxyJump %s\n",
		target.Address, c.ClientKey, bastion.Address)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	sh := &spec.Host{Name: "db3", Address: "db3", Transport: spec.TransportSSH,
		SSH: spec.SSH{Port: 22, KnownHosts: c.KnownHosts}}
	host := connect(t, newPool(t, remote.Options{SSHConfigFiles: []string{cfg}}), sh)
	res, err := host.Run(context.Background(), `echo "$SSH_CONNECTION"`, remote.RunOpts{})
	if err != nil {
		t.Fatal(err)
	}
	if fields := strings.Fields(string(res.Stdout)); len(fields) != 4 || fields[0] != bastion.Address || fields[2] != target.Address {
		t.Errorf("SSH_CONNECTION = %q; want from %s to %s", res.Stdout, bastion.Address, target.Address)
	}
}

func TestEncryptedKey(t *testing.T) {
	c := needHosts(t)
	keyFile := filepath.Join(t.TempDir(), "id_enc")
	if err := writeEncryptedClientKey(c, keyFile, "correct horse"); err != nil {
		t.Fatal(err)
	}
	sh := func(h *testhost.Host) *spec.Host {
		s := specHost(c, h, c.KnownHosts)
		s.SSH.PrivateKeyFiles = []string{keyFile}
		return s
	}
	ctx := context.Background()

	env := func(k string) string {
		if k == remote.EnvKeyPassphrase {
			return "correct horse"
		}
		return ""
	}
	connect(t, newPool(t, remote.Options{Getenv: env}), sh(c.Hosts[0]))

	prompts := 0
	ask := func(ctx context.Context, prompt string) (string, error) {
		prompts++
		return "correct horse", nil
	}
	p := newPool(t, remote.Options{Prompt: ask})
	connect(t, p, sh(c.Hosts[0]))
	connect(t, p, sh(c.Hosts[1]))
	if prompts != 1 {
		t.Errorf("asked for the passphrase %d times for one key; want once", prompts)
	}

	wrong := func(k string) string {
		if k == remote.EnvKeyPassphrase {
			return "wrong-secret-value"
		}
		return ""
	}
	_, err := newPool(t, remote.Options{Getenv: wrong}).Connect(ctx, sh(c.Hosts[0]))
	if err == nil || !strings.Contains(err.Error(), "wrong passphrase") || strings.Contains(err.Error(), "wrong-secret-value") {
		t.Errorf("Connect with a wrong passphrase = %v; want \"wrong passphrase\" without the secret", err)
	}
	_, err = newPool(t, remote.Options{}).Connect(ctx, sh(c.Hosts[0]))
	if err == nil || !strings.Contains(err.Error(), remote.EnvKeyPassphrase) {
		t.Errorf("Connect with no way to get the passphrase = %v; want a hint naming %s", err, remote.EnvKeyPassphrase)
	}
}

// A connection that dies is replaced on the next call.
func TestReconnectsAfterConnectionLoss(t *testing.T) {
	c := needHosts(t)
	host := connect(t, newPool(t, remote.Options{}), specHost(c, c.Hosts[1], c.KnownHosts))
	ctx := context.Background()
	// Kill this connection's sshd process from inside it.
	_, err := host.Run(ctx, "kill -9 $PPID", remote.RunOpts{})
	if err == nil {
		t.Fatal("the command that killed its connection reported success")
	}
	res, err := host.Run(ctx, "echo back", remote.RunOpts{})
	if err != nil || string(res.Stdout) != "back\n" {
		t.Fatalf("Run after the connection died = %q, %v; want a new connection", res.Stdout, err)
	}
}

func TestRunCancelled(t *testing.T) {
	c := needHosts(t)
	host := connect(t, newPool(t, remote.Options{}), specHost(c, c.Hosts[2], c.KnownHosts))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := host.Run(ctx, "sleep 30", remote.RunOpts{})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 10*time.Second {
		t.Errorf("Run = %v after %v; want the deadline error promptly", err, time.Since(start))
	}
	// The connection still serves commands.
	if _, err := host.Run(context.Background(), "true", remote.RunOpts{}); err != nil {
		t.Error(err)
	}
}

var _ io.Reader = failingReader{}
