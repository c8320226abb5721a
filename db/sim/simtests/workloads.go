package simtests

import (
	"fmt"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/workloads"
)

// The database simulation tests: each runs a workload of db/workloads on a
// simulated single database under random clogging (and Buggify unless
// turned off), then checks its invariant.

func bankTest() sim.Test {
	return sim.Test{
		Name:        "bank",
		Description: "concurrent transfers between accounts under random clogging; every audit sees the same total",
		Run: func(s *sim.Simulation) error {
			rng := s.Rand()
			d := newDBCluster(s, 1+rng.IntN(3))
			w := workloads.NewBank("bank/", 5+rng.IntN(30), 1000)
			if err := d.WaitAll(time.Minute, d.spawn(0, "BankSetup", w.Setup)); err != nil {
				return fmt.Errorf("bank setup: %w", err)
			}
			stop := s.Now().Add(10 * time.Second)
			actors := []*flow.Actor{d.Clog(stop)}
			for i := range 2 + rng.IntN(6) {
				audit := i%3 == 2
				actors = append(actors, d.spawn(i, "Bank", func(c *flow.Ctx, db workloads.DB) error {
					return w.Run(c, db, stop, 20*time.Millisecond, audit)
				}))
			}
			if err := d.WaitAll(5*time.Minute, actors...); err != nil {
				return err
			}
			if err := d.WaitAll(time.Minute, d.spawn(0, "BankCheck", w.Check)); err != nil {
				return err
			}
			if w.Transfers == 0 {
				return fmt.Errorf("bank: no transfer committed")
			}
			return nil
		},
	}
}

func sidebandTest() sim.Test {
	return sim.Test{
		Name:        "sideband",
		Description: "causal consistency: a write announced out of band after its commit is seen by the checker's next transaction",
		Run: func(s *sim.Simulation) error {
			d := newDBCluster(s, 2)
			w := workloads.NewSideband("sideband/")
			checkerEnv := d.Clients[1].Env()
			checkerDB, err := d.db(checkerEnv)
			if err != nil {
				return err
			}
			checker := w.ServeChecker(checkerEnv, checkerDB)
			stop := s.Now().Add(10 * time.Second)
			mutator := d.spawn(0, "SidebandMutator", func(c *flow.Ctx, db workloads.DB) error {
				return w.RunMutator(c, db, d.Clients[1].Addr, stop)
			})
			if err := d.WaitAll(5*time.Minute, d.Clog(stop), mutator); err != nil {
				return err
			}
			s.Run(10*time.Second, func() bool { return w.Checked >= w.Messages || checker.Done().IsReady() })
			if checker.Done().IsReady() {
				return checker.Done().Err()
			}
			if w.Checked == 0 {
				return fmt.Errorf("sideband: nothing was checked (%d messages)", w.Messages)
			}
			return nil
		},
	}
}

func watchesTest() sim.Test {
	return sim.Test{
		Name:        "watches",
		Description: "watches fire after their key changes and never while it keeps its value",
		Run: func(s *sim.Simulation) error {
			d := newDBCluster(s, 1)
			w := workloads.NewWatches("watches/", 20)
			stop := s.Now().Add(20 * time.Second)
			run := d.spawn(0, "Watches", w.Run)
			if err := d.WaitAll(5*time.Minute, d.Clog(stop), run); err != nil {
				return err
			}
			if w.Fired != w.Rounds {
				return fmt.Errorf("watches: %d of %d fired", w.Fired, w.Rounds)
			}
			return nil
		},
	}
}

func versionStampTest() sim.Test {
	return sim.Test{
		Name:        "versionstamp",
		Description: "versionstamped keys and values hold the commit's versionstamp, which starts with the commit version and increases",
		Run: func(s *sim.Simulation) error {
			d := newDBCluster(s, 1)
			w := workloads.NewVersionStamp("vs/", 50)
			stop := s.Now().Add(10 * time.Second)
			if err := d.WaitAll(5*time.Minute, d.Clog(stop), d.spawn(0, "VersionStamp", w.Run)); err != nil {
				return err
			}
			return d.WaitAll(time.Minute, d.spawn(0, "VersionStampCheck", w.Check))
		},
	}
}

