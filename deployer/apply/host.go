package apply

import (
	"context"
	"io"
	"io/fs"
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
	// Upload installs exactly size bytes of src at dst with the given mode
	// and sha256, atomically and verified, skipping the transfer when dst
	// already has that digest.
	Upload(ctx context.Context, src io.Reader, size int64, dst string, mode fs.FileMode, sha256 string) error
	// WriteFile replaces path with data atomically.
	WriteFile(ctx context.Context, path string, data []byte, mode fs.FileMode) error
	// Digest returns the sha256 of the file at path; a missing file is an
	// error matching fs.ErrNotExist.
	Digest(ctx context.Context, path string) (string, error)
}

// ExitCoder is implemented by errors of commands that ran and failed.
type ExitCoder interface{ ExitStatus() int }
