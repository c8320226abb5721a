package conflict

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/strata-db/strata/db/kv"
)

// universe is every key the large model test uses: one to four of eight
// letters, each also followed by \x00. For ranges whose ends are all in the
// universe, two ranges share a key exactly when they share one of the
// universe (the later begin is in both), so a model can keep one version
// per universe key.
func universe() [][]byte {
	var keys [][]byte
	var grow func(prefix []byte)
	grow = func(prefix []byte) {
		if len(prefix) == 4 {
			return
		}
		for _, c := range []byte("abcdefgh") {
			k := append(slices.Clone(prefix), c)
			keys = append(keys, k, append(slices.Clone(k), 0))
			grow(k)
		}
	}
	grow(nil)
	keys = append(keys, []byte{})
	slices.SortFunc(keys, bytes.Compare)
	return keys
}

// arrayModel keeps the last write version of every universe key.
type arrayModel struct {
	keys [][]byte
	vers []kv.Version
}

func (m *arrayModel) index(k []byte) int {
	i, _ := slices.BinarySearchFunc(m.keys, k, bytes.Compare)
	return i
}

func (m *arrayModel) write(r kv.KeyRange, v kv.Version) {
	for i := m.index(r.Begin); i < m.index(r.End); i++ {
		m.vers[i] = v
	}
}

func (m *arrayModel) read(r kv.KeyRange, rv kv.Version) bool {
	for i := m.index(r.Begin); i < m.index(r.End); i++ {
		if m.vers[i] > rv {
			return true
		}
	}
	return false
}

// stream is a fixed pseudo-random sequence for the test's choices.
type stream struct{ n uint64 }

func (s *stream) intN(n int) int { s.n++; return int(mix64(s.n) % uint64(n)) }

// TestLargeSetMatchesModel drives a set of several thousand boundaries —
// three tree levels, with node splits, merges and refills — through
// thousands of point and range writes, sweeps and RemoveBefore calls, and
// compares reads with a per-key model, checking the tree's invariants as
// it goes.
func TestLargeSetMatchesModel(t *testing.T) {
	keys := universe()
	for seed := range uint64(4) {
		rnd := &stream{n: seed << 32}
		m := &arrayModel{keys: keys, vers: make([]kv.Version, len(keys))}
		s := New()
		randomRange := func(maxSpan int) kv.KeyRange {
			i := rnd.intN(len(keys))
			j := min(len(keys)-1, i+rnd.intN(maxSpan))
			return kv.KeyRange{Begin: keys[i], End: keys[j]}
		}
		version := kv.Version(0)
		for op := range 8000 {
			switch k := rnd.intN(20); {
			case k < 10: // mostly small writes, sometimes wide ones
				version++
				span := 3
				if rnd.intN(200) == 0 {
					span = 400
				}
				r := randomRange(span)
				s.AddWrite(r, version)
				m.write(r, version)
			case k < 18:
				// Ranges at every scale, read mostly at recent versions, so
				// that few writes are newer and each part of the search
				// decides the answer.
				span := []int{3, 20, 200, 2000, len(keys)}[rnd.intN(5)]
				rv := max(s.OldestVersion(), version-kv.Version(rnd.intN(60)))
				if rnd.intN(4) == 0 {
					rv = s.OldestVersion() + kv.Version(rnd.intN(int(version-s.OldestVersion()+1)))
				}
				r := randomRange(span)
				if got, want := s.CheckRead(r, rv), m.read(r, rv); got != want {
					t.Fatalf("seed %d op %d: CheckRead(%v, %d) = %v, model %v", seed, op, r, rv, got, want)
				}
			case k < 19: // a batch without transactions: only the sweep runs
				s.Resolve(nil, version+1, max(s.OldestVersion(), version-3000-kv.Version(rnd.intN(100))))
			default:
				if rnd.intN(10) == 0 {
					s.RemoveBefore(max(s.OldestVersion(), version-3000-kv.Version(rnd.intN(100))))
				}
			}
			if op%200 == 0 {
				checkInvariants(t, s)
				checkEveryKey(t, s, m)
			}
		}
		checkInvariants(t, s)
		checkEveryKey(t, s, m)
		if d := depth(s.root); d < 3 {
			t.Fatalf("seed %d: tree of depth %d, too shallow to test the inner levels", seed, d)
		}
	}
}

// checkEveryKey compares the version of the segment holding each universe
// key with the model's, where either is recent enough to matter.
func checkEveryKey(t *testing.T, s *Set, m *arrayModel) {
	for i, k := range m.keys {
		_, got, _, _ := s.neighbours(newProbe(k))
		if want := m.vers[i]; got != want && max(got, want) >= s.OldestVersion() {
			t.Fatalf("key %q: set says version %d, model %d (oldest %d)", k, got, want, s.OldestVersion())
		}
	}
}

func depth(b *bnode) int {
	d := 1
	for !b.leaf {
		b = b.kids[0]
		d++
	}
	return d
}

// TestRefillBothWays checks the rarer refill paths directly: an underfull
// first child taking entries from its right neighbour, and an underfull
// later child from its left one, without losing or reordering any entry.
func TestRefillBothWays(t *testing.T) {
	leafOf := func(from, n int) *bnode {
		b := newLeaf()
		for i := range n {
			k := fmt.Sprintf("%03d", from+i)
			b.insertAt(b.n, prefixOf([]byte(k)), k, kv.Version(from+i), nil)
		}
		return b
	}
	for _, tc := range []struct {
		name       string
		sizes      []int
		underfull  int
		wantCounts []int
	}{
		{"first child from the right", []int{minFill - 1, fanout - 2}, 0, []int{(minFill - 1 + fanout - 2) / 2, (minFill - 1 + fanout - 2 + 1) / 2}},
		{"last child from the left", []int{fanout - 2, minFill - 1}, 1, []int{(minFill - 1 + fanout - 2) / 2, (minFill - 1 + fanout - 2 + 1) / 2}},
		{"merge", []int{minFill - 1, minFill + 2}, 0, []int{2*minFill + 1}},
	} {
		parent, next := newInner(), 0
		for _, n := range tc.sizes {
			parent.insertChild(parent.n, leafOf(next, n))
			next += n
		}
		parent.refill(tc.underfull)
		var got []kv.Version
		var counts []int
		for i := range parent.n {
			kid := parent.kids[i]
			counts = append(counts, kid.n)
			if parent.keys[i] != kid.keys[0] || parent.vers[i] != kid.maxVersion() {
				t.Errorf("%s: entry %d does not describe its child", tc.name, i)
			}
			got = append(got, kid.vers[:kid.n]...)
		}
		for i, v := range got {
			if v != kv.Version(i) {
				t.Fatalf("%s: entries after refill: %v", tc.name, got)
			}
		}
		if len(got) != next || !slices.Equal(counts, tc.wantCounts) {
			t.Errorf("%s: %d entries in children of %v, want %d in %v", tc.name, len(got), counts, next, tc.wantCounts)
		}
	}
}
