package apply

import (
	"context"
	"errors"
	"io"

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

func (r remoteHost) Stream(ctx context.Context, cmd string, sudo bool, stdin io.Reader, stdout io.Writer) error {
	_, err := r.h.Run(ctx, cmd, remote.RunOpts{Sudo: sudo, Stdin: stdin, Stdout: stdout})
	var ee *remote.ExitError
	if errors.As(err, &ee) {
		return exitStatusError{ee}
	}
	return err
}

// exitStatusError gives remote's exit errors the ExitCoder method apply
// looks for, keeping the original error (host, command, stderr) visible.
type exitStatusError struct{ *remote.ExitError }

func (e exitStatusError) ExitStatus() int { return e.ExitCode }
func (e exitStatusError) Unwrap() error   { return e.ExitError }
