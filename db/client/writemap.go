package client

import (
	"bytes"
	"slices"

	"github.com/strata-db/strata/db/kv"
)

// pointWrite is what a transaction has written to one key, as the reads
// of the same transaction must see it.
type pointWrite struct {
	key []byte
	// known: the value no longer depends on the database (a set or a
	// clear came first), and is value/exists.
	known  bool
	value  []byte
	exists bool
	// ops are atomic operations to apply to the database's value when the
	// value is not known.
	ops []kv.Mutation
	// unreadable: a set_versionstamped_value wrote the key; its value is
	// known only after commit.
	unreadable bool
}

// over returns the key's value given the database's value.
func (w *pointWrite) over(stored []byte, exists bool) ([]byte, bool) {
	if w.known {
		return w.value, w.exists
	}
	for _, op := range w.ops {
		stored, exists = kv.ApplyAtomic(op.Type, stored, exists, op.Param)
	}
	return stored, exists
}

// writeMap is a transaction's buffered writes, layered over the database
// by its reads: point writes (sets and atomic ops), cleared ranges, and the
// ranges that versionstamped keys may land in.
type writeMap struct {
	points     []*pointWrite // sorted by key
	clears     []kv.KeyRange // sorted, disjoint, not touching
	unreadable []kv.KeyRange // where versionstamped keys may land
}

func (m *writeMap) empty() bool {
	return len(m.points) == 0 && len(m.clears) == 0 && len(m.unreadable) == 0
}

func (m *writeMap) find(k []byte) (int, bool) {
	return slices.BinarySearchFunc(m.points, k, func(p *pointWrite, k []byte) int { return bytes.Compare(p.key, k) })
}

// point returns the write of k, or nil.
func (m *writeMap) point(k []byte) *pointWrite {
	if i, ok := m.find(k); ok {
		return m.points[i]
	}
	return nil
}

func (m *writeMap) put(w *pointWrite) {
	i, ok := m.find(w.key)
	if ok {
		m.points[i] = w
		return
	}
	m.points = slices.Insert(m.points, i, w)
}

// cleared reports whether k lies in a cleared range (and has no later
// point write, which the caller checks first).
func (m *writeMap) cleared(k []byte) bool {
	i, _ := slices.BinarySearchFunc(m.clears, k, func(r kv.KeyRange, k []byte) int {
		if bytes.Compare(r.End, k) <= 0 {
			return -1
		}
		if bytes.Compare(r.Begin, k) > 0 {
			return 1
		}
		return 0
	})
	return i < len(m.clears) && m.clears[i].Contains(k)
}

func (m *writeMap) set(k, v []byte) {
	m.put(&pointWrite{key: k, known: true, value: v, exists: true})
}

// atomic records op on k: applied at once when the value is known,
// otherwise queued until the database's value is read.
func (m *writeMap) atomic(op kv.MutationType, k, param []byte) {
	w := m.point(k)
	switch {
	case w == nil && m.cleared(k):
		w = &pointWrite{key: k, known: true}
	case w == nil:
		w = &pointWrite{key: k}
	default:
		c := *w
		c.ops = slices.Clone(w.ops)
		w = &c
	}
	if w.known {
		w.value, w.exists = kv.ApplyAtomic(op, w.value, w.exists, param)
	} else {
		w.ops = append(w.ops, kv.Mutation{Type: op, Key: k, Param: param})
	}
	m.put(w)
}

// setUnreadable records a set_versionstamped_value of k.
func (m *writeMap) setUnreadable(k []byte) {
	m.put(&pointWrite{key: k, known: true, exists: true, unreadable: true})
}

// addUnreadable records the range a versionstamped key will land in.
func (m *writeMap) addUnreadable(r kv.KeyRange) { m.unreadable = append(m.unreadable, r) }

// clearRange drops the point writes in r and records r as cleared.
func (m *writeMap) clearRange(r kv.KeyRange) {
	lo, _ := m.find(r.Begin)
	hi, _ := m.find(r.End)
	m.points = slices.Delete(m.points, lo, hi)
	out := make([]kv.KeyRange, 0, len(m.clears)+1)
	merged := kv.KeyRange{Begin: r.Begin, End: r.End}
	for _, c := range m.clears {
		switch {
		case bytes.Compare(c.End, merged.Begin) < 0 || bytes.Compare(c.Begin, merged.End) > 0:
			out = append(out, c)
		default:
			if bytes.Compare(c.Begin, merged.Begin) < 0 {
				merged.Begin = c.Begin
			}
			if bytes.Compare(c.End, merged.End) > 0 {
				merged.End = c.End
			}
		}
	}
	i, _ := slices.BinarySearchFunc(out, merged.Begin, func(c kv.KeyRange, k []byte) int { return bytes.Compare(c.Begin, k) })
	m.clears = slices.Insert(out, i, merged)
}

// pointsIn returns the point writes in r, in key order.
func (m *writeMap) pointsIn(r kv.KeyRange) []*pointWrite {
	lo, _ := m.find(r.Begin)
	hi, _ := m.find(r.End)
	return m.points[lo:hi]
}

// unreadableIn reports whether reading r would touch a value or key made
// unreadable by a versionstamped operation.
func (m *writeMap) unreadableIn(r kv.KeyRange) bool {
	for _, u := range m.unreadable {
		if u.Intersects(r) {
			return true
		}
	}
	for _, p := range m.pointsIn(r) {
		if p.unreadable {
			return true
		}
	}
	return false
}

// lookup returns how the transaction's writes decide k: by a point write,
// as cleared, or not at all (nil, false).
func (m *writeMap) lookup(k []byte) (w *pointWrite, cleared bool) {
	if w := m.point(k); w != nil {
		return w, false
	}
	return nil, m.cleared(k)
}
