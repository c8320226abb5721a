package apply

import (
	"context"
	"io"
)

// Host is what apply needs of a machine. deployer/remote's ssh and local
// hosts satisfy it through Adapt.
type Host interface {
	// Name is the host's name in the description.
	Name() string
	// Exec runs a shell command and returns its standard output; a
	// non-zero exit is an error carrying the host, command and stderr,
	// and ExitCode reports its status.
	Exec(ctx context.Context, cmd string, sudo bool) ([]byte, error)
	// Stream runs a shell command (as root when sudo is set) with its
	// standard input read from stdin and its standard output written to
	// stdout as it arrives, so that apply and a script on the host can talk;
	// a non-zero exit is an error like Exec's.
	Stream(ctx context.Context, cmd string, sudo bool, stdin io.Reader, stdout io.Writer) error
}

// ExitCoder is implemented by errors of commands that ran and failed.
type ExitCoder interface{ ExitStatus() int }
