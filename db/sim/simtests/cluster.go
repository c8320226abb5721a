package simtests

import (
	"fmt"
	"slices"
	"time"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/sim/simcluster"
	"github.com/strata-db/strata/db/workloads"
)

// clusterDB adapts simcluster to the workloads' view of the client.
type clusterDB struct{ *simcluster.Cluster }

func (d clusterDB) spawn(i int, name string, body func(c *flow.Ctx, db workloads.DB) error) *flow.Actor {
	return d.Spawn(i, name, func(c *flow.Ctx, db *client.Database) error { return body(c, workloads.FromClient(db)) })
}

// setup configures the database in mode, sets up cycle and bank, runs
// more (if any) and waits until the cluster is healthy.
func (d clusterDB) setup(mode string, cycle *workloads.Cycle, bank *workloads.Bank, more func(c *flow.Ctx, db *client.Database) error) error {
	a := d.Spawn(0, "Configure", func(c *flow.Ctx, db *client.Database) error {
		if err := simcluster.Configure(c, db, mode); err != nil {
			return err
		}
		if err := cycle.Setup(c, workloads.FromClient(db)); err != nil {
			return err
		}
		if err := bank.Setup(c, workloads.FromClient(db)); err != nil {
			return err
		}
		if more != nil {
			if err := more(c, db); err != nil {
				return err
			}
		}
		return simcluster.WaitHealthy(c, db, mode, 2*time.Minute)
	})
	if err := d.WaitAll(3*time.Minute, a); err != nil {
		return fmt.Errorf("setup (%s): %w", mode, err)
	}
	return nil
}

// zoneAttrition kills and reboots the first servers machines until stop,
// never more than one zone down at a time: within every mode's fault
// tolerance.
func zoneAttrition(s *sim.Simulation, servers int, stop time.Time) *flow.Actor {
	return s.Controller().Spawn("Attrition", func(c *flow.Ctx) error {
		return s.Attrition(c, stop, sim.AttritionOptions{
			Machines: s.Machines()[:servers], MeanInterval: 4 * time.Second, MaxDowntime: 3 * time.Second, Allowed: atMostOneZone,
		})
	})
}

// atMostOneZone allows a set of down machines within one zone.
func atMostOneZone(down []*sim.Machine) bool {
	z := map[string]bool{}
	for _, m := range down {
		z[m.Locality.Zone] = true
	}
	return len(z) <= 1
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

// clusterReplicationTest configures double or triple on a cluster of
// servers spread over zones, waits for data distribution to replicate, and
// runs Cycle and Bank while Attrition kills and reboots processes,
// machines and whole zones — one zone at most at a time, within the
// modes' fault tolerance. Afterwards every replica of every shard must be
// identical.
func clusterReplicationTest() sim.Test {
	return sim.Test{
		Name:        "cluster-replication",
		Description: "double or triple on 4-7 servers in 3-4 zones: Cycle and Bank under Attrition of one zone at a time and RandomClogging, then a consistency check of every replica",
		Run: func(s *sim.Simulation) error {
			rng := s.Rand()
			mode := []string{"double", "triple"}[rng.IntN(2)]
			zones := 3 + rng.IntN(2)
			servers := zones + rng.IntN(4)
			d := clusterDB{simcluster.New(s, simcluster.Options{Servers: servers, Zones: zones, Clients: 1 + rng.IntN(3)})}
			cycle := workloads.NewCycle("cycle/", 10+rng.IntN(40))
			bank := workloads.NewBank("bank/", 5+rng.IntN(20), 1000)
			if err := d.setup(mode, cycle, bank, nil); err != nil {
				return err
			}
			// A server whose zone has another is excluded now, or lost
			// for good after the chaos.
			var lost *sim.Process
			if servers > zones {
				victim := d.Servers[zones+rng.IntN(servers-zones)]
				if rng.IntN(2) == 0 {
					lost = victim
				} else {
					// Its data must move off it, and it must end with no
					// storage role.
					ex := d.Spawn(0, "Exclude", func(c *flow.Ctx, db *client.Database) error {
						return simcluster.Exclude(c, db, string(victim.Addr), mode, 2*time.Minute)
					})
					if err := d.WaitAll(3*time.Minute, ex); err != nil {
						return fmt.Errorf("excluding %s (%s): %w", victim.Addr, mode, err)
					}
					s.Note("excluded %s", victim.Addr)
				}
			}
			stop := s.Now().Add(20 * time.Second)
			actors := []*flow.Actor{d.Clog(stop), zoneAttrition(s, servers, stop)}
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
			check := d.Spawn(0, "Check", func(c *flow.Ctx, db *client.Database) error {
				if err := cycle.Check(c, workloads.FromClient(db)); err != nil {
					return err
				}
				if err := bank.Check(c, workloads.FromClient(db)); err != nil {
					return err
				}
				if err := simcluster.WaitHealthy(c, db, mode, 2*time.Minute); err != nil {
					return err
				}
				if err := simcluster.CheckReplicas(c, db); err != nil {
					return err
				}
				return simcluster.WaitLogsPopped(c, db, time.Minute)
			})
			if err := d.WaitAll(3*time.Minute, check); err != nil {
				return fmt.Errorf("%s: %w", mode, err)
			}
			if lost != nil {
				if err := loseServer(s, d, lost, mode); err != nil {
					return fmt.Errorf("%s: after losing %s for good: %w", mode, lost.Addr, err)
				}
			}
			s.Note("%s: cycle committed=%d bank transfers=%d", mode, cycle.Committed, bank.Transfers)
			if cycle.Committed == 0 || bank.Transfers == 0 {
				return fmt.Errorf("no transaction committed (cycle %d, bank %d)", cycle.Committed, bank.Transfers)
			}
			return nil
		},
	}
}

// loseServer kills a server's machine for good: data distribution must
// re-replicate what its storage server held and then retire it, so that
// every log reclaims its queue again, and the data must stay intact.
func loseServer(s *sim.Simulation, d clusterDB, lost *sim.Process, mode string) error {
	s.KillMachine(lost.Machine)
	s.Note("lost %s for good", lost.Addr)
	check := d.Spawn(0, "CheckAfterLoss", func(c *flow.Ctx, db *client.Database) error {
		if err := waitUnnamed(c, db, lost.Addr, 2*time.Minute); err != nil {
			return err
		}
		if err := simcluster.WaitHealthy(c, db, mode, 2*time.Minute); err != nil {
			return err
		}
		// Long enough for a tag nobody pops to show in the logs' lag.
		if err := c.Sleep(2 * simcluster.MaxPoppedLag); err != nil {
			return err
		}
		if err := simcluster.WaitLogsPopped(c, db, 2*time.Minute); err != nil {
			return err
		}
		return simcluster.CheckReplicas(c, db)
	})
	return d.WaitAll(5*time.Minute, check)
}

// waitUnnamed waits until no shard's team includes a storage server at
// addr: data distribution has noticed the loss and healed around it.
func waitUnnamed(c *flow.Ctx, db *client.Database, addr flow.Address, limit time.Duration) error {
	return simcluster.Poll(c, limit, "shards off "+string(addr), func(c *flow.Ctx) (bool, string) {
		shards, err := db.ShardMap(c)
		if err != nil {
			return false, err.Error()
		}
		for _, sh := range shards {
			if slices.Contains(sh.Servers, string(addr)) {
				return false, fmt.Sprintf("shard %s still on %v", kv.Printable(sh.Range.Begin), sh.Servers)
			}
		}
		return true, ""
	})
}
