package storage

import (
	"fmt"
	"slices"
	"testing"
)

// TestKeySetMatchesSortedSlice inserts and removes random keys, enough to
// split chunks, and walks the set both ways from random points.
func TestKeySetMatchesSortedSlice(t *testing.T) {
	rng := testRand(5)
	var s keySet
	model := map[string]bool{}
	for step := range 20000 {
		k := fmt.Sprintf("k%05d", rng.IntN(3000))
		if rng.IntN(3) == 0 {
			s.remove(k)
			delete(model, k)
		} else if got, want := s.insert(k), !model[k]; got != want {
			t.Fatalf("insert(%s) reported new=%v, want %v", k, got, want)
		} else {
			model[k] = true
		}
		if step%500 != 0 {
			continue
		}
		var sorted []string
		for k := range model {
			sorted = append(sorted, k)
		}
		slices.Sort(sorted)
		if s.n != len(sorted) {
			t.Fatalf("size %d, want %d", s.n, len(sorted))
		}
		probe := fmt.Sprintf("k%05d", rng.IntN(3100))
		i, _ := slices.BinarySearch(sorted, probe)
		var fwd, back []string
		for p := s.seekGE(probe); s.valid(p); p = s.next(p) {
			fwd = append(fwd, s.at(p))
		}
		for p := s.seekLT(probe); s.valid(p); p = s.prev(p) {
			back = append(back, s.at(p))
		}
		slices.Reverse(back)
		if !slices.Equal(fwd, sorted[i:]) || !slices.Equal(back, sorted[:i]) {
			t.Fatalf("walks from %s differ from the sorted keys", probe)
		}
	}
	if len(s.chunks) < 2 {
		t.Fatalf("the test never split a chunk (%d chunks)", len(s.chunks))
	}
}
