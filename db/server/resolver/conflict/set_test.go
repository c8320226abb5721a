package conflict

import (
	"encoding/binary"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-db/strata/db/kv"
)

func rng(b, e string) kv.KeyRange { return kv.KeyRange{Begin: []byte(b), End: []byte(e)} }
func point(k string) kv.KeyRange  { return kv.SingleKeyRange([]byte(k)) }

func TestCheckReadEdges(t *testing.T) {
	s := New()
	s.AddWrite(rng("b", "d"), 10)
	s.AddWrite(point("f"), 12)
	s.AddWrite(rng("", ""), 13)       // empty: ignored
	s.AddWrite(rng("z", "y"), 14)     // inverted: ignored
	s.AddWrite(rng("h", "j"), 15)     // then partly overwritten
	s.AddWrite(rng("i", "i\x00"), 16) // a point inside
	tests := []struct {
		name string
		r    kv.KeyRange
		rv   kv.Version
		want bool
	}{
		{"range ends where the write begins", rng("a", "b"), 0, false},
		{"range begins where the write ends", rng("d", "e"), 0, false},
		{"range overlaps the start", rng("a", "b\x00"), 9, true},
		{"range inside the write", rng("c", "c\x01"), 9, true},
		{"range covers the write", rng("", "\xff"), 11, true},
		{"read at the write's version", rng("b", "d"), 10, false},
		{"read after the write", rng("b", "d"), 11, false},
		{"point read of a written point", point("f"), 11, true},
		{"point read next to a written point", point("f\x00"), 0, false},
		{"key just before a point", rng("e", "f"), 0, false},
		{"empty read range", rng("c", "c"), 0, false},
		{"inverted read range", rng("d", "b"), 0, false},
		{"empty writes left no trace", rng("x", "zz"), 0, false},
		{"older part of an overwritten range", rng("h", "i"), 15, false},
		{"newer point inside it", rng("h", "j"), 15, true},
		{"after the point the range version resumes", rng("i\x00", "j"), 14, true},
		{"after the point, read at its version", rng("i\x00", "j"), 15, false},
		{"the empty key", point(""), 0, false},
	}
	for _, tt := range tests {
		if got := s.CheckRead(tt.r, tt.rv); got != tt.want {
			t.Errorf("%s: CheckRead(%v, %d) = %v, want %v", tt.name, tt.r, tt.rv, got, tt.want)
		}
	}
}

func TestWriteOfWholeKeyspace(t *testing.T) {
	s := New()
	s.AddWrite(point("m"), 5)
	s.AddWrite(rng("", "\xff\xff"), 7)
	if !s.CheckRead(point(""), 6) || !s.CheckRead(point("\xff\xfe"), 6) {
		t.Fatal("a write of the whole keyspace is not seen at its ends")
	}
	if s.CheckRead(point("\xff\xff"), 0) {
		t.Fatal("the write is seen past its end")
	}
	if s.Len() != 2 {
		t.Fatalf("covered boundaries were kept: %d boundaries, want 2", s.Len())
	}
}

