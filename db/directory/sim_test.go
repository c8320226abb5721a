package directory_test

import (
	"strings"
	"testing"

	"github.com/strata-db/strata/db/directory/directorytest"
	"github.com/strata-db/strata/db/sim"
)

func TestSimulatedConcurrentCreatesNeverShareAPrefix(t *testing.T) {
	seeds := 6
	if testing.Short() {
		seeds = 2
	}
	test := directorytest.ConcurrentCreates()
	for seed := uint64(1); seed <= uint64(seeds); seed++ {
		r := sim.RunTest(test, seed, sim.Options{Buggify: seed%4 != 0})
		if r.Err != nil {
			t.Errorf("seed %d: %v", seed, r.Err)
		}
		t.Logf("seed %d: %v simulated in %v, %d events", seed, r.SimTime, r.Wall, r.Events)
		for _, e := range r.Recent {
			if strings.Contains(e, " note directories") {
				t.Log(e)
			}
		}
	}
}

// The allocator draws from the simulation's seeded source through
// FromTransaction, so a seed replays exactly.
func TestSimulatedConcurrentCreatesReplay(t *testing.T) {
	test := directorytest.ConcurrentCreates()
	a := sim.RunTest(test, 7, sim.Options{Buggify: true})
	b := sim.RunTest(test, 7, sim.Options{Buggify: true})
	if a.Err != nil || b.Err != nil {
		t.Fatalf("runs failed: %v / %v", a.Err, b.Err)
	}
	if a.TraceHash != b.TraceHash || a.Events != b.Events {
		t.Errorf("seed 7 is not reproducible: %s vs %s", a, b)
	}
}
