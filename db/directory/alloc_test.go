package directory_test

import (
	"fmt"
	"testing"

	"github.com/strata-db/strata/db/directory"
	"github.com/strata-db/strata/db/subspace"
	"github.com/strata-db/strata/db/tuple"
)

// candidateOf returns the integer an allocated root-level prefix packs.
func candidateOf(t *testing.T, d directory.DirectorySubspace) int64 {
	t.Helper()
	tu, err := tuple.Unpack(d.Bytes())
	if err != nil || len(tu) != 1 {
		t.Fatalf("prefix %x is not a packed integer: %v", d.Bytes(), err)
	}
	c, ok := tu[0].(int64)
	if !ok {
		t.Fatalf("prefix %x holds %T", d.Bytes(), tu[0])
	}
	return c
}

// FDB's allocator moves to the next window once a window is half full
// (counting the allocation itself): 31 allocations in each 64-wide window
// from 0, 64, 128 and 192, then 1024-wide windows from 256 with 511 each.
func TestAllocatorWindows(t *testing.T) {
	db := newMemDB()
	const n = 31*4 + 600
	seen := map[int64]bool{}
	for i := range n {
		var d directory.DirectorySubspace
		if err := db.transact(func(tr directory.Tx) (err error) {
			d, err = directory.Default().Create(tr, []string{fmt.Sprint("d", i)}, nil)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		c := candidateOf(t, d)
		var lo, hi int64
		switch {
		case i < 31*4:
			lo = int64(i/31) * 64
			hi = lo + 64
		case i < 31*4+511:
			lo, hi = 256, 256+1024
		default:
			lo, hi = 1280, 1280+1024
		}
		if c < lo || c >= hi {
			t.Fatalf("allocation %d got %d, want it in window [%d, %d)", i, c, lo, hi)
		}
		if seen[c] {
			t.Fatalf("allocation %d repeated %d", i, c)
		}
		seen[c] = true
	}
	// Advancing a window clears the older windows' counters and markers.
	hca := subspace.FromBytes([]byte{0xfe}).Sub([]byte{0xfe}).Sub([]byte("hca"))
	var counters, recent int
	for _, r := range db.rows() {
		switch {
		case hca.Sub(int64(0)).Contains(r.Key):
			counters++
			if tu, _ := hca.Sub(int64(0)).Unpack(r.Key); tu[0] != int64(1280) {
				t.Errorf("counter for window %v survived", tu[0])
			}
		case hca.Sub(int64(1)).Contains(r.Key):
			recent++
			if tu, _ := hca.Sub(int64(1)).Unpack(r.Key); tu[0].(int64) < 1280 {
				t.Errorf("marker for candidate %v survived", tu[0])
			}
		}
	}
	if counters != 1 || recent != n-31*4-511 {
		t.Errorf("%d counters and %d markers, want 1 and %d", counters, recent, n-31*4-511)
	}
}

// A key stored at the prefix the allocator picks makes create fail
// rather than hand out a prefix with data in it.
func TestAllocatedPrefixWithDataIsRefused(t *testing.T) {
	db := newMemDB()
	db.pick = func(int64) int64 { return 3 }
	db.data[string(tuple.Tuple{int64(3), "stray"}.Pack())] = []byte("x")
	err := db.transact(func(tr directory.Tx) error {
		_, err := directory.Default().Create(tr, []string{"a"}, nil)
		return err
	})
	if !errorsIs(err, directory.ErrPrefixNotEmpty) {
		t.Fatalf("create over stray data: %v, want ErrPrefixNotEmpty", err)
	}
}
