package directory

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/strata-db/strata/db/tuple"
)

// CreateOrOpen opens the directory at path, creating it (and any missing
// parents) if it does not exist. A non-empty layer must match the layer of
// an existing directory (ErrLayerMismatch) and is stored with a new one.
func (l *Layer) CreateOrOpen(tr Tx, path []string, layer []byte) (DirectorySubspace, error) {
	return l.createOrOpen(tr, tr, path, layer, nil, true, true)
}

// Create creates the directory at path (and any missing parents) with a
// prefix from the allocator; ErrExists if it exists.
func (l *Layer) Create(tr Tx, path []string, layer []byte) (DirectorySubspace, error) {
	return l.createOrOpen(tr, tr, path, layer, nil, true, false)
}

// CreatePrefix creates the directory at path with the given prefix, which
// must not overlap any directory's (ErrPrefixInUse). The layer must allow
// manual prefixes (ErrManualPrefix).
func (l *Layer) CreatePrefix(tr Tx, path []string, layer, prefix []byte) (DirectorySubspace, error) {
	if prefix == nil {
		prefix = []byte{}
	}
	return l.createOrOpen(tr, tr, path, layer, prefix, true, false)
}

// Open opens the existing directory at path; ErrNotExist if it does not
// exist, ErrLayerMismatch if layer is non-empty and differs from its own.
func (l *Layer) Open(tr ReadTx, path []string, layer []byte) (DirectorySubspace, error) {
	return l.createOrOpen(tr, nil, path, layer, nil, false, true)
}

// createOrOpen is FDB's _create_or_open_internal; tr is nil for a
// read-only open.
func (l *Layer) createOrOpen(rtr ReadTx, tr Tx, path []string, layer, prefix []byte, allowCreate, allowOpen bool) (DirectorySubspace, error) {
	if err := checkPath(path); err != nil {
		return DirectorySubspace{}, err
	}
	if err := l.checkVersion(rtr, nil); err != nil {
		return DirectorySubspace{}, err
	}
	if prefix != nil && !l.manualPrefix {
		return DirectorySubspace{}, fmt.Errorf("directory %q: %w", l.abs(path), ErrManualPrefix)
	}
	if len(path) == 0 {
		return DirectorySubspace{}, fmt.Errorf("directory: open: %w", ErrRoot)
	}
	existing, err := l.find(rtr, path)
	if err != nil {
		return DirectorySubspace{}, err
	}
	if existing.exists {
		if existing.inPartition(false) {
			inner := l.partition(l.abs(existing.path), existing.prefix)
			return inner.createOrOpen(rtr, tr, existing.partitionSubpath(), layer, prefix, allowCreate, allowOpen)
		}
		if !allowOpen {
			return DirectorySubspace{}, fmt.Errorf("directory %q: %w", l.abs(path), ErrExists)
		}
		if len(layer) > 0 && !bytes.Equal(existing.layer, layer) {
			return DirectorySubspace{}, fmt.Errorf("directory %q has layer %q, not %q: %w", l.abs(path), existing.layer, layer, ErrLayerMismatch)
		}
		return l.contents(existing), nil
	}
	if !allowCreate {
		return DirectorySubspace{}, fmt.Errorf("directory %q: %w", l.abs(path), ErrNotExist)
	}
	return l.create(tr, path, layer, prefix)
}

// create makes the missing directory at path.
func (l *Layer) create(tr Tx, path []string, layer, prefix []byte) (DirectorySubspace, error) {
	if err := l.checkVersion(tr, tr); err != nil {
		return DirectorySubspace{}, err
	}
	prefix, err := l.choosePrefix(tr, prefix)
	if err != nil {
		return DirectorySubspace{}, fmt.Errorf("directory %q: %w", l.abs(path), err)
	}
	parent := l.root
	if len(path) > 1 {
		p, err := l.createOrOpen(tr, tr, path[:len(path)-1], nil, nil, true, true)
		if err != nil {
			return DirectorySubspace{}, err
		}
		parent = l.nodeWithPrefix(p.Bytes())
	}
	n := l.nodeWithPrefix(prefix)
	tr.Set(parent.Pack(tuple.Tuple{subdirs, path[len(path)-1]}), prefix)
	if layer == nil {
		layer = []byte{}
	}
	tr.Set(n.Pack(tuple.Tuple{layerKey}), layer)
	return l.contentsAt(prefix, path, layer), nil
}