func durabilityTest() sim.Test {
	return sim.Test{
		Name: "durability",
		Description: "Cycle, Bank and acknowledged writes while the server process is killed and rebooted " +
			"(its disk keeping only what was synced); nothing acknowledged is lost and the invariants hold",
		Run: func(s *sim.Simulation) error {
			rng := s.Rand()
			d := newDBCluster(s, 2)
			cycle := workloads.NewCycle("cycle/", 20+rng.IntN(40))
			bank := workloads.NewBank("bank/", 10, 1000)
			durable := workloads.NewDurable("durable/")
			setup := d.spawn(0, "Setup", func(c *flow.Ctx, db workloads.DB) error {
				if err := cycle.Setup(c, db); err != nil {
					return err
				}
				return bank.Setup(c, db)
			})
			if err := d.WaitAll(time.Minute, setup); err != nil {
				return fmt.Errorf("setup: %w", err)
			}
			stop := s.Now().Add(20 * time.Second)
			actors := []*flow.Actor{d.Clog(stop)}
			for i := range 3 {
				actors = append(actors,
					d.spawn(i, "Cycle", func(c *flow.Ctx, db workloads.DB) error { return cycle.Run(c, db, stop, 20*time.Millisecond) }),
					d.spawn(i, "Bank", func(c *flow.Ctx, db workloads.DB) error { return bank.Run(c, db, stop, 20*time.Millisecond, false) }),
					d.spawn(i, "Durable", func(c *flow.Ctx, db workloads.DB) error { return durable.Run(c, db, stop, 20*time.Millisecond) }))
			}
			reboots := 1 + rng.IntN(3)
			actors = append(actors, s.Controller().Spawn("KillServer", func(c *flow.Ctx) error {
				for range reboots {
					if err := c.Sleep(time.Duration(2+rng.IntN(5)) * time.Second); err != nil {
						return err
					}
					s.Reboot(d.Server, time.Duration(rng.Int64N(int64(2*time.Second))))
				}
				return nil
			}))
			if err := d.WaitAll(10*time.Minute, actors...); err != nil {
				return err
			}
			check := d.spawn(0, "Check", func(c *flow.Ctx, db workloads.DB) error {
				if err := cycle.Check(c, db); err != nil {
					return err
				}
				if err := bank.Check(c, db); err != nil {
					return err
				}
				return durable.Check(c, db)
			})
			if err := d.WaitAll(2*time.Minute, check); err != nil {
				return err
			}
			s.Note("durability reboots=%d cycle=%d bank=%d durable=%d unknown=%d", reboots, cycle.Committed, bank.Transfers, durable.Acked(), durable.Unknown)
			if durable.Acked() == 0 {
				return fmt.Errorf("durability: nothing was acknowledged")
			}
			return nil
		},
	}
}

func apiCorrectnessTest() sim.Test {
	return sim.Test{
		Name:        "api-correctness",
		Description: "random gets, ranges, sets, clears, clear-ranges and atomic ops with read-your-writes on and off, compared with an in-memory model",
		Run: func(s *sim.Simulation) error {
			d := newDBCluster(s, 1)
			stop := s.Now().Add(10 * time.Second)
			var actors []*flow.Actor
			var ws []*workloads.ApiCorrectness
			for i := range 3 {
				w := workloads.NewApiCorrectness(fmt.Sprintf("api%d/", i), 60)
				ws = append(ws, w)
				actors = append(actors, d.spawn(0, "ApiCorrectness", w.Run))
			}
			if err := d.WaitAll(10*time.Minute, append(actors, d.Clog(stop))...); err != nil {
				return err
			}
			for _, w := range ws {
				if w.Reads == 0 {
					return fmt.Errorf("api correctness: no read was checked")
				}
			}
			return nil
		},
	}
}
