package conflict

import (
	"github.com/strata-db/strata/db/kv"
)

// node is one boundary: the segment from key to the next boundary was last
// written at version. max is the largest version in the node's subtree.
type node struct {
	key         string
	version     kv.Version
	max         kv.Version
	prio        uint64
	left, right *node
}

// Set is a conflict set. The zero value is not usable; call [New].
type Set struct {
	root   *node
	count  int        // boundaries in the tree, the sentinel included
	prio   uint64     // state of the priority sequence
	oldest kv.Version // largest oldest version seen: older segments are mergeable
	sweep  string     // where the incremental sweep resumes (exclusive)
}

// New returns an empty set: every key last written at version 0.
func New() *Set {
	s := &Set{}
	// The sentinel at the empty key makes every key have a segment.
	s.root = s.newNode("", 0)
	s.count = 1
	return s
}

// Len returns the number of segment boundaries held, a measure of memory.
func (s *Set) Len() int { return s.count }

// OldestVersion returns the largest oldest version given to RemoveBefore or
// Resolve: reads below it are too old to check.
func (s *Set) OldestVersion() kv.Version { return s.oldest }

// newNode allocates a boundary with the next priority. Priorities come from
// a fixed sequence (splitmix64) so that the shape of the tree, and thus any
// run, is deterministic, and cannot be steered by the keys written.
func (s *Set) newNode(key string, v kv.Version) *node {
	s.prio += 0x9e3779b97f4a7c15
	return &node{key: key, version: v, max: v, prio: mix64(s.prio)}
}

// mix64 is splitmix64's finaliser: a bijection that scrambles a counter.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// CheckRead reports whether a key of r was written at a version above
// readVersion. An empty or inverted range reads nothing.
func (s *Set) CheckRead(r kv.KeyRange, readVersion kv.Version) bool {
	if r.Empty() {
		return false
	}
	// The segment holding r.Begin, then every boundary strictly inside r.
	if s.versionAt(r.Begin) > readVersion {
		return true
	}
	return anyAbove(s.root, r.Begin, r.End, readVersion)
}

// versionAt returns the version of the segment holding key.
func (s *Set) versionAt(key []byte) kv.Version {
	v := kv.Version(0)
	for t := s.root; t != nil; {
		if t.key <= string(key) {
			v = t.version
			t = t.right
		} else {
			t = t.left
		}
	}
	return v
}

// anyAbove reports whether a boundary with lo < key < hi has a version
// above v. It descends to the node where the paths to lo and hi part, then
// follows each path, looking only at subtree maxima hanging inside.
func anyAbove(t *node, lo, hi []byte, v kv.Version) bool {
	for t != nil {
		switch {
		case t.max <= v:
			return false
		case t.key <= string(lo):
			t = t.right
		case t.key >= string(hi):
			t = t.left
		default:
			return t.version > v || anyAboveFrom(t.left, lo, v) || anyAboveUntil(t.right, hi, v)
		}
	}
	return false
}

// anyAboveFrom is anyAbove for a subtree whose keys are all below hi.
func anyAboveFrom(t *node, lo []byte, v kv.Version) bool {
	for t != nil && t.max > v {
		if t.key <= string(lo) {
			t = t.right
			continue
		}
		// t and its whole right subtree lie inside the range.
		if t.version > v || maxOf(t.right) > v {
			return true
		}
		t = t.left
	}
	return false
}

// anyAboveUntil is anyAbove for a subtree whose keys are all above lo.
func anyAboveUntil(t *node, hi []byte, v kv.Version) bool {
	for t != nil && t.max > v {
		if t.key >= string(hi) {
			t = t.left
			continue
		}
		if t.version > v || maxOf(t.left) > v {
			return true
		}
		t = t.right
	}
	return false
}

// AddWrite records that every key of r was written at version. Versions
// must not decrease from one call to the next (the resolver applies batches
// in version order): the range's old boundaries are discarded, since the
// new version is at least as new as all of them. An empty range is ignored.
func (s *Set) AddWrite(r kv.KeyRange, version kv.Version) {
	if r.Empty() {
		return
	}
	left, rest := split(s.root, r.Begin)
	mid, right := split(rest, r.End)
	// The segment reaching r.End keeps the version it had before.
	endVersion := kv.Version(0)
	if last := rightmost(mid); last != nil {
		endVersion = last.version
	} else if last := rightmost(left); last != nil {
		endVersion = last.version
	}
	s.count -= size(mid)

	var repl *node
	// A boundary equal in version to the segment before it is redundant.
	if prev := rightmost(left); prev == nil || prev.version != version {
		repl = s.newNode(string(r.Begin), version)
		s.count++
	}
	if (leftmost(right) == nil || leftmost(right).key != string(r.End)) && endVersion != version {
		repl = merge(repl, s.newNode(string(r.End), endVersion))
		s.count++
	}
	s.root = merge(merge(left, repl), right)
}

