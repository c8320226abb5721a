package bench

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Server is a `strata server` child process hosting a single database on
// a free loopback port, with its data in a temporary directory.
type Server struct {
	Address     string
	ClusterFile string
	Dir         string
	// MetricsURL is the server's /metrics page.
	MetricsURL string
	// Placement says which CPUs the server and the clients run on, if the
	// bench placed them.
	Placement string
	cmd       *exec.Cmd
	exited    chan error
}

// StartServer runs `binary server` (binary is normally os.Executable()) with
// the ssd engine in a fresh directory under tmp ("" means the system's
// temporary directory). Its trace log goes to Dir/log. With pprof the
// server also serves Go's profiles on its status port. start, if not nil,
// starts the command in place of its Start method (to place it on CPUs).
func StartServer(binary, tmp string, pprof bool, start func(*exec.Cmd) error) (*Server, error) {
	dir, err := os.MkdirTemp(tmp, "strata-bench-")
	if err != nil {
		return nil, fmt.Errorf("bench server directory: %w", err)
	}
	addrs, err := freeLoopbackAddresses(2)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	addr, status := addrs[0], addrs[1]
	_, statusPort, _ := net.SplitHostPort(status)
	s := &Server{Address: addr, MetricsURL: "http://" + status + "/metrics", ClusterFile: filepath.Join(dir, "strata.cluster"), Dir: dir, exited: make(chan error, 1)}
	if err := os.WriteFile(s.ClusterFile, []byte("bench:bench@"+addr+"\n"), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("writing the bench cluster file: %w", err)
	}
	s.cmd = exec.Command(binary, "server", "--cluster-file", s.ClusterFile, "--public-address", addr,
		"--datadir", filepath.Join(dir, "data"), "--logdir", filepath.Join(dir, "log"), "--storage-engine", "ssd", "--status-port", statusPort)
	if pprof {
		s.cmd.Args = append(s.cmd.Args, "--pprof")
	}
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	// The server's own output (Pebble's log lines) would interleave with
	// the report; it goes to a file, quoted if the server dies.
	out, err := os.Create(filepath.Join(dir, "server.out"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("bench server output file: %w", err)
	}
	defer out.Close() // the child has its own descriptor
	s.cmd.Stdout, s.cmd.Stderr = out, out
	if start == nil {
		start = (*exec.Cmd).Start
	}
	if err := start(s.cmd); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting %s server: %w", binary, err)
	}
	go func() { s.exited <- s.cmd.Wait() }()
	return s, nil
}

// PID is the server's process id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Exited reports the server's exit, if it has exited.
func (s *Server) Exited() error {
	select {
	case err := <-s.exited:
		s.exited <- err
		if err == nil {
			err = errors.New("exited")
		}
		tail, _ := os.ReadFile(filepath.Join(s.Dir, "server.out"))
		if len(tail) > 2000 {
			tail = tail[len(tail)-2000:]
		}
		return fmt.Errorf("bench server: %w; its output ends:\n%s", err, tail)
	default:
		return nil
	}
}

// Stop ends the server (SIGTERM, then SIGKILL after a grace period) and
// removes its directory.
func (s *Server) Stop() error {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	return os.RemoveAll(s.Dir)
}

// freeLoopbackAddresses returns n distinct loopback addresses whose ports
// are free now. The ports are below Linux's ephemeral range (32768 and
// up): one the kernel picked for "127.0.0.1:0" and that was then closed
// can go to an outgoing connection before the server binds it.
func freeLoopbackAddresses(n int) ([]string, error) {
	const first, last = 20000, 32767
	var out []string
	for range 1000 {
		if len(out) == n {
			return out, nil
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(first+rand.IntN(last-first+1)))
		if slices.Contains(out, addr) {
			continue
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		ln.Close()
		out = append(out, addr)
	}
	return nil, fmt.Errorf("no %d free loopback ports in %d-%d", n, first, last)
}

// Memory is a process's resident memory, from /proc/<pid>/status.
type Memory struct {
	RSS  int64 `json:"rss_bytes"`  // VmRSS
	Peak int64 `json:"peak_bytes"` // VmHWM
}

// ReadMemory reads pid's resident memory (Linux only).
func ReadMemory(pid int) (Memory, error) {
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return Memory{}, fmt.Errorf("reading process memory: %w", err)
	}
	defer f.Close()
	var m Memory
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		fields := strings.Fields(rest) // "123456 kB"
		if len(fields) != 2 || fields[1] != "kB" {
			return Memory{}, fmt.Errorf("unexpected /proc status line %q", sc.Text())
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return Memory{}, fmt.Errorf("parsing %q: %w", sc.Text(), err)
		}
		if name == "VmRSS" {
			m.RSS = kb << 10
		} else {
			m.Peak = kb << 10
		}
	}
	if err := sc.Err(); err != nil {
		return Memory{}, err
	}
	if m.RSS == 0 {
		return Memory{}, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
	}
	return m, nil
}
