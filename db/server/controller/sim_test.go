package controller_test

import (
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/clusterfile"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/server/controller"
	"github.com/strata-db/strata/db/server/coordinator"
	"github.com/strata-db/strata/db/server/worker"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/status"
)

// seedsFlag widens the simulation tests to seeds 1..N:
//
//	go test ./db/server/controller -args -seeds=100
var seedsFlag = flag.Int("seeds", 0, "run the simulation tests with seeds 1..N instead of their fixed list")

func seeds(fixed ...uint64) []uint64 {
	if *seedsFlag <= 0 {
		return fixed
	}
	var out []uint64
	for s := 1; s <= *seedsFlag; s++ {
		out = append(out, uint64(s))
	}
	return out
}

// cluster is a simulated cluster of server processes: coordinators that
// are also members, and plain members.
type cluster struct {
	s       *sim.Simulation
	conn    coordinator.Conn
	members map[flow.Address]*controller.Member // current incarnations
	db      *worker.Single                      // the database, on the second process
	bootErr error
}

func newCluster(s *sim.Simulation, coordinators, others int) *cluster {
	cl := &cluster{s: s, members: map[flow.Address]*controller.Member{}}
	cl.conn.File = clusterfile.ClusterFile{Description: "sim", ID: "abc"}
	cl.conn.BaseToken = kv.TokenCoordinatorBase
	var procs []*sim.Process
	for i := range coordinators + others {
		class := "storage"
		if i == 0 {
			class = "stateless"
		}
		p := s.AddProcess(s.AddMachine(flow.Locality{}), 4500, func(e *flow.Env) {
			if i < coordinators {
				if _, err := coordinator.Start(e, coordinator.Config{BaseToken: kv.TokenCoordinatorBase}); err != nil {
					cl.bootErr = err
					return
				}
			}
			rep := worker.NewReporter(e, worker.Identity{ProcessID: string(e.Address()), Class: class, Release: "test", StorageEngine: "memory"})
			// Start once the cluster file is complete (actors run after
			// every process was added).
			e.Spawn("boot", func(c *flow.Ctx) error {
				m, err := controller.Start(c.Env, controller.Config{Conn: cl.conn, Class: class, Report: rep.Report})
				if err != nil {
					cl.bootErr = err
					return err
				}
				cl.members[e.Address()] = m
				if i != 1 {
					return nil
				}
				if cl.db, err = worker.StartSingle(c, worker.Config{}); err != nil {
					cl.bootErr = err
					return err
				}
				rep.SetDatabase(cl.db)
				return nil
			})
		})
		procs = append(procs, p)
	}
	for _, p := range procs[:coordinators] {
		co, err := clusterfile.ParseCoordinator(string(p.Addr))
		if err != nil {
			panic(err) // the simulator's addresses are host:port
		}
		cl.conn.File.Coordinators = append(cl.conn.File.Coordinators, co)
	}
	return cl
}

// openClient opens the database on env with the coordinators for status.
func (cl *cluster) openClient(env *flow.Env) (*client.Database, error) {
	return client.NewDatabase(env, []flow.Address{flow.Address(cl.conn.File.Coordinators[1].String())}, client.Config{
		OpenDatabaseToken: kv.TokenOpenDatabase,
		Cluster:           &client.ClusterInfo{File: cl.conn.File, Path: "sim.cluster"},
	})
}

// readStatus reads \xff\xff/status/json through the client.
func readStatus(c *flow.Ctx, db *client.Database) (*status.Status, error) {
	doc, err := db.CreateTransaction().Get(c, client.StatusJSONKey)
	if err != nil {
		return nil, err
	}
	return status.Parse(doc)
}

// controller returns the live process running the controller, if any.
func (cl *cluster) controller() (flow.Address, *controller.Controller) {
	for addr, m := range cl.members {
		if p := cl.s.Process(addr); p.Alive() && m.Controller() != nil {
			return addr, m.Controller()
		}
	}
	return "", nil
}

// status is the current controller's document (nil without one).
func (cl *cluster) status() *status.Status {
	if _, cc := cl.controller(); cc != nil {
		return cc.Status()
	}
	return nil
}

