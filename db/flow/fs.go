package flow

import "errors"

// FS is a process's data directory. Names are slash-separated paths
// relative to it; they may not escape it. Creating, renaming and removing are
// durable once SyncDir returns; file contents are durable once File.Sync
// returns. Anything not yet durable may be lost, or torn, if the process or
// its machine dies.
type FS interface {
	// Open opens a file; with create it is created if missing.
	Open(name string, create bool) (File, error)
	// Rename atomically replaces newName with oldName.
	Rename(oldName, newName string) error
	// Remove deletes a file; removing a missing file is an error. A
	// directory left empty goes with its last file.
	Remove(name string) error
	// List returns the names of the files under dir ("" for the root),
	// sorted.
	List(dir string) ([]string, error)
	// SyncDir makes the directory's entries (creates, renames, removes)
	// durable.
	SyncDir(c *Ctx) error
}

// File is an open file in an FS.
type File interface {
	ReadAt(p []byte, off int64) (int, error)
	WriteAt(p []byte, off int64) (int, error)
	Truncate(size int64) error
	Size() (int64, error)
	// Sync makes the file's written contents durable (fdatasync). It blocks
	// the calling actor, not the process.
	Sync(c *Ctx) error
	Close() error
}

// ErrNotExist is returned for a file that does not exist.
var ErrNotExist = errors.New("flow: file does not exist")

// ErrBadName is returned for a name that is empty, absolute or escapes the
// data directory.
var ErrBadName = errors.New("flow: bad file name")

// ValidName reports whether name is a clean relative path inside the data
// directory.
func ValidName(name string) bool {
	if name == "" || name[0] == '/' {
		return false
	}
	start := 0
	for i := 0; i <= len(name); i++ {
		if i == len(name) || name[i] == '/' {
			seg := name[start:i]
			if seg == "" || seg == "." || seg == ".." {
				return false
			}
			start = i + 1
		}
	}
	return true
}
