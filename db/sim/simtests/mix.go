package simtests

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/sim/simcluster"
	"github.com/strata-db/strata/db/status"
	"github.com/strata-db/strata/db/workloads"
)

// clusterMixTest is issue #5's mix: Cycle, Bank and ApiCorrectness, each
// under its own key prefix, on a double or triple cluster while Attrition
// kills and reboots processes, machines and one zone at a time (within
// the modes' fault tolerance), RandomClogging clogs links and swizzles,
// and Rollback forces recoveries that roll storage servers back. Then
// every invariant, every replica and the teams are checked.
func clusterMixTest() sim.Test {
	return sim.Test{
		Name: "cluster-mix",
		Description: "double or triple: Cycle, Bank and ApiCorrectness under Attrition (one zone at a time), " +
			"RandomClogging with swizzle and Rollback; then replicas identical, nothing moving, teams per policy, status healthy",
		Run: runClusterMix,
	}
}

// mixChaos is how long faults are injected; workloads run until then.
const mixChaos = 20 * time.Second

func runClusterMix(s *sim.Simulation) error {
	rng := s.Rand()
	mode := []string{"double", "triple"}[rng.IntN(2)]
	zones := 3 + rng.IntN(2)
	servers := zones + rng.IntN(4)
	d := clusterDB{simcluster.New(s, simcluster.Options{Servers: servers, Zones: zones, Clients: 2 + rng.IntN(2)})}
	cycle := workloads.NewCycle("cycle/", 10+rng.IntN(40))
	bank := workloads.NewBank("bank/", 5+rng.IntN(20), 1000)
	var apis []*workloads.ApiCorrectness
	for i := range 1 + rng.IntN(3) {
		apis = append(apis, workloads.NewApiCorrectness(fmt.Sprintf("api%d/", i), 20+rng.IntN(40)))
	}
	// Several commit proxies and resolvers share the proxies' state (shard
	// map, lock) through the resolvers; the counts take effect at the
	// first recovery the faults cause.
	proxies, resolvers := 1+rng.IntN(2), 1+rng.IntN(2)
	s.Note("cluster-mix %s servers=%d zones=%d api=%d commit_proxies=%d resolvers=%d", mode, servers, zones, len(apis), proxies, resolvers)
	if err := d.setup(mode, cycle, bank, func(c *flow.Ctx, db *client.Database) error {
		return configureRoles(c, db, proxies, resolvers)
	}); err != nil {
		return err
	}
	stop := s.Now().Add(mixChaos)
	actors := append(mixFaults(s, d, servers, stop), mixWorkloads(d, cycle, bank, apis, stop)...)
	if err := d.WaitAll(10*time.Minute, actors...); err != nil {
		return fmt.Errorf("%s: %w", mode, err)
	}
	check := d.Spawn(0, "Check", func(c *flow.Ctx, db *client.Database) error {
		if err := mixCheck(c, d, db, mode, cycle, bank); err != nil {
			return err
		}
		return checkRoleCounts(c, db, proxies, resolvers)
	})
	if err := d.WaitAll(5*time.Minute, check); err != nil {
		return fmt.Errorf("%s: %w", mode, err)
	}
	reads := 0
	for _, w := range apis {
		reads += w.Reads
	}
	s.Note("%s: cycle committed=%d bank transfers=%d api reads=%d", mode, cycle.Committed, bank.Transfers, reads)
	if cycle.Committed == 0 || bank.Transfers == 0 || reads == 0 {
		return fmt.Errorf("%s: a workload did nothing (cycle %d, bank %d, api reads %d)", mode, cycle.Committed, bank.Transfers, reads)
	}
	return nil
}

