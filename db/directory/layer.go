package directory

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/strata-db/strata/db/subspace"
	"github.com/strata-db/strata/db/tuple"
)

// Keys and values of FoundationDB's layout (directory_impl.py).
var (
	// subdirs is the tuple element under a node that holds its children:
	// node + pack((0, name)) -> the child's prefix.
	subdirs = int64(0)
	// layerKey, versionKey and hcaKey are byte-string tuple elements.
	layerKey   = []byte("layer")
	versionKey = []byte("version")
	hcaKey     = []byte("hca")
	// partitionLayer marks a directory as a partition.
	partitionLayer = []byte("partition")
)

// Version is the directory layer format this package reads and writes:
// stored as three little-endian uint32s (major, minor, patch) under the
// root node's "version" key.
var Version = [3]uint32{1, 0, 0}

// DefaultNodePrefix is FoundationDB's node subspace prefix for the root
// directory layer.
const DefaultNodePrefix = 0xFE

// Layer is a directory layer: a tree of named directories, each owning a
// short key prefix that the layer allocates, with the tree's metadata kept
// in a node subspace. Default() is FoundationDB's default layer; a Layer is
// an immutable value, safe to share between goroutines.
type Layer struct {
	nodes, content subspace.Subspace
	root           subspace.Subspace
	alloc          allocator
	// path is where the layer sits: empty for a root layer, the
	// partition's path for a partition's.
	path         []string
	manualPrefix bool
}

// Default returns FoundationDB's default directory layer: nodes under the
// prefix 0xFE, directory contents anywhere else, no manual prefixes.
func Default() *Layer {
	return New(subspace.FromBytes([]byte{DefaultNodePrefix}), subspace.Subspace{}, false)
}

// New returns a directory layer keeping its metadata in nodes and
// allocating directory prefixes under content. allowManualPrefixes lets
// CreatePrefix choose a directory's prefix.
func New(nodes, content subspace.Subspace, allowManualPrefixes bool) *Layer {
	root := nodes.Sub(nodes.Bytes())
	return &Layer{nodes: nodes, content: content, root: root, alloc: newAllocator(root.Sub(hcaKey)), manualPrefix: allowManualPrefixes}
}

// partitionLayer returns the layer inside the partition at path with
// prefix: its nodes under prefix+0xFE, its contents under prefix.
func (l *Layer) partition(path []string, prefix []byte) *Layer {
	nodes := append(bytes.Clone(prefix), DefaultNodePrefix)
	inner := New(subspace.FromBytes(nodes), subspace.FromBytes(prefix), false)
	inner.path = slices.Clone(path)
	return inner
}

// checkVersion reads the layer's version; writing (tr non-nil) stores it
// if absent and refuses a version with a newer minor number.
func (l *Layer) checkVersion(rtr ReadTx, tr Tx) error {
	key := l.root.Pack(tuple.Tuple{versionKey})
	v, err := rtr.Get(key)
	if err != nil {
		return fmt.Errorf("directory: read version: %w", err)
	}
	if v == nil {
		if tr != nil {
			tr.Set(key, encodeVersion(Version))
		}
		return nil
	}
	if len(v) != 12 {
		return fmt.Errorf("directory: version value %x is not 12 bytes: %w", v, ErrVersion)
	}
	got := [3]uint32{binary.LittleEndian.Uint32(v), binary.LittleEndian.Uint32(v[4:]), binary.LittleEndian.Uint32(v[8:])}
	if got[0] > Version[0] {
		return fmt.Errorf("directory: cannot load directory with version %d.%d.%d using directory layer %d.%d.%d: %w",
			got[0], got[1], got[2], Version[0], Version[1], Version[2], ErrVersion)
	}
	if got[1] > Version[1] && tr != nil {
		return fmt.Errorf("directory: directory with version %d.%d.%d is read-only when opened using directory layer %d.%d.%d: %w",
			got[0], got[1], got[2], Version[0], Version[1], Version[2], ErrVersion)
	}
	return nil
}

func encodeVersion(v [3]uint32) []byte {
	b := make([]byte, 0, 12)
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, x)
	}
	return b
}

// node is a directory's metadata found by walking a path: the node
// subspace (nodes + pack((prefix,))) of the directory at path, or a
// missing one. target is the whole path the walk was asked for; a walk
// stops early at a partition, whose own layer resolves the rest.
type node struct {
	exists bool
	prefix []byte
	sub    subspace.Subspace
	path   []string
	target []string
	layer  []byte
}

func (l *Layer) nodeWithPrefix(prefix []byte) subspace.Subspace {
	return l.nodes.Sub(prefix)
}

// find walks path from the root node through the child links, reading
// each node's layer.
func (l *Layer) find(tr ReadTx, path []string) (node, error) {
	n := node{exists: true, sub: l.root, prefix: l.nodes.Bytes(), target: path}
	for i, name := range path {
		prefix, err := tr.Get(n.sub.Pack(tuple.Tuple{subdirs, name}))
		if err != nil {
			return node{}, fmt.Errorf("directory: read child %q of %q: %w", name, path[:i], err)
		}
		n = node{exists: prefix != nil, prefix: prefix, path: path[:i+1], target: path}
		if !n.exists {
			return n, nil
		}
		n.sub = l.nodeWithPrefix(prefix)
		if n.layer, err = tr.Get(n.sub.Pack(tuple.Tuple{layerKey})); err != nil {
			return node{}, fmt.Errorf("directory: read layer of %q: %w", n.path, err)
		}
		if bytes.Equal(n.layer, partitionLayer) {
			return n, nil
		}
	}
	return n, nil
}

