package monitor

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// DefaultLockfile is the lockfile used for conffile when none is given: one
// monitor runs per configuration file.
func DefaultLockfile(conffile string) string { return conffile + ".lock" }

// Serve is the monitor's main: it takes the lockfile (failing with ErrLocked
// if another monitor holds it), reloads with a backoff reset on SIGHUP, and
// runs a Supervisor until ctx is cancelled (the caller maps SIGTERM and
// SIGINT to that), then releases the lockfile.
func Serve(ctx context.Context, opts Options, lockfile string) (err error) {
	if lockfile == "" {
		lockfile = DefaultLockfile(opts.ConfFile)
	}
	lock, err := AcquireLock(lockfile)
	if err != nil {
		return err
	}
	defer func() {
		if rerr := lock.Release(); rerr != nil && err == nil {
			err = fmt.Errorf("monitor: releasing lockfile: %w", rerr)
		}
	}()
	sup, err := New(opts)
	if err != nil {
		return err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	stopHUP := make(chan struct{})
	defer close(stopHUP)
	go func() {
		for {
			select {
			case <-hup:
				sup.log.Info("SIGHUP: reloading configuration and resetting restart backoff")
				sup.Reload(true)
			case <-stopHUP:
				return
			}
		}
	}()
	return sup.Run(ctx)
}