// mixFaults starts the fault injectors until stop: RandomClogging among
// every process, one swizzle of the servers at a random moment, Attrition
// of one zone at a time, and Rollback.
func mixFaults(s *sim.Simulation, d clusterDB, servers int, stop time.Time) []*flow.Actor {
	rng := s.Rand()
	swizzleAt := time.Duration(rng.Int64N(int64(mixChaos / 2)))
	clogFor := 2*s.Knobs().FailureTimeout + time.Duration(2+rng.IntN(5))*time.Second
	return []*flow.Actor{
		d.Clog(stop),
		s.Controller().Spawn("Swizzle", func(c *flow.Ctx) error {
			if err := c.Sleep(swizzleAt); err != nil {
				return err
			}
			return s.Swizzle(c, d.ServerAddrs(), time.Second)
		}),
		zoneAttrition(s, servers, stop),
		d.Spawn(0, "Rollback", func(c *flow.Ctx, db *client.Database) error {
			return s.Rollback(c, stop, sim.RollbackOptions{
				Locate:       func(c *flow.Ctx) (flow.Address, []flow.Address, error) { return simcluster.ProxyAndLogs(c, db) },
				MeanInterval: 2 * time.Second,
				ClogDuration: clogFor,
			})
		}),
	}
}

// mixWorkloads starts Cycle and Bank on every client until stop and each
// ApiCorrectness on a client of its own turn, each under its own prefix.
func mixWorkloads(d clusterDB, cycle *workloads.Cycle, bank *workloads.Bank, apis []*workloads.ApiCorrectness, stop time.Time) []*flow.Actor {
	var actors []*flow.Actor
	for i := range len(d.Clients) + 1 {
		audit := i%2 == 1
		actors = append(actors,
			d.spawn(i, "Cycle", func(c *flow.Ctx, db workloads.DB) error { return cycle.Run(c, db, stop, 20*time.Millisecond) }),
			d.spawn(i, "Bank", func(c *flow.Ctx, db workloads.DB) error {
				return bank.Run(c, db, stop, 20*time.Millisecond, audit)
			}))
	}
	for i, w := range apis {
		actors = append(actors, d.spawn(i+1, "ApiCorrectness", w.Run))
	}
	return actors
}

// mixCheck is the consistency check after the faults: the workloads'
// invariants, status healthy (fully replicated, nothing moving, the
// database available), every replica of every shard identical, every
// log's queue reclaimable up to its storage servers' durability, and
// every team as the mode's policy requires, no storage server serving a
// range outside its teams, and a lock that every commit proxy obeys.
func mixCheck(c *flow.Ctx, d clusterDB, db *client.Database, mode string, cycle *workloads.Cycle, bank *workloads.Bank) error {
	// Replicas first: a difference between them explains a broken
	// invariant better than the invariant does.
	if err := simcluster.WaitHealthy(c, db, mode, 2*time.Minute); err != nil {
		return err
	}
	if err := simcluster.CheckReplicas(c, db); err != nil {
		return err
	}
	if err := simcluster.WaitLogsPopped(c, db, time.Minute); err != nil {
		return err
	}
	if err := d.CheckTeams(c, db, mode); err != nil {
		return err
	}
	if err := checkLock(c, d, db); err != nil {
		return err
	}
	if err := cycle.Check(c, workloads.FromClient(db)); err != nil {
		return err
	}
	return bank.Check(c, workloads.FromClient(db))
}

// configureRoles sets the numbers of commit proxies and resolvers, as
// `configure commit_proxies=N resolvers=M` does.
func configureRoles(c *flow.Ctx, db *client.Database, proxies, resolvers int) error {
	return db.Transact(c, func(tr *client.Transaction) error {
		tr.Options().SetAccessSystemKeys()
		tr.Options().SetLockAware()
		tr.Set(kv.ConfKey(kv.ConfCommitProxies), []byte(strconv.Itoa(proxies)))
		tr.Set(kv.ConfKey(kv.ConfResolvers), []byte(strconv.Itoa(resolvers)))
		return nil
	})
}

// lockChecks is how many plain commits checkLock tries while locked: the
// client spreads them over the commit proxies.
const lockChecks = 8

