package monitor

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Launch is everything needed to start one child.
type Launch struct {
	ID     string
	Argv   []string
	Env    []string       // the complete environment
	Output io.WriteCloser // receives stdout and stderr; closed when the child's output ends. Nil discards.
}

// Starter starts children. The Supervisor owns this interface so tests can
// substitute processes that exist only in memory.
type Starter interface {
	Start(l Launch) (Child, error)
}

// Child is a started process.
type Child interface {
	Pid() int
	// Signal sends sig to the child's whole process group.
	Signal(sig syscall.Signal) error
	// Wait blocks until the child has exited and returns how. It is called
	// exactly once.
	Wait() ExitStatus
}

// ExitStatus says how a child ended.
type ExitStatus struct {
	Code   int            // exit code, or -1 if killed by a signal
	Signal syscall.Signal // the signal that killed it, if any
}

// Success reports a clean exit with status 0, which fdbmonitor treats as a
// request to restart at once (e.g. `fdbcli kill`).
func (e ExitStatus) Success() bool { return e.Code == 0 && e.Signal == 0 }

func (e ExitStatus) String() string {
	if e.Signal != 0 {
		return "killed by signal " + e.Signal.String()
	}
	return fmt.Sprintf("exit status %d", e.Code)
}

// ExecStarter starts real processes with os/exec. Each child leads its own
// process group and gets SIGKILL when the monitor dies. Pdeathsig is tied to
// the thread that forked the child; the Go runtime never retires threads
// unless a goroutine locked to one exits, which this package never does.
type ExecStarter struct {
	// DrainTimeout bounds how long Wait keeps copying output after the
	// child exits (a process outside its group may hold the pipe).
	DrainTimeout time.Duration
}

// Start implements Starter.
func (s ExecStarter) Start(l Launch) (Child, error) {
	if len(l.Argv) == 0 {
		return nil, errors.New("empty command")
	}
	cmd := exec.Command(l.Argv[0], l.Argv[1:]...)
	cmd.Env = l.Env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	c := &execChild{cmd: cmd, drainTimeout: s.DrainTimeout, drained: make(chan struct{})}
	if c.drainTimeout <= 0 {
		c.drainTimeout = 2 * time.Second
	}
	// Our own pipe rather than an io.Writer on exec.Cmd: cmd.Wait would wait
	// for every holder of the pipe, including orphaned grandchildren.
	var w *os.File
	if l.Output != nil {
		r, pw, err := os.Pipe()
		if err != nil {
			l.Output.Close()
			return nil, fmt.Errorf("creating output pipe: %w", err)
		}
		c.out, w = r, pw
		cmd.Stdout, cmd.Stderr = pw, pw
	}
	err := cmd.Start()
	if w != nil {
		w.Close()
	}
	if err != nil {
		if c.out != nil {
			c.out.Close()
			l.Output.Close()
		}
		return nil, err
	}
	if c.out != nil {
		go c.copyOutput(l.Output)
	} else {
		close(c.drained)
	}
	return c, nil
}

type execChild struct {
	cmd          *exec.Cmd
	out          *os.File
	drainTimeout time.Duration
	drained      chan struct{}
}

func (c *execChild) Pid() int { return c.cmd.Process.Pid }

func (c *execChild) Signal(sig syscall.Signal) error {
	return syscall.Kill(-c.cmd.Process.Pid, sig)
}

func (c *execChild) copyOutput(dst io.WriteCloser) {
	defer close(c.drained)
	defer dst.Close()
	io.Copy(dst, c.out) //nolint:errcheck // the writer logs its own failures; a read error ends the output
}

// Wait reaps the child, kills whatever is left of its process group so
// nothing is orphaned, and lets its output drain.
func (c *execChild) Wait() ExitStatus {
	err := c.cmd.Wait()
	syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL) //nolint:errcheck // ESRCH: the group is already empty
	select {
	case <-c.drained:
	case <-time.After(c.drainTimeout):
		c.out.Close() // unblocks the copy
		<-c.drained
	}
	if c.out != nil {
		c.out.Close()
	}
	return exitStatusOf(c.cmd.ProcessState, err)
}

func exitStatusOf(ps *os.ProcessState, err error) ExitStatus {
	if ps == nil {
		return ExitStatus{Code: -1}
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return ExitStatus{Code: -1, Signal: ws.Signal()}
	}
	return ExitStatus{Code: ps.ExitCode()}
}
