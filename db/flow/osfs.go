package flow

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
)

// osFS is the real FS: a directory on the operating system's filesystem.
// Files are created 0600 and directories 0700: a data directory is the
// database's alone.
type osFS struct{ root string }

// NewOSFS returns the FS rooted at dir, creating dir if needed.
func NewOSFS(dir string) (FS, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("flow: creating data directory: %w", err)
	}
	return &osFS{root: dir}, nil
}

func (f *osFS) path(name string) (string, error) {
	if !ValidName(name) {
		return "", fmt.Errorf("flow: %q: %w", name, ErrBadName)
	}
	return filepath.Join(f.root, filepath.FromSlash(name)), nil
}

func (f *osFS) Open(name string, create bool) (File, error) {
	p, err := f.path(name)
	if err != nil {
		return nil, err
	}
	flags := os.O_RDWR
	if create {
		flags |= os.O_CREATE
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return nil, err
		}
	}
	h, err := os.OpenFile(p, flags, 0o600)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("flow: open %q: %w", name, ErrNotExist)
	}
	if err != nil {
		return nil, err
	}
	return &osFile{f: h}, nil
}

func (f *osFS) Rename(oldName, newName string) error {
	op, err := f.path(oldName)
	if err != nil {
		return err
	}
	np, err := f.path(newName)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(np), 0o700); err != nil {
		return err
	}
	return os.Rename(op, np)
}

func (f *osFS) Remove(name string) error {
	p, err := f.path(name)
	if err != nil {
		return err
	}
	if err := os.Remove(p); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("flow: remove %q: %w", name, ErrNotExist)
	} else if err != nil {
		return err
	}
	return nil
}

func (f *osFS) List(dir string) ([]string, error) {
	base := f.root
	if dir != "" {
		p, err := f.path(dir)
		if err != nil {
			return nil, err
		}
		base = p
	}
	var out []string
	err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(base, p)
		if err != nil {
			return err
		}
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	slices.Sort(out)
	return out, err
}

// SyncDir fsyncs the data directory so that entries created, renamed or
// removed in it survive a crash.
func (f *osFS) SyncDir(c *Ctx) error {
	return c.Blocking(func() error {
		d, err := os.Open(f.root)
		if err != nil {
			return err
		}
		defer d.Close()
		return d.Sync()
	})
}

type osFile struct{ f *os.File }

func (o *osFile) ReadAt(p []byte, off int64) (int, error)  { return o.f.ReadAt(p, off) }
func (o *osFile) WriteAt(p []byte, off int64) (int, error) { return o.f.WriteAt(p, off) }
func (o *osFile) Truncate(size int64) error                { return o.f.Truncate(size) }
func (o *osFile) Close() error                             { return o.f.Close() }

func (o *osFile) Size() (int64, error) {
	st, err := o.f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// Sync is fdatasync, run off the baton.
func (o *osFile) Sync(c *Ctx) error {
	return c.Blocking(func() error {
		for {
			err := syscall.Fdatasync(int(o.f.Fd()))
			if err != syscall.EINTR {
				return err
			}
		}
	})
}
