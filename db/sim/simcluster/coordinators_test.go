package simcluster

import (
	"testing"

	"github.com/strata-db/strata/db/sim"
)

func TestChangeCoordinatorsUnderCycle(t *testing.T) {
	seeds := []uint64{1, 2, 3}
	if testing.Short() {
		seeds = seeds[:1]
	}
	for _, seed := range seeds {
		r := sim.RunTest(CoordinatorsTest(), seed, sim.Options{Buggify: seed%2 == 1})
		t.Log(r)
		if r.Err != nil {
			t.Fatalf("%v\nrecent events:\n%v\nreproduce with: go test ./db/sim/simcluster -run TestChangeCoordinatorsUnderCycle (seed %d)", r.Err, r.Recent, seed)
		}
	}
}

func TestChangeCoordinatorsIsDeterministic(t *testing.T) {
	a := sim.RunTest(CoordinatorsTest(), 7, sim.Options{Buggify: true})
	b := sim.RunTest(CoordinatorsTest(), 7, sim.Options{Buggify: true})
	if a.TraceHash != b.TraceHash || a.Events != b.Events {
		t.Fatalf("not reproducible: %s vs %s", a, b)
	}
}
