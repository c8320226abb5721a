package monitor

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// ErrLocked means another monitor holds the lockfile.
var ErrLocked = errors.New("monitor: another monitor is running")

// Lock is a held lockfile: one monitor runs per configuration file.
type Lock struct {
	f    *os.File
	path string
}

// AcquireLock takes an exclusive flock on path (creating it) and writes our
// pid into it. It fails with ErrLocked if another process holds it.
func AcquireLock(path string) (*Lock, error) {
	for range 3 {
		l, retry, err := tryLock(path)
		if !retry {
			return l, err
		}
	}
	return nil, fmt.Errorf("locking %s: the file kept being replaced", path)
}

func tryLock(path string) (l *Lock, retry bool, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, false, fmt.Errorf("opening lockfile: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, false, fmt.Errorf("%w: %s is held%s", ErrLocked, path, holderOf(path))
		}
		return nil, false, fmt.Errorf("locking %s: %w", path, err)
	}
	// The holder we waited on may have removed the file as it released it;
	// a lock on an unlinked inode guards nothing.
	held, err1 := f.Stat()
	named, err2 := os.Stat(path)
	if err1 != nil || err2 != nil || !os.SameFile(held, named) {
		f.Close()
		return nil, true, nil
	}
	if err := f.Truncate(0); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("writing lockfile: %w", err)
	}
	if _, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("writing lockfile: %w", err)
	}
	return &Lock{f: f, path: path}, false, nil
}

func holderOf(path string) string {
	data, err := os.ReadFile(path)
	if pid := strings.TrimSpace(string(data)); err == nil && pid != "" {
		return " by pid " + pid
	}
	return ""
}

// Release removes the lockfile and drops the lock (in that order, so that a
// waiting monitor never locks a file that is about to disappear).
func (l *Lock) Release() error {
	err := os.Remove(l.path)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// LockHeld reports whether some process holds the lockfile at path, i.e.
// whether a monitor is running for it.
func LockHeld(path string) (bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("checking lockfile: %w", err)
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("checking lockfile %s: %w", path, err)
	}
	return false, nil
}
