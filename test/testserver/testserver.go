// Package testserver gives tests a real database: it builds the strata
// binary from this repository and runs `strata server` processes on free
// loopback ports, each with its own data directory and cluster file, killed
// (SIGKILL) when the test ends or its process dies.
package testserver

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
)

// Main runs a test package's tests (call it from TestMain) with one strata
// binary shared by all of them: linking it costs seconds a test on a busy
// machine. It removes the binary when the tests end.
func Main(m *testing.M) {
	dir, err := os.MkdirTemp("", "strata-testserver-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "testserver:", err)
		os.Exit(2)
	}
	shared = &sharedBinary{path: filepath.Join(dir, "strata")}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// sharedBinary is the binary Main builds on first use.
type sharedBinary struct {
	once sync.Once
	path string
	err  error
}

// shared is set only by Main, before any test runs, and read-only after.
var shared *sharedBinary

// Binary returns the path of a strata binary built from this repository:
// the package's shared one under Main, else one built into the test's
// temporary directory. The Go build cache makes every build after the
// first quick.
func Binary(t testing.TB) string {
	t.Helper()
	if shared != nil {
		shared.once.Do(func() { shared.err = build(shared.path) })
		if shared.err != nil {
			t.Fatal(shared.err)
		}
		return shared.path
	}
	out := filepath.Join(t.TempDir(), "strata")
	if err := build(out); err != nil {
		t.Fatal(err)
	}
	return out
}

func build(out string) error {
	if b, err := exec.Command("go", "build", "-o", out, "github.com/strata-db/strata/cmd/strata").CombinedOutput(); err != nil {
		return fmt.Errorf("building strata: %w\n%s", err, b)
	}
	return nil
}

// FreeAddress returns a loopback address with a port no other caller in
// this process was given, that nothing listened on a moment ago. Ports come
// from below Linux's ephemeral range (32768 and up): a port the kernel
// picked for "127.0.0.1:0" and that was then closed could be handed out
// again to the next such listener or to an outgoing connection before the
// server meant to use it started (CI saw a server fail with "address
// already in use" that way).
func FreeAddress(t testing.TB) string {
	t.Helper()
	ports.Lock()
	defer ports.Unlock()
	for range 1000 {
		port := firstPort + rand.IntN(lastPort-firstPort+1)
		if ports.given[port] {
			continue
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		_ = ln.Close()
		ports.given[port] = true
		return addr
	}
	t.Fatal("testserver: no free loopback port below the ephemeral range")
	return ""
}

// The ports FreeAddress chooses from, and those it gave out.
const firstPort, lastPort = 20000, 32767

var ports = struct {
	sync.Mutex
	given map[int]bool
}{given: map[int]bool{}}

// Server is a `strata server` process hosting a single database.
type Server struct {
	Binary      string
	Dir         string
	Address     string
	ClusterFile string
	// Zone is the process's --locality-zone ("": none).
	Zone string
	// Engine is its --storage-engine ("": the server's default).
	Engine string

	t   testing.TB
	cmd *exec.Cmd
}

// Start runs a server from binary on a free port; it is killed when the
// test ends.
func Start(t testing.TB, binary string) *Server {
	t.Helper()
	dir := t.TempDir()
	s := &Server{Binary: binary, Dir: dir, Address: FreeAddress(t), ClusterFile: filepath.Join(dir, "strata.cluster"), t: t}
	if err := os.WriteFile(s.ClusterFile, []byte("test:"+filepath.Base(dir)+"@"+s.Address+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Kill)
	s.Restart()
	return s
}

// Restart starts the server process again (after Kill) on the same data.
func (s *Server) Restart() {
	s.t.Helper()
	s.cmd = exec.Command(s.Binary, "server", "--cluster-file", s.ClusterFile, "--public-address", s.Address,
		"--datadir", filepath.Join(s.Dir, "data"), "--logdir", s.LogDir())
	if s.Zone != "" {
		s.cmd.Args = append(s.cmd.Args, "--locality-zone", s.Zone)
	}
	if s.Engine != "" {
		s.cmd.Args = append(s.cmd.Args, "--storage-engine", s.Engine)
	}
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	s.cmd.Stderr = os.Stderr
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
}

// LogDir is the directory of the server's JSON trace logs.
func (s *Server) LogDir() string { return filepath.Join(s.Dir, "log") }

// Running reports whether the process was started and not killed.
func (s *Server) Running() bool { return s.cmd != nil }

// Kill sends SIGKILL: the server gets no chance to flush or sync.
func (s *Server) Kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGKILL)
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}
