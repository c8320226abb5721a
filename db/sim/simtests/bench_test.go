package simtests

import (
	"testing"
	"time"

	"github.com/strata-db/strata/db/sim"
)

// BenchmarkFlowSelfTest reports the simulator's speed on the runtime
// self-test: simulated seconds per wall second and runs per minute.
func BenchmarkFlowSelfTest(b *testing.B) {
	test, err := Lookup("flow-selftest")
	if err != nil {
		b.Fatal(err)
	}
	var simTime time.Duration
	start := time.Now()
	for i := range b.N {
		r := sim.RunTest(test, uint64(i+1), sim.Options{Buggify: true})
		if r.Err != nil {
			b.Fatalf("%v (%s)", r.Err, r.ReproduceCommand())
		}
		simTime += r.SimTime
	}
	wall := time.Since(start)
	b.ReportMetric(simTime.Seconds()/wall.Seconds(), "sim-s/wall-s")
	b.ReportMetric(float64(b.N)/wall.Minutes(), "runs/min")
}
