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
//
// Directory entries become durable only when their directory is fsync'd, so
// the FS remembers every directory whose entries changed (files created,
// renamed or removed, subdirectories made) and SyncDir fsyncs each of them,
// deepest first, then the root.
type osFS struct {
	root  string
	dirty map[string]bool // directories with unsynced entries; used with the baton

	// syncer runs file syncs without holding a thread, made at the first
	// sync on a real loop; syncerErr is why there is none (then syncs run
	// in Ctx.Blocking). Both are used with the baton.
	syncer    asyncSyncer
	syncerErr error
}

// asyncSyncer starts an fdatasync whose completion is reported by calling
// done, so that no goroutine sits in the system call meanwhile.
type asyncSyncer interface {
	// datasync starts the sync; an error means it was not started and done
	// will not be called.
	datasync(fd uintptr, done func(error)) error
	close() error
}

var errSyncerClosed = errors.New("flow: file syncer closed")

// NewOSFS returns the FS rooted at dir, creating dir if needed.
func NewOSFS(dir string) (FS, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("flow: creating data directory: %w", err)
	}
	return &osFS{root: dir, dirty: map[string]bool{}}, nil
}

// touch marks p's directory, and every directory between it and the root,
// as holding unsynced entries.
func (f *osFS) touch(p string) {
	for d := filepath.Dir(p); ; d = filepath.Dir(d) {
		f.dirty[d] = true
		if d == f.root || len(d) <= len(f.root) {
			return
		}
	}
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
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			f.touch(p)
		}
	}
	h, err := os.OpenFile(p, flags, 0o600)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("flow: open %q: %w", name, ErrNotExist)
	}
	if err != nil {
		return nil, err
	}
	return &osFile{f: h, fs: f}, nil
}

// asyncSyncer returns the FS's syncer, making it on first use, or nil when
// the platform has none.
func (f *osFS) asyncSyncer() asyncSyncer {
	if f.syncer == nil && f.syncerErr == nil {
		f.syncer, f.syncerErr = newAsyncSyncer()
	}
	return f.syncer
}

// Close releases the FS's syncer after waiting for the syncs in flight.
// The real runtime closes a process's FS when the process stops.
func (f *osFS) Close() error {
	if f.syncer == nil {
		return nil
	}
	err := f.syncer.close()
	f.syncer, f.syncerErr = nil, errSyncerClosed
	return err
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
	f.touch(op)
	f.touch(np)
	return os.Rename(op, np)
}

func (f *osFS) Remove(name string) error {
	p, err := f.path(name)
	if err != nil {
		return err
	}
	f.touch(p)
	if err := os.Remove(p); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("flow: remove %q: %w", name, ErrNotExist)
	} else if err != nil {
		return err
	}
	f.pruneEmptyDirs(filepath.Dir(p))
	return nil
}

// pruneEmptyDirs removes dir and its parents below the root while they are
// empty. Directories are implicit in an FS (Open makes them), so removing a
// directory's last file removes the directory too: a destroyed role leaves
// nothing behind. os.Remove fails on a directory that is not empty, which
// ends the walk; the parents are already marked for SyncDir by touch.
func (f *osFS) pruneEmptyDirs(dir string) {
	for ; len(dir) > len(f.root); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			return
		}
	}
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

// SyncDir fsyncs every directory whose entries changed since the last
// call (deepest first, the root last) so that files created, renamed or
// removed anywhere in the data directory survive a crash.
func (f *osFS) SyncDir(c *Ctx) error {
	dirs := make([]string, 0, len(f.dirty)+1)
	for d := range f.dirty {
		dirs = append(dirs, d)
	}
	clear(f.dirty)
	slices.SortFunc(dirs, func(a, b string) int { return len(b) - len(a) })
	if !slices.Contains(dirs, f.root) {
		dirs = append(dirs, f.root)
	}
	err := c.Blocking(func() error {
		for _, dir := range dirs {
			if err := syncDirectory(dir); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		for _, d := range dirs { // still unsynced: try again next time
			f.dirty[d] = true
		}
	}
	return err
}

func syncDirectory(dir string) error {
	d, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // removed since; its parent's sync covers that
	}
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

type osFile struct {
	f  *os.File
	fs *osFS
}

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

// Sync is fdatasync, run off the baton: through the FS's asynchronous
// syncer where there is one, else on a goroutine of its own.
func (o *osFile) Sync(c *Ctx) error {
	if !c.loop.virtual {
		if s := o.fs.asyncSyncer(); s != nil {
			p := NewPromise[struct{}]()
			l := c.loop
			err := s.datasync(o.f.Fd(), func(err error) {
				_ = l.Post(func() { settle(p, err) })
			})
			if err == nil {
				_, err = Await(c, p.Future())
				return err
			}
		}
	}
	return c.Blocking(func() error {
		for {
			err := syscall.Fdatasync(int(o.f.Fd()))
			if err != syscall.EINTR {
				return err
			}
		}
	})
}