// waitFor polls cond every 100 ms for up to limit.
func waitFor(c *flow.Ctx, limit time.Duration, what string, cond func() bool) error {
	deadline := c.Now().Add(limit)
	for !cond() {
		if c.Now().After(deadline) {
			return fmt.Errorf("%s: not within %v", what, limit)
		}
		if err := c.Sleep(100 * time.Millisecond); err != nil {
			return err
		}
	}
	return nil
}

func unreachable(st *status.Status, addr flow.Address) bool {
	p, ok := st.Cluster.Processes[string(addr)]
	if !ok {
		return false
	}
	for _, m := range p.Messages {
		if m.Name == "unreachable_process" {
			return true
		}
	}
	return false
}

func listed(st *status.Status, addrs ...flow.Address) bool {
	if st == nil {
		return false
	}
	for _, a := range addrs {
		if _, ok := st.Cluster.Processes[string(a)]; !ok || unreachable(st, a) {
			return false
		}
	}
	return true
}

func TestRegistrationFailureAndFailover(t *testing.T) {
	timing := coordinator.DefaultTiming()
	electionBound := timing.NomineeTimeout + timing.PollTimeout + 3*time.Second
	for _, seed := range seeds(1, 2, 3) {
		r := sim.RunTest(sim.Test{Name: "controller", Run: func(s *sim.Simulation) error {
			cl := newCluster(s, 3, 1)
			var all []flow.Address
			for _, p := range s.Processes() {
				all = append(all, p.Addr)
			}
			done := s.Controller().Spawn("test", func(c *flow.Ctx) error {
				if err := waitFor(c, electionBound+2*time.Second, "4 processes registered", func() bool { return listed(cl.status(), all...) }); err != nil {
					return err
				}
				leader, _ := cl.controller()
				if want := all[0]; leader != want {
					return fmt.Errorf("controller on %s, want the stateless process %s", leader, want)
				}
				// Kill the plain worker: marked failed within the failure
				// timeout, and still listed.
				victim := all[3]
				s.Kill(s.Process(victim))
				bound := s.Controller().Knobs().FailureTimeout + time.Second
				if err := waitFor(c, bound, "killed worker marked unreachable", func() bool { return unreachable(cl.status(), victim) }); err != nil {
					return err
				}
				if msgs := cl.status().Cluster.Messages; len(msgs) == 0 || msgs[0].Name != "unreachable_processes" || msgs[0].UnreachableProcesses[0].Address != string(victim) {
					return fmt.Errorf("cluster messages %+v, want unreachable_processes naming %s", msgs, victim)
				}
				// Kill the controller: another process leads and the
				// survivors register with it.
				s.Kill(s.Process(leader))
				return waitFor(c, electionBound, "new controller with the survivors registered", func() bool {
					addr, _ := cl.controller()
					return addr != "" && addr != leader && listed(cl.status(), all[1], all[2])
				})
			}).Done()
			if !s.Run(time.Minute, done.IsReady) {
				return fmt.Errorf("test not done after a simulated minute")
			}
			if cl.bootErr != nil {
				return cl.bootErr
			}
			return done.Err()
		}}, seed, sim.Options{Buggify: true, KeepEvents: 30})
		t.Log(r)
		if r.Err != nil {
			t.Errorf("%s\n%v", r, r.Err)
			for _, e := range r.Recent {
				t.Log(e)
			}
		}
	}
}