// inPartition reports whether the walk stopped at a partition with more
// of the path left to resolve inside it (or, with includeEmpty, at the
// partition itself).
func (n node) inPartition(includeEmpty bool) bool {
	return n.exists && bytes.Equal(n.layer, partitionLayer) && (includeEmpty || len(n.target) > len(n.path))
}

func (n node) partitionSubpath() []string { return n.target[len(n.path):] }

// contents returns the directory n describes, found by walking path.
func (l *Layer) contents(n node) DirectorySubspace {
	return l.contentsAt(n.prefix, n.path, n.layer)
}

func (l *Layer) contentsAt(prefix []byte, path []string, layer []byte) DirectorySubspace {
	full := append(slices.Clone(l.path), path...)
	d := DirectorySubspace{Subspace: subspace.FromBytes(prefix), path: full, layer: bytes.Clone(layer), dl: l}
	if bytes.Equal(layer, partitionLayer) {
		d.parent = l
		d.dl = l.partition(full, prefix)
	}
	return d
}

// subdirs lists the child links of the node subspace n: names and
// prefixes, in name order.
func (l *Layer) children(tr ReadTx, n subspace.Subspace) ([]string, [][]byte, error) {
	sd := n.Sub(subdirs)
	begin, end := sd.Range()
	rows, err := tr.GetRange(begin, end, 0, false)
	if err != nil {
		return nil, nil, fmt.Errorf("directory: list children: %w", err)
	}
	names := make([]string, 0, len(rows))
	prefixes := make([][]byte, 0, len(rows))
	for _, r := range rows {
		t, err := sd.Unpack(r.Key)
		if err != nil {
			return nil, nil, fmt.Errorf("directory: child link: %w", err)
		}
		name, ok := "", len(t) == 1
		if ok {
			name, ok = t[0].(string)
		}
		if !ok {
			return nil, nil, fmt.Errorf("directory: child link %x does not name a directory", r.Key)
		}
		names = append(names, name)
		prefixes = append(prefixes, r.Value)
	}
	return names, prefixes, nil
}

// nodeContainingKey returns the node of the directory whose prefix is a
// prefix of key (the root node for keys in the node subspace), if any.
func (l *Layer) nodeContainingKey(tr ReadTx, key []byte) (bool, error) {
	if bytes.HasPrefix(key, l.nodes.Bytes()) {
		return true, nil
	}
	begin, _ := l.nodes.Range()
	end := append(l.nodes.Pack(tuple.Tuple{key}), 0x00)
	rows, err := tr.GetRange(begin, end, 1, true)
	if err != nil {
		return false, fmt.Errorf("directory: find node containing %x: %w", key, err)
	}
	if len(rows) == 0 {
		return false, nil
	}
	t, err := l.nodes.Unpack(rows[0].Key)
	if err != nil {
		return false, fmt.Errorf("directory: node key: %w", err)
	}
	var prev []byte
	ok := len(t) > 0
	if ok {
		prev, ok = t[0].([]byte)
	}
	if !ok {
		return false, fmt.Errorf("directory: node key %x does not start with a prefix", rows[0].Key)
	}
	return bytes.HasPrefix(key, prev), nil
}

// prefixFree reports whether prefix neither lies in nor contains another
// directory's prefix (or the node subspace).
func (l *Layer) prefixFree(tr ReadTx, prefix []byte) (bool, error) {
	if len(prefix) == 0 {
		return false, nil
	}
	if taken, err := l.nodeContainingKey(tr, prefix); err != nil || taken {
		return false, err
	}
	end, err := strinc(prefix)
	if err != nil {
		return false, err
	}
	rows, err := tr.GetRange(l.nodes.Pack(tuple.Tuple{prefix}), l.nodes.Pack(tuple.Tuple{end}), 1, false)
	if err != nil {
		return false, fmt.Errorf("directory: find nodes under %x: %w", prefix, err)
	}
	return len(rows) == 0, nil
}

// strinc returns the first key after every key starting with prefix.
func strinc(prefix []byte) ([]byte, error) {
	// Not bytes.TrimRight: its cutset is UTF-8, and "\xff" would trim
	// every invalid UTF-8 byte.
	n := len(prefix)
	for n > 0 && prefix[n-1] == 0xff {
		n--
	}
	if n == 0 {
		return nil, fmt.Errorf("directory: prefix %x has no successor: %w", prefix, ErrPrefixInUse)
	}
	out := bytes.Clone(prefix[:n])
	out[n-1]++
	return out, nil
}

func checkPath(path []string) error {
	for _, name := range path {
		if !utf8.ValidString(name) {
			return fmt.Errorf("directory: path element %q is not UTF-8: %w", name, ErrInvalidPath)
		}
	}
	return nil
}
