package remote_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strata-db/strata/deployer/remote"
)

// muxPool is a pool that keeps its connections in a keeping process of
// home (run in this test process when serve is set).
func muxPool(t *testing.T, home string, opts remote.Options) *remote.Pool {
	t.Helper()
	opts.SSHConfigFiles = []string{}
	opts.Getenv = func(string) string { return "" }
	opts.HomeDir = home
	opts.LocalUser = "nobody-local"
	opts.ConnectTimeout = 5 * time.Second
	opts.Logger = slog.New(slog.NewTextHandler(testWriter{t}, nil))
	if opts.Persist == 0 {
		opts.Persist = time.Minute
	}
	if opts.MuxCommand == nil {
		opts.MuxCommand = []string{"started-by-the-test"}
	}
	p, err := remote.NewPool(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Close()
		os.RemoveAll(remote.MuxDir(home)) // it may be outside home
	})
	return p
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// clientPort is the source port of the SSH connection a command ran over.
func clientPort(t *testing.T, host remote.Host) string {
	t.Helper()
	res, err := host.Run(context.Background(), `echo "$SSH_CONNECTION"`, remote.RunOpts{})
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(res.Stdout))
	if len(f) != 4 {
		t.Fatalf("SSH_CONNECTION %q", res.Stdout)
	}
	return f[1]
}

// A second pool (a second strata run) reuses the first one's connection,
// through a socket only this user can reach; host keys are checked again
// on reuse, against known_hosts as it is then.
func TestPersistReusesTheConnectionAndChecksItsKeyEachTime(t *testing.T) {
	c := needHosts(t)
	h := c.Hosts[0]
	home := t.TempDir()
	known := filepath.Join(t.TempDir(), "known_hosts")
	good, err := os.ReadFile(c.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(known, good, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	p1 := muxPool(t, home, remote.Options{})
	served := remote.ServeMuxInTest(ctx, p1)
	first := clientPort(t, connect(t, p1, specHost(c, h, known)))
	// Commands with input, output, errors and exit codes go through.
	host := connect(t, p1, specHost(c, h, known))
	res, err := host.Run(ctx, "cat; echo err >&2; exit 3", remote.RunOpts{Stdin: strings.NewReader("in\n")})
	if !remote.IsExit(err, 3) || string(res.Stdout) != "in\n" || string(res.Stderr) != "err\n" {
		t.Fatalf("Run = %q %q %v; want in, err and exit 3", res.Stdout, res.Stderr, err)
	}
	p1.Close()

	dir := remote.MuxDir(home)
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, "mux-v1.sock"): 0o600} {
		if fi, err := os.Stat(path); err != nil {
			t.Error(err)
		} else if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), want)
		}
	}

	p2 := muxPool(t, home, remote.Options{})
	if second := clientPort(t, connect(t, p2, specHost(c, h, known))); second != first {
		t.Errorf("second run connected from port %s, first from %s: the connection was not reused", second, first)
	}
	p2.Close()

	// known_hosts now records another key for the address: the kept
	// connection is refused like a new one.
	line := h.Address + " " + string(sshAuthorizedKey(c.Hosts[1]))
	if err := os.WriteFile(known, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = muxPool(t, home, remote.Options{}).Connect(ctx, specHost(c, h, known))
	var hkErr *remote.HostKeyError
	if !errors.As(err, &hkErr) || hkErr.Problem != remote.HostKeyChanged {
		t.Fatalf("Connect after the key changed in known_hosts = %v; want a changed host key error", err)
	}

	// Removing its directory stops the process.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the keeping process still runs after its socket was removed")
	}
}

// The keeping process dials with the client's checks: an unknown key is
// refused with the client's own error, and nothing is kept.
func TestPersistRefusesAnUnknownKeyLikeADirectConnection(t *testing.T) {
	c := needHosts(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := muxPool(t, t.TempDir(), remote.Options{})
	remote.ServeMuxInTest(ctx, p)
	_, err := p.Connect(ctx, specHost(c, c.Hosts[0], filepath.Join(t.TempDir(), "known_hosts")))
	var hkErr *remote.HostKeyError
	if !errors.As(err, &hkErr) || hkErr.Problem != remote.HostKeyUnknown || !strings.Contains(err.Error(), fingerprint(c.Hosts[0])) {
		t.Fatalf("Connect = %v; want an unknown host key error", err)
	}
}

// A keeping process that cannot start leaves the run to connect directly.
func TestPersistFallsBackToADirectConnection(t *testing.T) {
	c := needHosts(t)
	p := muxPool(t, t.TempDir(), remote.Options{MuxCommand: []string{"/nonexistent/strata"}})
	host := connect(t, p, specHost(c, c.Hosts[0], c.KnownHosts))
	if _, err := host.Run(context.Background(), "true", remote.RunOpts{}); err != nil {
		t.Fatal(err)
	}
}

// The socket's directory must be this user's alone.
func TestPersistRefusesAnOpenDirectory(t *testing.T) {
	c := needHosts(t)
	home := t.TempDir()
	dir := remote.MuxDir(home)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := muxPool(t, home, remote.Options{})
	served := remote.ServeMuxInTest(ctx, p)
	connect(t, p, specHost(c, c.Hosts[0], c.KnownHosts)) // directly
	select {
	case err := <-served:
		t.Fatalf("a keeping process ran in a 0755 directory: %v", err)
	default:
	}
	if _, err := os.Stat(filepath.Join(dir, "mux-v1.sock")); !os.IsNotExist(err) {
		t.Errorf("socket in the open directory: %v", err)
	}
}
