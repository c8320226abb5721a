package simtests

import (
	"fmt"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/workloads"
)

func cycleTest() sim.Test {
	return sim.Test{
		Name:        "cycle",
		Description: "FoundationDB's Cycle workload on a single database under random clogging and Buggify; checks the cycle invariant",
		Run: func(s *sim.Simulation) error {
			rng := s.Rand()
			d := newDBCluster(s, 1+rng.IntN(3))
			w := workloads.NewCycle("cycle/", 10+rng.IntN(90))
			setup := d.spawn(0, "CycleSetup", w.Setup)
			if err := d.WaitAll(time.Minute, setup); err != nil {
				return fmt.Errorf("cycle setup: %w", err)
			}
			stop := s.Now().Add(10 * time.Second)
			actors := []*flow.Actor{d.Clog(stop)}
			for i := range 2 + rng.IntN(6) {
				actors = append(actors, d.spawn(i, "Cycle", func(c *flow.Ctx, db workloads.DB) error {
					return w.Run(c, db, stop, 20*time.Millisecond)
				}))
			}
			if err := d.WaitAll(5*time.Minute, actors...); err != nil {
				return err
			}
			check := d.spawn(0, "CycleCheck", w.Check)
			if err := d.WaitAll(time.Minute, check); err != nil {
				return err
			}
			s.Note("cycle committed=%d retries=%d", w.Committed, w.Retries)
			if w.Committed == 0 {
				return fmt.Errorf("cycle: no transaction committed")
			}
			return nil
		},
	}
}