// choosePrefix allocates a prefix, or checks a manual one.
func (l *Layer) choosePrefix(tr Tx, manual []byte) ([]byte, error) {
	if manual != nil {
		free, err := l.prefixFree(tr, manual)
		if err != nil {
			return nil, err
		}
		if !free {
			return nil, fmt.Errorf("prefix %x: %w", manual, ErrPrefixInUse)
		}
		return bytes.Clone(manual), nil
	}
	id, err := l.alloc.allocate(tr)
	if err != nil {
		return nil, err
	}
	prefix := append(l.content.Bytes(), id...)
	end, err := strinc(prefix)
	if err != nil {
		return nil, err
	}
	rows, err := tr.GetRange(prefix, end, 1, false)
	if err != nil {
		return nil, fmt.Errorf("check allocated prefix %x: %w", prefix, err)
	}
	if len(rows) > 0 {
		return nil, fmt.Errorf("prefix %x: %w", prefix, ErrPrefixNotEmpty)
	}
	free, err := l.prefixFree(tr.Snapshot(), prefix)
	if err != nil {
		return nil, err
	}
	if !free {
		return nil, fmt.Errorf("the directory layer has manually allocated prefixes that conflict with the allocator's %x: %w", prefix, ErrPrefixNotEmpty)
	}
	return prefix, nil
}

// Exists reports whether the directory at path exists; the empty path is
// the root, which always does.
func (l *Layer) Exists(tr ReadTx, path []string) (bool, error) {
	if err := checkPath(path); err != nil {
		return false, err
	}
	if err := l.checkVersion(tr, nil); err != nil {
		return false, err
	}
	n, err := l.find(tr, path)
	if err != nil || !n.exists {
		return false, err
	}
	if n.inPartition(false) {
		return l.partition(l.abs(n.path), n.prefix).Exists(tr, n.partitionSubpath())
	}
	return true, nil
}

// List returns the names of the directory's children at path (the root's
// for the empty path), sorted; ErrNotExist if it does not exist.
func (l *Layer) List(tr ReadTx, path []string) ([]string, error) {
	if err := checkPath(path); err != nil {
		return nil, err
	}
	if err := l.checkVersion(tr, nil); err != nil {
		return nil, err
	}
	n, err := l.find(tr, path)
	if err != nil {
		return nil, err
	}
	if !n.exists {
		return nil, fmt.Errorf("directory %q: list: %w", l.abs(path), ErrNotExist)
	}
	if n.inPartition(true) {
		return l.partition(l.abs(n.path), n.prefix).List(tr, n.partitionSubpath())
	}
	names, _, err := l.children(tr, n.sub)
	return names, err
}

// Remove removes the directory at path, its subdirectories and all their
// contents; ErrNotExist if it does not exist.
func (l *Layer) Remove(tr Tx, path []string) error {
	_, err := l.remove(tr, path, true)
	return err
}

// RemoveIfExists removes the directory at path as Remove does, and reports
// whether it existed.
func (l *Layer) RemoveIfExists(tr Tx, path []string) (bool, error) {
	return l.remove(tr, path, false)
}

func (l *Layer) remove(tr Tx, path []string, mustExist bool) (bool, error) {
	if err := checkPath(path); err != nil {
		return false, err
	}
	if err := l.checkVersion(tr, tr); err != nil {
		return false, err
	}
	if len(path) == 0 {
		return false, fmt.Errorf("directory: remove: %w", ErrRoot)
	}
	n, err := l.find(tr, path)
	if err != nil {
		return false, err
	}
	if !n.exists {
		if mustExist {
			return false, fmt.Errorf("directory %q: remove: %w", l.abs(path), ErrNotExist)
		}
		return false, nil
	}
	if n.inPartition(false) {
		return l.partition(l.abs(n.path), n.prefix).remove(tr, n.partitionSubpath(), mustExist)
	}
	if err := l.removeRecursive(tr, n.prefix); err != nil {
		return false, err
	}
	return true, l.removeFromParent(tr, path)
}