func TestResolveWithinBatch(t *testing.T) {
	s := New()
	s.AddWrite(point("old"), 50)
	batch := []Txn{
		0: {ReadVersion: 60, ReadRanges: []kv.KeyRange{point("x")}, WriteRanges: []kv.KeyRange{point("x"), point("y")}},
		1: {ReadVersion: 60, ReadRanges: []kv.KeyRange{point("a"), point("y"), rng("w", "z")}},
		2: {ReadVersion: 40, ReadRanges: []kv.KeyRange{point("old")}, WriteRanges: []kv.KeyRange{point("q")}},
		3: {ReadVersion: 60, ReadRanges: []kv.KeyRange{point("q")}},         // 2 conflicted: q unwritten
		4: {ReadVersion: 10, ReadRanges: []kv.KeyRange{point("a")}},         // below the window
		5: {ReadVersion: 10, WriteRanges: []kv.KeyRange{point("blind")}},    // reads nothing: never too old
		6: {ReadVersion: 60, ReadRanges: []kv.KeyRange{point("blind")}},     // sees 5's write
		7: {ReadVersion: 60, ReadRanges: []kv.KeyRange{rng("c", "c")}},      // empty read: no conflict
		8: {ReadVersion: 30, ReadRanges: []kv.KeyRange{}, WriteRanges: nil}, // does nothing, commits
	}
	got := s.Resolve(batch, 100, 30)
	want := []Result{
		{Outcome: Committed},
		{Outcome: Conflict, ConflictingReads: []int{1, 2}},
		{Outcome: Conflict, ConflictingReads: []int{0}},
		{Outcome: Committed},
		{Outcome: TooOld},
		{Outcome: Committed},
		{Outcome: Conflict, ConflictingReads: []int{0}},
		{Outcome: Committed},
		{Outcome: Committed},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("results differ (-want +got):\n%s", diff)
	}
	// The next batch sees the committed writes at version 100.
	next := s.Resolve([]Txn{{ReadVersion: 99, ReadRanges: []kv.KeyRange{point("y")}}}, 101, 30)
	if next[0].Outcome != Conflict {
		t.Fatalf("write of batch 100 not seen by a read at 99: %v", next[0])
	}
}

func TestOldestVersionNeverMovesBack(t *testing.T) {
	s := New()
	s.Resolve(nil, 100, 50)
	got := s.Resolve([]Txn{{ReadVersion: 40, ReadRanges: []kv.KeyRange{point("a")}}}, 101, 10)
	if got[0].Outcome != TooOld || s.OldestVersion() != 50 {
		t.Fatalf("oldest version moved back: outcome %v, oldest %d", got[0].Outcome, s.OldestVersion())
	}
}

func TestRemoveBeforeMergesOldSegments(t *testing.T) {
	s := New()
	for i := range 100 {
		s.AddWrite(point(string(rune('A'+i%50))+"k"), kv.Version(i+1))
	}
	s.AddWrite(rng("zz", "zzz"), 200)
	s.RemoveBefore(150)
	// Only the recent write remains: the sentinel, its begin and its end.
	if s.Len() != 3 {
		t.Fatalf("%d boundaries after forgetting old writes, want 3", s.Len())
	}
	if !s.CheckRead(rng("", "\xff"), 150) || s.CheckRead(rng("", "zz"), 150) {
		t.Fatal("RemoveBefore changed what reads in the window see")
	}
	checkInvariants(t, s)
}

// TestSweepBoundsMemory runs a steady stream of batches of point writes to
// fresh keys and checks that the incremental sweep of Resolve keeps the set
// within a small factor of what the window's writes need.
func TestSweepBoundsMemory(t *testing.T) {
	const (
		window    = 50 // batches
		perBatch  = 20 // point writes
		batches   = 2000
		allowance = 3 // boundaries per live boundary
	)
	s := New()
	key := 0
	for b := 1; b <= batches; b++ {
		batch := make([]Txn, perBatch)
		for i := range batch {
			key++
			batch[i] = Txn{ReadVersion: kv.Version(b - 1), WriteRanges: []kv.KeyRange{kv.SingleKeyRange(benchKey(key))}}
		}
		s.Resolve(batch, kv.Version(b), kv.Version(max(0, b-window)))
		live := 2*window*perBatch + 1
		if s.Len() > allowance*live {
			t.Fatalf("batch %d: %d boundaries, more than %d times the %d live ones", b, s.Len(), allowance, live)
		}
	}
	checkInvariants(t, s)
}

// mix64 is splitmix64's finaliser: a bijection that scrambles a counter.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// benchKey returns the i-th key of a fixed pseudo-random sequence of
// distinct 8-byte keys.
func benchKey(i int) []byte {
	return binary.BigEndian.AppendUint64(nil, mix64(uint64(i)))
}
