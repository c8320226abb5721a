package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync/atomic"
	"syscall"
	"time"
)

// Local is a Host that is this machine: commands run with os/exec, no SSH.
// It serves `transport = "local"` hosts (configs/local.hcl) and tests. File
// operations run as the current user; Sudo on Run uses `sudo -n` unless the
// process is already root.
type Local struct {
	files
	name   string
	closed atomic.Bool
}

// NewLocal returns the local Host with the given name.
func NewLocal(name string) *Local {
	l := &Local{name: name}
	l.files = files{sh: l}
	return l
}

// Name implements Host.
func (l *Local) Name() string { return l.name }

func (l *Local) hostName() string { return l.name }

// Close implements Host; a Local holds nothing, so it only marks itself
// closed.
func (l *Local) Close() error {
	l.closed.Store(true)
	return nil
}

// Run implements Host.
func (l *Local) Run(ctx context.Context, cmd string, opts RunOpts) (Result, error) {
	return l.run(ctx, cmd, opts)
}

// killGrace is how long Run waits for output pipes after the command was
// killed, in case a grandchild still holds them.
const killGrace = 2 * time.Second

func (l *Local) run(ctx context.Context, cmd string, opts RunOpts) (Result, error) {
	if l.closed.Load() {
		return Result{}, fmt.Errorf("%s: %w", l.name, ErrClosed)
	}
	argv := []string{"/bin/sh", "-c", cmd}
	if opts.Sudo && os.Geteuid() != 0 {
		argv = append([]string{"sudo", "-n", "--"}, argv...)
	}
	c := exec.CommandContext(ctx, argv[0], argv[1:]...)
	// The command gets its own process group so cancelling kills its
	// children too, not only the shell.
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
	c.WaitDelay = killGrace
	var stdout, stderr bytes.Buffer
	c.Stdout = tee(&stdout, opts.Stdout)
	c.Stderr = tee(&stderr, opts.Stderr)
	c.Stdin = opts.Stdin
	if opts.Stdin != nil {
		if _, ok := opts.Stdin.(*os.File); !ok {
			// os/exec waits for its own stdin copier, which a reader that
			// blocks (a conversation with the command) would hold up after
			// the command ended; copying into a pipe of our own, as SSH
			// sessions do, lets Run return when the command ends.
			pr, pw, err := os.Pipe()
			if err != nil {
				return Result{ExitCode: -1}, fmt.Errorf("%s: command %s: %w", l.name, quoteForMessage(cmd), err)
			}
			defer pr.Close()
			go func() {
				_, err := io.Copy(pw, opts.Stdin)
				pw.Close()
				_ = err // the command's exit status tells what matters
			}()
			c.Stdin = pr
		}
	}
	err := c.Run()
	res := Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return res, nil
	case ctx.Err() != nil:
		res.ExitCode = -1
		return res, fmt.Errorf("%s: command %s: %w", l.name, quoteForMessage(cmd), ctx.Err())
	case errors.As(err, &exitErr):
		res.ExitCode = exitErr.ExitCode()
		return res, &ExitError{Host: l.name, Command: cmd, ExitCode: res.ExitCode, Stderr: res.Stderr}
	default:
		res.ExitCode = -1
		return res, fmt.Errorf("%s: command %s: %w", l.name, quoteForMessage(cmd), err)
	}
}

func tee(buf *bytes.Buffer, w io.Writer) io.Writer {
	if w == nil {
		return buf
	}
	return io.MultiWriter(buf, w)
}
