package simcluster

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/clusterfile"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/server/coordinator"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/workloads"
)

// CoordinatorsTest changes the coordinators twice under a Cycle workload:
// first `coordinators auto` after one old coordinator died (auto leaves it
// out and brings in a process that never coordinated), then an explicit
// set. Nothing may be lost, the old coordinators must forward to the new
// ones, every live process's cluster file must name the final set, and
// the dead coordinator, rebooted with its stale cluster file, must follow.
// db/sim/simtests lists it, so `strata sim --test cluster-coordinators`
// runs it and CI runs its seeds.
func CoordinatorsTest() sim.Test {
	return sim.Test{
		Name:        "cluster-coordinators",
		Description: "coordinators auto after a coordinator died, then an explicit change, under Cycle and RandomClogging",
		Run: func(s *sim.Simulation) error {
			const mode = "double"
			cl := New(s, Options{Servers: 5, Zones: 5, Coordinators: 3, Clients: 2})
			cycle := workloads.NewCycle("cycle/", 20)
			setup := cl.Spawn(0, "Setup", func(c *flow.Ctx, db *client.Database) error {
				if err := Configure(c, db, mode); err != nil {
					return err
				}
				if err := cycle.Setup(c, workloads.FromClient(db)); err != nil {
					return err
				}
				return WaitHealthy(c, db, mode, 2*time.Minute)
			})
			if err := cl.WaitAll(3*time.Minute, setup); err != nil {
				return fmt.Errorf("setup: %w", err)
			}
			original := cl.File
			victim := cl.Servers[1] // an original coordinator
			s.Kill(victim)
			stop := s.Now().Add(40 * time.Second)
			actors := []*flow.Actor{cl.Clog(stop)}
			for i := range 2 {
				actors = append(actors, cl.Spawn(i, "Cycle", func(c *flow.Ctx, db *client.Database) error {
					return cycle.Run(c, workloads.FromClient(db), stop, 20*time.Millisecond)
				}))
			}
			var first, second clusterfile.ClusterFile
			actors = append(actors, cl.Spawn(0, "ChangeCoordinators", func(c *flow.Ctx, db *client.Database) error {
				var err error
				if first, err = changeRetrying(c, db, nil, 20); err != nil {
					return fmt.Errorf("coordinators auto: %w", err)
				}
				if slices.Contains(first.Addresses(), string(victim.Addr)) {
					return fmt.Errorf("coordinators auto chose the dead %s: %s", victim.Addr, first)
				}
				if err := c.Sleep(3 * time.Second); err != nil {
					return err
				}
				next := []flow.Address{cl.Servers[2].Addr, cl.Servers[3].Addr, cl.Servers[4].Addr}
				second, err = changeRetrying(c, db, next, 20)
				return err
			}))
			if err := cl.WaitAll(5*time.Minute, actors...); err != nil {
				return err
			}
			s.Note("moved %s -> %s -> %s; cycle committed=%d", original, first, second, cycle.Committed)
			s.Restart(victim)
			check := cl.Spawn(1, "Check", func(c *flow.Ctx, db *client.Database) error {
				return checkMoved(c, cl, db, cycle, []clusterfile.ClusterFile{original, first}, second)
			})
			if err := cl.WaitAll(3*time.Minute, check); err != nil {
				return err
			}
			if cycle.Committed == 0 {
				return errors.New("no Cycle transaction committed")
			}
			return nil
		},
	}
}

// changeRetrying changes the coordinators (auto if addrs is empty),
// retrying while the new ones do not all answer (clogging, or status still
// counts the dead coordinator as reachable: the failure monitor takes a
// moment), status has no cluster section (a recovery after the kill) or
// lists too few reachable zones (a new controller before every process
// registered with it, or clogging), as an operator would.
func changeRetrying(c *flow.Ctx, db *client.Database, addrs []flow.Address, tries int) (clusterfile.ClusterFile, error) {
	for {
		cf, err := ChangeCoordinators(c, db, addrs, time.Minute)
		tries--
		retry := errors.Is(err, client.ErrCoordinatorsUnreachable) || errors.Is(err, client.ErrNoClusterStatus) ||
			errors.Is(err, client.ErrNotEnoughMachines)
		if !retry || tries == 0 {
			return cf, err
		}
		if err := c.Sleep(time.Second); err != nil {
			return cf, err
		}
	}
}

// checkMoved checks the outcome: Cycle's invariant, the cluster healthy on
// the final coordinators, each old set forwarding, and every process's
// cluster file naming the final set.
func checkMoved(c *flow.Ctx, cl *Cluster, db *client.Database, cycle *workloads.Cycle, old []clusterfile.ClusterFile, final clusterfile.ClusterFile) error {
	if err := WaitHealthy(c, db, "double", 2*time.Minute); err != nil {
		return err
	}
	if err := cycle.Check(c, workloads.FromClient(db)); err != nil {
		return err
	}
	st, err := ReadStatus(c, db)
	if err != nil {
		return err
	}
	if st.Cluster.ConnectionString != final.String() {
		return fmt.Errorf("status names %s, want %s", st.Cluster.ConnectionString, final)
	}
	for _, f := range old {
		cs, err := coordinator.NewCoordinatedState(coordinator.Conn{File: f, BaseToken: kv.TokenCoordinatorBase})
		if err != nil {
			return err
		}
		_, err = cs.Read(c)
		if !errors.Is(err, coordinator.ErrCoordinatorsChanged) {
			return fmt.Errorf("the coordinators of %s answered %v, want a forward", f, err)
		}
	}
	// The rebooted coordinator starts from its stale file and follows.
	deadline := c.Now().Add(time.Minute)
	for {
		var stale []string
		for _, p := range append(slices.Clone(cl.Servers), cl.Clients...) {
			if f := cl.FileOf(p.Addr); f.String() != final.String() {
				stale = append(stale, fmt.Sprintf("%s has %s", p.Addr, f))
			}
		}
		if len(stale) == 0 {
			return nil
		}
		if !c.Now().Before(deadline) {
			return fmt.Errorf("cluster files not rewritten to %s: %v", final, stale)
		}
		if err := c.Sleep(500 * time.Millisecond); err != nil {
			return err
		}
	}
}
