package conflict

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/strata-db/strata/db/kv"
)

// model is the brute-force conflict set the Set is checked against: every
// write ever made, scanned in full on each read.
type model struct {
	writes []versionedRange
	oldest kv.Version
}

type versionedRange struct {
	r kv.KeyRange
	v kv.Version
}

func (m *model) checkRead(r kv.KeyRange, readVersion kv.Version) bool {
	for _, w := range m.writes {
		if w.v > readVersion && !r.Empty() && !w.r.Empty() && r.Intersects(w.r) {
			return true
		}
	}
	return false
}

func (m *model) addWrite(r kv.KeyRange, v kv.Version) {
	m.writes = append(m.writes, versionedRange{r, v})
}

func (m *model) resolve(batch []Txn, commitVersion, oldest kv.Version) []Result {
	m.oldest = max(m.oldest, oldest)
	out := make([]Result, len(batch))
	for i, tx := range batch {
		if tx.ReadVersion < m.oldest && len(tx.ReadRanges) > 0 {
			out[i] = Result{Outcome: TooOld}
			continue
		}
		var bad []int
		for j, r := range tx.ReadRanges {
			if m.checkRead(r, tx.ReadVersion) {
				bad = append(bad, j)
			}
		}
		if bad != nil {
			out[i] = Result{Outcome: Conflict, ConflictingReads: bad}
			continue
		}
		for _, w := range tx.WriteRanges {
			m.addWrite(w, commitVersion)
		}
		out[i] = Result{Outcome: Committed}
	}
	return out
}

// liveWrites counts the writes a read at oldest or later can still see.
func (m *model) liveWrites() int {
	n := 0
	for _, w := range m.writes {
		if w.v >= m.oldest && !w.r.Empty() {
			n++
		}
	}
	return n
}

// Keys come from a three-letter alphabet that includes \x00, so that ranges
// overlap, touch and nest often, and point ranges [k, k\x00) meet keys.
var keyGen = rapid.SliceOfN(rapid.SampledFrom([]byte{0, 'a', 'b'}), 0, 3)

var rangeGen = rapid.Custom(func(t *rapid.T) kv.KeyRange {
	switch rapid.IntRange(0, 3).Draw(t, "kind") {
	case 0:
		return kv.SingleKeyRange(keyGen.Draw(t, "key"))
	case 1:
		return kv.PrefixRange(keyGen.Draw(t, "prefix"))
	default: // anything, including empty and inverted ranges
		return kv.KeyRange{Begin: keyGen.Draw(t, "begin"), End: keyGen.Draw(t, "end")}
	}
})

func txnGen(readVersions *rapid.Generator[int64]) *rapid.Generator[Txn] {
	return rapid.Custom(func(t *rapid.T) Txn {
		return Txn{
			ReadVersion: kv.Version(readVersions.Draw(t, "readVersion")),
			ReadRanges:  rapid.SliceOfN(rangeGen, 0, 3).Draw(t, "reads"),
			WriteRanges: rapid.SliceOfN(rangeGen, 0, 3).Draw(t, "writes"),
		}
	})
}

// TestResolveMatchesModel runs random sequences of batches (thousands in
// all) through a Set and the brute-force model and compares every outcome
// and every list of conflicting reads, then probes the set with reads.
func TestResolveMatchesModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s, m := New(), &model{}
		window := kv.Version(rapid.Int64Range(2, 30).Draw(t, "window"))
		version := kv.Version(0)
		for b := range rapid.IntRange(1, 40).Draw(t, "batches") {
			prev := version
			version += kv.Version(rapid.Int64Range(1, 4).Draw(t, "step"))
			oldest := max(0, version-window)
			reads := rapid.Int64Range(int64(max(0, oldest-3)), int64(prev))
			batch := rapid.SliceOfN(txnGen(reads), 0, 8).Draw(t, "batch")
			got, want := s.Resolve(batch, version, oldest), m.resolve(batch, version, oldest)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("batch %d at version %d (oldest %d): results differ (-model +set):\n%s", b, version, oldest, diff)
			}
			probeReads(t, s, m, oldest, version)
		}
	})
}

