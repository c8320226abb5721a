package directory

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/strata-db/strata/db/subspace"
)

// DirectorySubspace is an opened directory: its absolute path, its layer
// and the subspace of its prefix, where the application keeps its keys
// (Pack, Sub, Range ... come from the embedded Subspace). Its methods act
// on directories relative to it, as FoundationDB's DirectorySubspace does.
//
// A partition (layer "partition") has a directory layer of its own inside
// its prefix: directories created in it get prefixes beneath it, and
// nothing can move in or out of it. Its prefix belongs to that layer, so
// an application must not write keys directly in a partition's Subspace;
// FoundationDB's bindings refuse to pack keys there.
type DirectorySubspace struct {
	subspace.Subspace
	path  []string
	layer []byte
	// dl resolves paths relative to this directory: the layer that holds
	// it, or for a partition the partition's own layer.
	dl *Layer
	// parent is a partition's enclosing layer, which holds the partition
	// itself; nil for other directories.
	parent *Layer
}

// Path returns the directory's absolute path.
func (d DirectorySubspace) Path() []string { return slices.Clone(d.path) }

// Layer returns the layer the directory was created with (empty for none).
func (d DirectorySubspace) Layer() []byte { return bytes.Clone(d.layer) }

// IsPartition reports whether the directory is a partition.
func (d DirectorySubspace) IsPartition() bool { return d.parent != nil }

// String describes the directory.
func (d DirectorySubspace) String() string {
	return fmt.Sprintf("DirectorySubspace(path=%q, prefix=%x, layer=%q)", d.path, d.Bytes(), d.layer)
}

// errNotOpened is returned by the methods of a DirectorySubspace that no
// directory operation returned (its zero value).
var errNotOpened = errors.New("directory: the DirectorySubspace was not returned by a directory operation")

// resolve returns the layer that resolves sub, relative to d, and sub
// relative to that layer. With holder, a partition's empty subpath is the
// partition itself, which its enclosing layer holds; otherwise it is the
// root of the partition's own layer, as in FoundationDB.
func (d DirectorySubspace) resolve(sub []string, holder bool) (*Layer, []string, error) {
	l := d.dl
	if l == nil {
		return nil, nil, errNotOpened
	}
	if holder && d.parent != nil && len(sub) == 0 {
		l = d.parent
	}
	return l, append(slices.Clone(d.path[len(l.path):]), sub...), nil
}

// CreateOrOpen opens or creates the directory at sub below d.
func (d DirectorySubspace) CreateOrOpen(tr Tx, sub []string, layer []byte) (DirectorySubspace, error) {
	l, rel, err := d.resolve(sub, false)
	if err != nil {
		return DirectorySubspace{}, err
	}
	return l.CreateOrOpen(tr, rel, layer)
}

// Create creates the directory at sub below d.
func (d DirectorySubspace) Create(tr Tx, sub []string, layer []byte) (DirectorySubspace, error) {
	l, rel, err := d.resolve(sub, false)
	if err != nil {
		return DirectorySubspace{}, err
	}
	return l.Create(tr, rel, layer)
}

// Open opens the directory at sub below d.
func (d DirectorySubspace) Open(tr ReadTx, sub []string, layer []byte) (DirectorySubspace, error) {
	l, rel, err := d.resolve(sub, false)
	if err != nil {
		return DirectorySubspace{}, err
	}
	return l.Open(tr, rel, layer)
}

// Exists reports whether the directory at sub below d (d itself for an
// empty sub) exists.
func (d DirectorySubspace) Exists(tr ReadTx, sub []string) (bool, error) {
	l, rel, err := d.resolve(sub, true)
	if err != nil {
		return false, err
	}
	return l.Exists(tr, rel)
}

// List returns the names of the children of the directory at sub below d.
func (d DirectorySubspace) List(tr ReadTx, sub []string) ([]string, error) {
	l, rel, err := d.resolve(sub, false)
	if err != nil {
		return nil, err
	}
	return l.List(tr, rel)
}

// Remove removes the directory at sub below d (d itself for an empty
// sub) with everything in it.
func (d DirectorySubspace) Remove(tr Tx, sub []string) error {
	l, rel, err := d.resolve(sub, true)
	if err != nil {
		return err
	}
	return l.Remove(tr, rel)
}

// RemoveIfExists is Remove that reports whether the directory existed.
func (d DirectorySubspace) RemoveIfExists(tr Tx, sub []string) (bool, error) {
	l, rel, err := d.resolve(sub, true)
	if err != nil {
		return false, err
	}
	return l.RemoveIfExists(tr, rel)
}

// Move moves the directory at oldSub below d to newSub below d.
func (d DirectorySubspace) Move(tr Tx, oldSub, newSub []string) (DirectorySubspace, error) {
	l, oldRel, err := d.resolve(oldSub, false)
	if err != nil {
		return DirectorySubspace{}, err
	}
	_, newRel, _ := d.resolve(newSub, false)
	return l.Move(tr, oldRel, newRel)
}

// MoveTo moves d to the absolute path newPath, which must lie in the same
// partition as d (ErrCrossPartition).
func (d DirectorySubspace) MoveTo(tr Tx, newPath []string) (DirectorySubspace, error) {
	l, rel, err := d.resolve(nil, true)
	if err != nil {
		return DirectorySubspace{}, err
	}
	n := len(l.path)
	if len(newPath) < n || !slices.Equal(newPath[:n], l.path) {
		return DirectorySubspace{}, fmt.Errorf("directory: move %q to %q: %w", d.path, newPath, ErrCrossPartition)
	}
	return l.Move(tr, rel, newPath[n:])
}
