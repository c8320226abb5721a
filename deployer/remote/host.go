package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"
)

// Host is one machine the deployer acts on. Every method is safe for
// concurrent use; an SSH host multiplexes concurrent calls over one
// connection.
type Host interface {
	// Name is the host's name in the cluster description, used in errors.
	Name() string
	// Run runs cmd with /bin/sh -c on the host. A command that exits
	// non-zero returns its Result and an *ExitError naming the host, the
	// command and the end of its stderr.
	Run(ctx context.Context, cmd string, opts RunOpts) (Result, error)
	// Upload streams exactly size bytes of src to dst, which ends up with
	// the given mode and sha256 (lowercase hex). The bytes go to a
	// temporary file beside dst, are checked on the host with sha256sum,
	// synced and renamed over dst, so dst is never partly written. When dst
	// already has that digest nothing is sent and src is not read; only its
	// mode is corrected if it differs.
	Upload(ctx context.Context, src io.Reader, size int64, dst string, mode fs.FileMode, sha256 string) error
	// WriteFile replaces path with data atomically (temporary file,
	// digest check, sync, rename), creating parent directories.
	WriteFile(ctx context.Context, path string, data []byte, mode fs.FileMode) error
	// ReadFile returns the content of path; a missing file is an error
	// matching fs.ErrNotExist.
	ReadFile(ctx context.Context, path string) ([]byte, error)
	// Stat describes path; a missing file is an error matching
	// fs.ErrNotExist.
	Stat(ctx context.Context, path string) (FileInfo, error)
	// Digest returns the lowercase hex sha256 of the file at path; a
	// missing file is an error matching fs.ErrNotExist.
	Digest(ctx context.Context, path string) (string, error)
	// Close releases the host's connection. Calls after Close fail.
	Close() error
}

// RunOpts are the options of one Run.
type RunOpts struct {
	// Sudo runs the command as root: directly when the login user is root,
	// otherwise through sudo (NOPASSWD, or the password the host was given).
	Sudo bool
	// Stdin, when set, is copied to the command's standard input.
	Stdin io.Reader
	// Stdout and Stderr, when set, also receive the command's output as it
	// arrives, for live progress; Result holds all of it either way.
	Stdout io.Writer
	Stderr io.Writer
}

// Result is what a finished command produced.
type Result struct {
	Stdout   []byte
	Stderr   []byte
	ExitCode int
}

// FileInfo describes a file on a host.
type FileInfo struct {
	Path    string
	Size    int64
	Mode    fs.FileMode // permission bits, plus fs.ModeDir for directories
	ModTime time.Time
}

// IsDir reports whether the file is a directory.
func (f FileInfo) IsDir() bool { return f.Mode.IsDir() }

// ExitError is a command that ran and exited non-zero (or was killed by a
// signal, ExitCode -1).
type ExitError struct {
	Host     string
	Command  string
	ExitCode int
	Stderr   []byte
}

func (e *ExitError) Error() string {
	msg := fmt.Sprintf("%s: command %s exited with status %d", e.Host, quoteForMessage(e.Command), e.ExitCode)
	if tail := tailOf(e.Stderr); tail != "" {
		msg += ": " + tail
	}
	return msg
}

// IsExit reports whether err is an *ExitError with the given code.
func IsExit(err error, code int) bool {
	var e *ExitError
	return errors.As(err, &e) && e.ExitCode == code
}

// ErrClosed is returned by the methods of a closed Host.
var ErrClosed = errors.New("host is closed")

// maxMessageCommand and maxMessageStderr bound what an error quotes, so a
// long script or a chatty command keeps error lines readable.
const (
	maxMessageCommand = 200
	maxMessageStderr  = 2000
)

func quoteForMessage(cmd string) string {
	if len(cmd) > maxMessageCommand {
		cmd = cmd[:maxMessageCommand] + "..."
	}
	return fmt.Sprintf("%q", cmd)
}

// tailOf is the last part of a command's stderr, trimmed, for messages.
func tailOf(stderr []byte) string {
	s := string(stderr)
	if len(s) > maxMessageStderr {
		s = "..." + s[len(s)-maxMessageStderr:]
	}
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == ' ' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	return s
}