// removeRecursive clears the contents and the node of the directory with
// prefix, after its children's.
func (l *Layer) removeRecursive(tr Tx, prefix []byte) error {
	sub := l.nodeWithPrefix(prefix)
	names, prefixes, err := l.children(tr, sub)
	if err != nil {
		return err
	}
	for i := range names {
		if err := l.removeRecursive(tr, prefixes[i]); err != nil {
			return err
		}
	}
	end, err := strinc(prefix)
	if err != nil {
		return err
	}
	tr.ClearRange(prefix, end)
	tr.ClearRange(sub.Range())
	return nil
}

func (l *Layer) removeFromParent(tr Tx, path []string) error {
	parent, err := l.find(tr, path[:len(path)-1])
	if err != nil {
		return err
	}
	tr.Clear(parent.sub.Pack(tuple.Tuple{subdirs, path[len(path)-1]}))
	return nil
}

// Move moves the directory at oldPath to newPath, keeping its prefix and
// contents. Errors: ErrMoveIntoSubdirectory when newPath is oldPath or
// inside it, ErrNotExist for a missing source, ErrCrossPartition when the
// paths lie in different partitions, ErrDestinationExists, and
// ErrParentNotExist when newPath's parent does not exist.
func (l *Layer) Move(tr Tx, oldPath, newPath []string) (DirectorySubspace, error) {
	if err := checkPath(oldPath); err != nil {
		return DirectorySubspace{}, err
	}
	if err := checkPath(newPath); err != nil {
		return DirectorySubspace{}, err
	}
	if err := l.checkVersion(tr, tr); err != nil {
		return DirectorySubspace{}, err
	}
	if len(newPath) >= len(oldPath) && slices.Equal(oldPath, newPath[:len(oldPath)]) {
		return DirectorySubspace{}, fmt.Errorf("directory: move %q to %q: %w", l.abs(oldPath), l.abs(newPath), ErrMoveIntoSubdirectory)
	}
	oldNode, err := l.find(tr, oldPath)
	if err != nil {
		return DirectorySubspace{}, err
	}
	newNode, err := l.find(tr, newPath)
	if err != nil {
		return DirectorySubspace{}, err
	}
	if !oldNode.exists {
		return DirectorySubspace{}, fmt.Errorf("directory %q: move: %w", l.abs(oldPath), ErrNotExist)
	}
	if oldNode.inPartition(false) || newNode.inPartition(false) {
		if !oldNode.inPartition(false) || !newNode.inPartition(false) || !slices.Equal(oldNode.path, newNode.path) {
			return DirectorySubspace{}, fmt.Errorf("directory: move %q to %q: %w", l.abs(oldPath), l.abs(newPath), ErrCrossPartition)
		}
		inner := l.partition(l.abs(newNode.path), newNode.prefix)
		return inner.Move(tr, oldNode.partitionSubpath(), newNode.partitionSubpath())
	}
	if newNode.exists {
		return DirectorySubspace{}, fmt.Errorf("directory %q: move: %w", l.abs(newPath), ErrDestinationExists)
	}
	parent, err := l.find(tr, newPath[:len(newPath)-1])
	if err != nil {
		return DirectorySubspace{}, err
	}
	if !parent.exists {
		return DirectorySubspace{}, fmt.Errorf("directory %q: move: %w", l.abs(newPath), ErrParentNotExist)
	}
	tr.Set(parent.sub.Pack(tuple.Tuple{subdirs, newPath[len(newPath)-1]}), oldNode.prefix)
	if err := l.removeFromParent(tr, oldPath); err != nil {
		return DirectorySubspace{}, err
	}
	return l.contentsAt(oldNode.prefix, newPath, oldNode.layer), nil
}

// abs returns path, relative to this layer, as an absolute path.
func (l *Layer) abs(path []string) []string {
	return append(slices.Clone(l.path), path...)
}
