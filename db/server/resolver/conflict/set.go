package conflict

import (
	"encoding/binary"

	"github.com/strata-db/strata/db/kv"
)

// node is one boundary: the segment from key to the next boundary was last
// written at version. max is the largest version in the node's subtree.
// pre holds the key's first bytes so that most comparisons are decided
// without loading the key from elsewhere in memory.
type node struct {
	key         string
	pre         uint64
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
	return &node{key: key, pre: prefixOf([]byte(key)), version: v, max: v, prio: mix64(s.prio)}
}

// prefixOf returns k's first 8 bytes, big-endian and zero-padded: if
// prefixOf(a) < prefixOf(b) then a < b; equal prefixes decide nothing.
func prefixOf(k []byte) uint64 {
	if len(k) >= 8 {
		return binary.BigEndian.Uint64(k)
	}
	var buf [8]byte
	copy(buf[:], k)
	return binary.BigEndian.Uint64(buf[:])
}

// probe is a key being looked up, with its prefix computed once.
type probe struct {
	pre uint64
	key []byte
}

func newProbe(k []byte) probe { return probe{pre: prefixOf(k), key: k} }

// cmp compares t's key with p's: -1, 0 or +1.
func (t *node) cmp(p probe) int {
	switch {
	case t.pre < p.pre:
		return -1
	case t.pre > p.pre:
		return 1
	case t.key < string(p.key):
		return -1
	case t.key == string(p.key):
		return 0
	}
	return 1
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
	lo, hi := newProbe(r.Begin), newProbe(r.End)
	// The segment holding r.Begin starts at its floor, the last boundary
	// at or before it; then every boundary strictly inside r counts. Walk
	// down to the first node inside r, where the paths to lo and hi part,
	// noting floor candidates on the way.
	floor := kv.Version(0)
	t := s.root
	for t != nil {
		if t.cmp(lo) <= 0 {
			floor = t.version
			t = t.right
		} else if t.cmp(hi) >= 0 {
			t = t.left
		} else {
			break
		}
	}
	if t == nil {
		return floor > readVersion
	}
	if t.version > readVersion {
		return true
	}
	// Towards lo: each node above lo is inside r with its right subtree;
	// the last node at or below lo is the floor.
	for u := t.left; u != nil; {
		if u.cmp(lo) <= 0 {
			floor = u.version
			u = u.right
			continue
		}
		if u.version > readVersion || maxOf(u.right) > readVersion {
			return true
		}
		u = u.left
	}
	return floor > readVersion || anyAboveUntil(t.right, hi, readVersion)
}

// versionAt returns the version of the segment holding key.
func (s *Set) versionAt(key []byte) kv.Version {
	p := newProbe(key)
	v := kv.Version(0)
	for t := s.root; t != nil; {
		c := t.cmp(p)
		if c == 0 {
			return t.version
		}
		if c < 0 {
			v = t.version
			t = t.right
		} else {
			t = t.left
		}
	}
	return v
}

// anyAboveUntil reports whether a node of t with a key below hi has a
// version above v; every key of t is inside the range's start.
func anyAboveUntil(t *node, hi probe, v kv.Version) bool {
	for t != nil && t.max > v {
		if t.cmp(hi) >= 0 {
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
	b, e := newProbe(r.Begin), newProbe(r.End)
	floor, next := neighbours(s.root, b)
	if next != nil && next.cmp(e) < 0 {
		s.replaceRange(r, b, e, version)
		return
	}
	// The common case, point writes among them: no boundary inside the
	// range but perhaps one at its begin, so the segment reaching r.End is
	// floor's. Two insertions, without rebuilding the paths.
	endExists := next != nil && next.cmp(e) == 0
	endVersion := floor.version // read before floor, maybe at r.Begin, is updated
	if floor.cmp(b) == 0 || floor.version != version {
		s.root = s.upsert(s.root, b, version)
	}
	if !endExists && endVersion != version {
		s.root = s.upsert(s.root, e, endVersion)
	}
}

// neighbours returns the last boundary at or before p (the sentinel at
// worst) and the first after it (nil if none).
func neighbours(t *node, p probe) (floor, next *node) {
	for t != nil {
		if t.cmp(p) <= 0 {
			floor = t
			t = t.right
		} else {
			next = t
			t = t.left
		}
	}
	return floor, next
}

// upsert sets the version of the boundary at p, inserting it if absent.
func (s *Set) upsert(t *node, p probe, v kv.Version) *node {
	if t == nil {
		s.count++
		return s.newNode(string(p.key), v)
	}
	switch c := t.cmp(p); {
	case c == 0:
		t.version = v
	case c > 0:
		t.left = s.upsert(t.left, p, v)
		if t.left.prio > t.prio {
			return rotateRight(t)
		}
	default:
		t.right = s.upsert(t.right, p, v)
		if t.right.prio > t.prio {
			return rotateLeft(t)
		}
	}
	t.fix()
	return t
}

// rotateRight lifts t's left child above t.
func rotateRight(t *node) *node {
	l := t.left
	t.left, l.right = l.right, t
	t.fix()
	l.fix()
	return l
}

// rotateLeft lifts t's right child above t.
func rotateLeft(t *node) *node {
	r := t.right
	t.right, r.left = r.left, t
	t.fix()
	r.fix()
	return r
}

// replaceRange is AddWrite for a range holding boundaries: they are cut
// out whole (split, drop, merge) and replaced by at most two.
func (s *Set) replaceRange(r kv.KeyRange, b, e probe, version kv.Version) {
	left, rest := split(s.root, b)
	mid, right := split(rest, e)
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
func split(t *node, key probe) (lo, hi *node) {
	if t == nil {
		return nil, nil
	}
	if t.cmp(key) < 0 {
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