// checkLock locks the database and checks that no plain transaction
// commits through any commit proxy, before and after a recovery (the lock
// outlives its generation); then unlocks it and checks, after another
// recovery, that plain transactions commit again.
func checkLock(c *flow.Ctx, d clusterDB, db *client.Database) error {
	setLock := func(locked bool) error {
		return db.Transact(c, func(tr *client.Transaction) error {
			tr.Options().SetAccessSystemKeys()
			tr.Options().SetLockAware()
			if locked {
				tr.Set(kv.DBLockedKey, []byte("mix-lock-check"))
			} else {
				tr.Clear(kv.DBLockedKey)
			}
			return nil
		})
	}
	// refused commits plain transactions until lockChecks of them got
	// database_locked; any that commits fails the check. Other errors
	// (a recovery in progress: the rebooted process coming back ends a
	// generation too) are retried.
	refused := func(when string) error {
		for i, tries := 0, 0; i < lockChecks; tries++ {
			if tries > 20*lockChecks {
				return fmt.Errorf("no plain commit got database_locked (%s) in %d tries", when, tries)
			}
			tr := db.CreateTransaction()
			tr.Set([]byte("lock-check/"), []byte{byte(i)})
			err := tr.Commit(c)
			switch {
			case err == nil:
				return fmt.Errorf("a plain commit while the database is locked (%s) committed", when)
			case errors.Is(err, kv.ErrDatabaseLocked):
				i++
			default:
				if err := c.Sleep(100 * time.Millisecond); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := setLock(true); err != nil {
		return fmt.Errorf("locking: %w", err)
	}
	if err := refused("just locked"); err != nil {
		return err
	}
	if err := d.recover(c, db); err != nil {
		return err
	}
	if err := refused("after a recovery"); err != nil {
		return err
	}
	if err := setLock(false); err != nil {
		return fmt.Errorf("unlocking: %w", err)
	}
	if err := d.recover(c, db); err != nil {
		return err
	}
	return db.Transact(c, func(tr *client.Transaction) error {
		tr.Set([]byte("lock-check/"), []byte("unlocked"))
		return nil
	})
}

// recover reboots the sequencer's process and waits until a later
// generation is fully recovered.
func (d clusterDB) recover(c *flow.Ctx, db *client.Database) error {
	st, err := simcluster.ReadStatus(c, db)
	if err != nil {
		return err
	}
	was := st.Cluster.Generation
	for addr, p := range st.Cluster.Processes {
		if slices.ContainsFunc(p.Roles, func(r status.Role) bool { return r.Role == status.RoleMaster }) {
			if proc := d.Sim.Process(flow.Address(addr)); proc != nil {
				d.Sim.Reboot(proc, time.Second)
			}
		}
	}
	deadline := c.Now().Add(time.Minute)
	for c.Now().Before(deadline) {
		if err := c.Sleep(200 * time.Millisecond); err != nil {
			return err
		}
		st, err := simcluster.ReadStatus(c, db)
		if err == nil && st.Cluster.Generation > was && st.Cluster.RecoveryState.Name == status.RecoveryFullyRecovered {
			return nil
		}
	}
	return fmt.Errorf("no recovery after generation %d within a minute", was)
}

// checkRoleCounts checks that the running generation has the configured
// numbers of commit proxies and resolvers (the faults caused recoveries,
// and the configuration change itself ends a generation). A controller
// elected after the faults stopped has no generation until it recovers, so
// the check waits for a fully recovered one.
func checkRoleCounts(c *flow.Ctx, db *client.Database, proxies, resolvers int) error {
	deadline := c.Now().Add(time.Minute)
	for {
		st, err := simcluster.ReadStatus(c, db)
		if err != nil {
			return err
		}
		if st.Cluster.RecoveryState.Name == status.RecoveryFullyRecovered {
			if got := st.Cluster.Configuration; got.CommitProxies != proxies || got.Resolvers != resolvers {
				return fmt.Errorf("the generation has %d commit proxies and %d resolvers, configured %d and %d",
					got.CommitProxies, got.Resolvers, proxies, resolvers)
			}
			return nil
		}
		if !c.Now().Before(deadline) {
			return fmt.Errorf("no fully recovered generation within a minute (recovery state %q)", st.Cluster.RecoveryState.Name)
		}
		if err := c.Sleep(200 * time.Millisecond); err != nil {
			return err
		}
	}
}