// RemoveBefore forgets writes older than oldest: reads at oldest or later
// cannot conflict with them, so adjacent segments older than oldest are
// merged. It visits every boundary; [Set.Resolve] instead does a bounded
// share of this work after each batch.
func (s *Set) RemoveBefore(oldest kv.Version) {
	s.raiseOldest(oldest)
	nodes := make([]*node, 0, s.count)
	nodes = appendInOrder(nodes, s.root)
	kept := nodes[:1] // the sentinel always stays
	for _, n := range nodes[1:] {
		if n.version < s.oldest && kept[len(kept)-1].version < s.oldest {
			continue
		}
		kept = append(kept, n)
	}
	s.root = build(kept)
	s.count = len(kept)
	s.sweep = ""
}

func (s *Set) raiseOldest(oldest kv.Version) {
	if oldest > s.oldest {
		s.oldest = oldest
	}
}

// sweepSome visits up to limit boundaries after the sweep cursor, removing
// those RemoveBefore would, and wraps around at the end of the keyspace.
// Called after every batch with a limit above the boundaries the batch can
// add, it keeps the set within a constant factor of the live writes.
func (s *Set) sweepSome(limit int) {
	prev := s.versionAt([]byte(s.sweep))
	for ; limit > 0; limit-- {
		n := successor(s.root, s.sweep)
		if n == nil {
			s.sweep = ""
			return
		}
		s.sweep = n.key
		if n.version < s.oldest && prev < s.oldest {
			s.root = remove(s.root, n.key)
			s.count--
			continue // the previous segment now extends over n's
		}
		prev = n.version
	}
}

// successor returns the first boundary with a key above key, or nil.
func successor(t *node, key string) *node {
	var best *node
	for t != nil {
		if t.key > key {
			best = t
			t = t.left
		} else {
			t = t.right
		}
	}
	return best
}

func maxOf(t *node) kv.Version {
	if t == nil {
		return 0
	}
	return t.max
}

// fix recomputes t's subtree maximum from its children.
func (t *node) fix() {
	t.max = max(t.version, maxOf(t.left), maxOf(t.right))
}

// split cuts t into the boundaries below key and those at or above it.
func split(t *node, key []byte) (lo, hi *node) {
	if t == nil {
		return nil, nil
	}
	if t.key < string(key) {
		t.right, hi = split(t.right, key)
		t.fix()
		return t, hi
	}
	lo, t.left = split(t.left, key)
	t.fix()
	return lo, t
}

// merge joins two treaps whose keys are all in a before all in b.
func merge(a, b *node) *node {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case a.prio > b.prio:
		a.right = merge(a.right, b)
		a.fix()
		return a
	default:
		b.left = merge(a, b.left)
		b.fix()
		return b
	}
}

// remove deletes the boundary at key, which must be present.
func remove(t *node, key string) *node {
	if t == nil {
		return nil
	}
	switch {
	case key < t.key:
		t.left = remove(t.left, key)
	case key > t.key:
		t.right = remove(t.right, key)
	default:
		return merge(t.left, t.right)
	}
	t.fix()
	return t
}

func leftmost(t *node) *node {
	for t != nil && t.left != nil {
		t = t.left
	}
	return t
}

func rightmost(t *node) *node {
	for t != nil && t.right != nil {
		t = t.right
	}
	return t
}

// size counts the nodes of t; it is only called on subtrees being
// discarded, so each node is counted once in its life.
func size(t *node) int {
	if t == nil {
		return 0
	}
	return 1 + size(t.left) + size(t.right)
}

func appendInOrder(out []*node, t *node) []*node {
	for t != nil {
		out = appendInOrder(out, t.left)
		out = append(out, t)
		t = t.right
	}
	return out
}

// build makes a treap of nodes sorted by key, keeping their priorities, in
// linear time: the right spine is kept on a stack (Cartesian tree).
func build(nodes []*node) *node {
	var spine []*node
	for _, n := range nodes {
		n.left, n.right = nil, nil
		var last *node
		for len(spine) > 0 && spine[len(spine)-1].prio < n.prio {
			last = spine[len(spine)-1]
			spine = spine[:len(spine)-1]
			last.fix()
		}
		n.left = last
		if len(spine) > 0 {
			spine[len(spine)-1].right = n
		}
		spine = append(spine, n)
	}
	for i := len(spine) - 1; i >= 0; i-- {
		spine[i].fix()
	}
	if len(spine) == 0 {
		return nil
	}
	return spine[0]
}
