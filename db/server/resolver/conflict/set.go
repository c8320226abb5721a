package conflict

import (
	"github.com/strata-db/strata/db/kv"
)

// Set is a conflict set. The zero value is not usable; call [New].
type Set struct {
	root   *bnode
	count  int        // boundaries held, the sentinel included
	oldest kv.Version // largest oldest version seen: older segments are mergeable
	sweep  string     // where the incremental sweep resumes (exclusive)
}

// New returns an empty set: every key last written at version 0.
func New() *Set {
	// The sentinel at the empty key gives every key a segment.
	root := newLeaf()
	root.insertAt(0, 0, "", 0, nil)
	return &Set{root: root, count: 1}
}

// Len returns the number of segment boundaries held, a measure of memory.
func (s *Set) Len() int { return s.count }

// OldestVersion returns the largest oldest version given to RemoveBefore or
// Resolve: reads below it are too old to check.
func (s *Set) OldestVersion() kv.Version { return s.oldest }

// CheckRead reports whether a key of r was written at a version above
// readVersion. An empty or inverted range reads nothing.
func (s *Set) CheckRead(r kv.KeyRange, readVersion kv.Version) bool {
	if r.Empty() {
		return false
	}
	return anyAbove(s.root, newProbe(r.Begin), newProbe(r.End), readVersion)
}

// anyAbove reports whether, within b, the segment holding lo or a boundary
// in (lo, hi) has a version above v. b's first key is at or before lo.
// Children wholly inside the range are judged by their maximum; only the
// two children holding lo and hi are descended into.
func anyAbove(b *bnode, lo, hi probe, v kv.Version) bool {
	for {
		first, last := b.floor(lo), b.lastBelow(hi)
		if b.leaf {
			return anyVersionAbove(b.vers[first:last+1], v)
		}
		if anyVersionAbove(b.vers[first+1:max(first+1, last)], v) {
			return true
		}
		if last > first && b.vers[last] > v && prefixAbove(b.kids[last], hi, v) {
			return true
		}
		if b.vers[first] <= v {
			return false
		}
		b = b.kids[first]
	}
}

// prefixAbove reports whether a boundary of b below hi has a version above
// v; b's first key is below hi.
func prefixAbove(b *bnode, hi probe, v kv.Version) bool {
	for {
		last := b.lastBelow(hi)
		if b.leaf {
			return anyVersionAbove(b.vers[:last+1], v)
		}
		if anyVersionAbove(b.vers[:last], v) {
			return true
		}
		if b.vers[last] <= v {
			return false
		}
		b = b.kids[last]
	}
}

func anyVersionAbove(vs []kv.Version, v kv.Version) bool {
	for _, x := range vs {
		if x > v {
			return true
		}
	}
	return false
}

// neighbours returns the last boundary at or before p (the floor) and the
// first key after p, if any. An inner node's key is its child's first key,
// so the nearest right sibling seen on the way down holds the next key when
// p's leaf has nothing after p.
func (s *Set) neighbours(p probe) (floorKey string, floorVersion kv.Version, next string, hasNext bool) {
	b := s.root
	for {
		i := b.floor(p)
		if i+1 < b.n {
			next, hasNext = b.keys[i+1], true
		}
		if b.leaf {
			return b.keys[i], b.vers[i], next, hasNext
		}
		b = b.kids[i]
	}
}

// AddWrite records that every key of r was written at version. Versions
// must not decrease from one call to the next (the resolver applies batches
// in version order): the boundaries inside r are discarded, since the new
// version is at least as new as all of them. An empty range is ignored.
func (s *Set) AddWrite(r kv.KeyRange, version kv.Version) {
	if r.Empty() {
		return
	}
	b, e := newProbe(r.Begin), newProbe(r.End)
	floorKey, floorVersion, next, hasNext := s.neighbours(b)
	// The segment reaching r.End keeps the version it had: that of the
	// last boundary inside r, or floor's if there is none.
	endVersion, endExists := floorVersion, hasNext && next == string(r.End)
	if hasNext && next < string(r.End) {
		var endKey string
		endKey, endVersion, _, _ = s.neighbours(e)
		endExists = endKey == string(r.End)
		// Each boundary is removed at most once after being added, so
		// this costs O(log n) amortised per boundary ever written.
		for hasNext && next < string(r.End) {
			s.remove(newProbe([]byte(next)))
			_, _, next, hasNext = s.neighbours(b)
		}
	}
	// A boundary equal in version to the segment before it is redundant.
	if floorKey == string(r.Begin) || floorVersion != version {
		s.upsert(b, version)
	}
	if !endExists && endVersion != version {
		s.upsert(e, endVersion)
	}
}

// upsert sets the version of the boundary at p, inserting it if absent.
func (s *Set) upsert(p probe, v kv.Version) {
	sib := s.upsertIn(s.root, p, v)
	if sib != nil {
		old := s.root
		s.root = newInner()
		s.root.insertChild(0, old)
		s.root.insertChild(1, sib)
	}
}

// upsertIn upserts into b's subtree and returns b's new right sibling if
// b had to split. v must not be below a version it replaces, so that the
// subtree maxima on the way only ever grow.
func (s *Set) upsertIn(b *bnode, p probe, v kv.Version) *bnode {
	i := b.floor(p)
	if b.leaf {
		if b.keys[i] == string(p.key) {
			b.vers[i] = v
			return nil
		}
		b.insertAt(i+1, p.pre, string(p.key), v, nil)
		s.count++
	} else {
		kid := b.kids[i]
		if sib := s.upsertIn(kid, p, v); sib != nil {
			b.vers[i] = kid.maxVersion()
			b.insertChild(i+1, sib)
		} else {
			b.vers[i] = max(b.vers[i], v)
		}
	}
	if b.n == fanout {
		return b.split()
	}
	return nil
}

// remove deletes the boundary at p, which must be present and not the
// sentinel.
func (s *Set) remove(p probe) {
	s.removeIn(s.root, p)
	s.count--
	if !s.root.leaf && s.root.n == 1 {
		s.root = s.root.kids[0]
	}
}

func (s *Set) removeIn(b *bnode, p probe) {
	i := b.floor(p)
	if b.leaf {
		b.removeAt(i)
		return
	}
	kid := b.kids[i]
	s.removeIn(kid, p)
	if kid.n < minFill && b.n > 1 {
		b.refill(i)
		return
	}
	b.setChild(i)
}

// RemoveBefore forgets writes older than oldest: reads at oldest or later
// cannot conflict with them, so adjacent segments older than oldest are
// merged. It rebuilds the whole set; [Set.Resolve] instead does a bounded
// share of this work after each batch.
func (s *Set) RemoveBefore(oldest kv.Version) {
	s.raiseOldest(oldest)
	var kept []entry
	s.root.each(func(e entry) {
		// The sentinel (first) always stays.
		if len(kept) > 0 && e.version < s.oldest && kept[len(kept)-1].version < s.oldest {
			return
		}
		kept = append(kept, e)
	})
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
	cursor := newProbe([]byte(s.sweep))
	_, prev, _, _ := s.neighbours(cursor)
	visit := s.root.appendAfter(cursor, limit, nil)
	for _, e := range visit {
		s.sweep = e.key
		if e.version < s.oldest && prev < s.oldest {
			s.remove(probe{pre: e.pre, key: []byte(e.key)})
			continue // the previous segment now extends over this one
		}
		prev = e.version
	}
	if len(visit) < limit {
		s.sweep = ""
	}
}
