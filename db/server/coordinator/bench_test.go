package coordinator_test

import (
	"testing"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/server/coordinator"
	"github.com/strata-db/strata/db/sim"
)

// BenchmarkCoordinatedStateReadWrite measures one Read + SetExclusive of
// the coordinated state on three simulated coordinators: ns/op is the
// simulator's cost, sim-ms/op the latency the protocol costs in simulated
// network round trips and disk syncs (two read rounds, one write round, a
// durable rewrite of each register per changed generation).
func BenchmarkCoordinatedStateReadWrite(b *testing.B) {
	s := sim.New(1, sim.Options{})
	cc := newCoordCluster(s, 3)
	cn := conn("db", "abc", cc.procs)
	client := cc.addClient()
	value := make([]byte, 1000)
	b.ResetTimer()
	start := s.Elapsed()
	err := drive(s, client.Env(), time.Duration(b.N)*time.Minute, func(c *flow.Ctx) error {
		for range b.N {
			cs, err := coordinator.NewCoordinatedState(cn)
			if err != nil {
				return err
			}
			if _, err := cs.Read(c); err != nil {
				return err
			}
			if err := cs.SetExclusive(c, value); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64((s.Elapsed()-start).Microseconds())/1000/float64(b.N), "sim-ms/op")
}