// probeReads compares CheckRead with the model at read versions the window
// still covers.
func probeReads(t *rapid.T, s *Set, m *model, oldest, newest kv.Version) {
	for range 5 {
		r := rangeGen.Draw(t, "probe")
		rv := kv.Version(rapid.Int64Range(int64(oldest), int64(newest)).Draw(t, "probeVersion"))
		if got, want := s.CheckRead(r, rv), m.checkRead(r, rv); got != want {
			t.Fatalf("CheckRead(%v, %d) = %v, model says %v", r, rv, got, want)
		}
	}
}

// TestOperationsMatchModel drives AddWrite, CheckRead and RemoveBefore
// directly, in random interleavings, and checks the memory bound after a
// full RemoveBefore: at most two boundaries per live write, plus the
// sentinel.
func TestOperationsMatchModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s, m := New(), &model{}
		version := kv.Version(0)
		for range rapid.IntRange(1, 100).Draw(t, "ops") {
			switch rapid.IntRange(0, 4).Draw(t, "op") {
			case 0, 1:
				version += kv.Version(rapid.Int64Range(0, 2).Draw(t, "step"))
				r := rangeGen.Draw(t, "write")
				s.AddWrite(r, version)
				m.addWrite(r, version)
			case 2, 3:
				probeReads(t, s, m, m.oldest, version+1)
			case 4:
				oldest := kv.Version(rapid.Int64Range(int64(m.oldest), int64(version+1)).Draw(t, "oldest"))
				s.RemoveBefore(oldest)
				m.oldest = oldest
				if bound := 2*m.liveWrites() + 1; s.Len() > bound {
					t.Fatalf("after RemoveBefore(%d): %d boundaries for %d live writes", oldest, s.Len(), m.liveWrites())
				}
			}
			checkInvariants(t, s)
		}
	})
}

// checkInvariants checks the tree: boundaries strictly increasing from
// the sentinel, prefixes matching keys, every inner entry naming its
// child's first key and largest version, leaves all at one depth, nodes
// (but the root) at least a quarter full, and the count right.
func checkInvariants(t interface{ Fatalf(string, ...any) }, s *Set) {
	var all []entry
	s.root.each(func(e entry) { all = append(all, e) })
	if len(all) != s.count {
		t.Fatalf("count %d, tree has %d boundaries", s.count, len(all))
	}
	if len(all) == 0 || all[0].key != "" {
		t.Fatalf("no sentinel at the empty key")
	}
	for i := 1; i < len(all); i++ {
		if all[i-1].key >= all[i].key {
			t.Fatalf("keys out of order: %q then %q", all[i-1].key, all[i].key)
		}
	}
	leafDepth := -1
	var walk func(b *bnode, depth int)
	walk = func(b *bnode, depth int) {
		if b != s.root && b.n < minFill {
			t.Fatalf("node with %d entries, below %d", b.n, minFill)
		}
		for i := range b.n {
			if b.pres[i] != prefixOf([]byte(b.keys[i])) {
				t.Fatalf("prefix of %q is wrong", b.keys[i])
			}
			if b.leaf {
				continue
			}
			kid := b.kids[i]
			if b.keys[i] != kid.keys[0] || b.vers[i] != kid.maxVersion() {
				t.Fatalf("inner entry (%q, %d) for a child starting at %q with max %d", b.keys[i], b.vers[i], kid.keys[0], kid.maxVersion())
			}
			walk(kid, depth+1)
		}
		if b.leaf {
			if leafDepth >= 0 && depth != leafDepth {
				t.Fatalf("leaves at depths %d and %d", leafDepth, depth)
			}
			leafDepth = depth
		}
	}
	walk(s.root, 0)
}
