package apply

import (
	"context"
	"errors"
	"io"
	"io/fs"

	"github.com/strata-db/strata/deployer/remote"
)

// Adapt makes a deployer/remote host (SSH or local) an apply Host.
func Adapt(h remote.Host) Host { return remoteHost{h} }

type remoteHost struct{ h remote.Host }

func (r remoteHost) Name() string { return r.h.Name() }

func (r remoteHost) Exec(ctx context.Context, cmd string, sudo bool) ([]byte, error) {
	res, err := r.h.Run(ctx, cmd, remote.RunOpts{Sudo: sudo})
	var ee *remote.ExitError
	if errors.As(err, &ee) {
		return res.Stdout, exitStatusError{ee}
	}
	return res.Stdout, err
}

func (r remoteHost) Upload(ctx context.Context, src io.Reader, size int64, dst string, mode fs.FileMode, sha256 string) error {
	return r.h.Upload(ctx, src, size, dst, mode, sha256)
}

func (r remoteHost) WriteFile(ctx context.Context, path string, data []byte, mode fs.FileMode) error {
	return r.h.WriteFile(ctx, path, data, mode)
}

func (r remoteHost) Digest(ctx context.Context, path string) (string, error) {
	return r.h.Digest(ctx, path)
}

// exitStatusError gives remote's exit errors the ExitCoder method apply
// looks for, keeping the original error (host, command, stderr) visible.
type exitStatusError struct{ *remote.ExitError }

func (e exitStatusError) ExitStatus() int { return e.ExitCode }
func (e exitStatusError) Unwrap() error   { return e.ExitError }
