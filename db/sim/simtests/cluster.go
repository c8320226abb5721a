package simtests

import (
	"fmt"
	"time"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/sim/simcluster"
	"github.com/strata-db/strata/db/workloads"
)

// clusterDB adapts simcluster to the workloads' view of the client.
type clusterDB struct{ *simcluster.Cluster }

func (d clusterDB) spawn(i int, name string, body func(c *flow.Ctx, db workloads.DB) error) *flow.Actor {
	return d.Spawn(i, name, func(c *flow.Ctx, db *client.Database) error { return body(c, workloads.FromClient(db)) })
}

// clusterRecoveryTest runs Cycle and Bank on a multi-process cluster while
// Attrition kills and reboots its processes, machines and zones: every
// failure of a transaction role is a recovery to a new generation.
func clusterRecoveryTest() sim.Test {
	return sim.Test{
		Name:        "cluster-recovery",
		Description: "Cycle and Bank on a 4-6 process single-replica cluster under Attrition (kill and reboot processes, machines, zones) and RandomClogging; recoveries across generations keep every invariant",
		Run: func(s *sim.Simulation) error {
			rng := s.Rand()
			servers := 4 + rng.IntN(3)
			d := clusterDB{simcluster.New(s, simcluster.Options{Servers: servers, Clients: 1 + rng.IntN(3)})}
			cycle := workloads.NewCycle("cycle/", 10+rng.IntN(40))
			bank := workloads.NewBank("bank/", 5+rng.IntN(20), 1000)
			setup := []*flow.Actor{d.spawn(0, "CycleSetup", cycle.Setup), d.spawn(0, "BankSetup", bank.Setup)}
			if err := d.WaitAll(2*time.Minute, setup...); err != nil {
				return fmt.Errorf("setup: %w", err)
			}
			stop := s.Now().Add(20 * time.Second)
			actors := []*flow.Actor{d.Clog(stop), s.Controller().Spawn("Attrition", func(c *flow.Ctx) error {
				return s.Attrition(c, stop, sim.AttritionOptions{
					Machines: s.Machines()[:servers], MeanInterval: 4 * time.Second, MaxDowntime: 3 * time.Second,
				})
			})}
			for i := range 2 + rng.IntN(4) {
				audit := i%2 == 1
				actors = append(actors, d.spawn(i, "Cycle", func(c *flow.Ctx, db workloads.DB) error {
					return cycle.Run(c, db, stop, 20*time.Millisecond)
				}))
				actors = append(actors, d.spawn(i, "Bank", func(c *flow.Ctx, db workloads.DB) error {
					return bank.Run(c, db, stop, 20*time.Millisecond, audit)
				}))
			}
			if err := d.WaitAll(5*time.Minute, actors...); err != nil {
				return err
			}
			checks := []*flow.Actor{d.spawn(0, "CycleCheck", cycle.Check), d.spawn(0, "BankCheck", bank.Check)}
			if err := d.WaitAll(2*time.Minute, checks...); err != nil {
				return err
			}
			s.Note("cycle committed=%d bank transfers=%d", cycle.Committed, bank.Transfers)
			if cycle.Committed == 0 || bank.Transfers == 0 {
				return fmt.Errorf("no transaction committed (cycle %d, bank %d)", cycle.Committed, bank.Transfers)
			}
			return nil
		},
	}
}