func TestStatusThroughTheClient(t *testing.T) {
	for _, seed := range seeds(1, 2) {
		r := sim.RunTest(sim.Test{Name: "controller-status", Run: func(s *sim.Simulation) error {
			cl := newCluster(s, 3, 0)
			cp := s.AddProcess(s.AddMachine(flow.Locality{}), 4500, func(*flow.Env) {})
			done := cp.Env().Spawn("test", func(c *flow.Ctx) error {
				db, err := cl.openClient(c.Env)
				if err != nil {
					return err
				}
				var st *status.Status
				var readErr error
				if err := waitFor(c, 20*time.Second, "healthy status with 3 processes", func() bool {
					st, readErr = readStatus(c, db)
					return readErr == nil && st.Cluster != nil && len(st.Cluster.Processes) == 3 && st.Cluster.DatabaseAvailable
				}); err != nil {
					return fmt.Errorf("%w (last read error: %v)", err, readErr)
				}
				got := st.Cluster
				if got.RecoveryState.Name != status.RecoveryFullyRecovered || got.Data.State.Name != status.DataHealthy ||
					got.Configuration.RedundancyMode != "single" || got.Configuration.StorageEngine != "memory" || got.Generation == 0 ||
					!st.Client.DatabaseStatus.Healthy || !st.Client.Coordinators.QuorumReachable {
					return fmt.Errorf("status of a healthy cluster: recovery %q, data %q, configuration %+v, generation %d, client %+v",
						got.RecoveryState.Name, got.Data.State.Name, got.Configuration, got.Generation, st.Client)
				}
				procs := s.Processes()
				wantRoles := map[flow.Address][]string{
					procs[0].Addr: {"cluster_controller", "coordinator"},
					procs[1].Addr: {"coordinator", "master", "grv_proxy", "commit_proxy", "resolver", "log", "storage"},
					procs[2].Addr: {"coordinator"},
				}
				for addr, want := range wantRoles {
					var roles []string
					for _, r := range got.Processes[string(addr)].Roles {
						roles = append(roles, r.Role)
					}
					if diff := cmp.Diff(want, roles); diff != "" {
						return fmt.Errorf("roles of %s (-want +got):\n%s", addr, diff)
					}
				}
				// Commit a few transactions: the workload counts them.
				for i := range 20 {
					if err := db.Transact(c, func(tr *client.Transaction) error {
						tr.Set([]byte(fmt.Sprintf("k%02d", i)), []byte("v"))
						return nil
					}); err != nil {
						return err
					}
				}
				if err := waitFor(c, 5*time.Second, "20 commits counted", func() bool {
					st, err = readStatus(c, db)
					return err == nil && st.Cluster != nil && st.Cluster.Workload.Transactions.Committed.Counter >= 20
				}); err != nil {
					return err
				}
				// The only storage server stops: its data is missing.
				cl.db.Storage.Stop()
				return waitFor(c, 5*time.Second, "missing_data after the storage server stopped", func() bool {
					st, err = readStatus(c, db)
					return err == nil && st.Cluster != nil && st.Cluster.Data.State.Name == status.DataMissing && !st.Cluster.DatabaseAvailable
				})
			}).Done()
			if !s.Run(time.Minute, done.IsReady) {
				return fmt.Errorf("test not done after a simulated minute")
			}
			if cl.bootErr != nil {
				return cl.bootErr
			}
			return done.Err()
		}}, seed, sim.Options{Buggify: true, KeepEvents: 30})
		t.Log(r)
		if r.Err != nil {
			t.Errorf("%s\n%v", r, r.Err)
			for _, e := range r.Recent {
				t.Log(e)
			}
		}
	}
}

func TestStatusWithoutCoordinatorsHasOnlyTheClientSection(t *testing.T) {
	r := sim.RunTest(sim.Test{Name: "controller-no-quorum", Run: func(s *sim.Simulation) error {
		cl := newCluster(s, 3, 0)
		for _, p := range s.Processes() {
			s.Kill(p)
		}
		cp := s.AddProcess(s.AddMachine(flow.Locality{}), 4500, func(*flow.Env) {})
		done := cp.Env().Spawn("test", func(c *flow.Ctx) error {
			db, err := cl.openClient(c.Env)
			if err != nil {
				return err
			}
			st, err := readStatus(c, db)
			if err != nil {
				return err
			}
			var names []string
			for _, m := range st.Client.Messages {
				names = append(names, m.Name)
			}
			if st.Cluster != nil || st.Client.Coordinators.QuorumReachable || st.Client.DatabaseStatus.Available ||
				len(names) != 2 || names[0] != "quorum_not_reachable" || names[1] != "no_cluster_controller" {
				return fmt.Errorf("status without coordinators: cluster %v, client %+v", st.Cluster != nil, st.Client)
			}
			return nil
		}).Done()
		if !s.Run(time.Minute, done.IsReady) {
			return fmt.Errorf("test not done after a simulated minute")
		}
		return done.Err()
	}}, 1, sim.Options{KeepEvents: 30})
	if r.Err != nil {
		t.Errorf("%s\n%v", r, r.Err)
	}
}
