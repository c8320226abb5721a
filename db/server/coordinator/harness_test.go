package coordinator_test

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/strata-db/strata/db/clusterfile"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/server/coordinator"
	"github.com/strata-db/strata/db/sim"
)

// coordCluster is a simulated set of coordinators, each alone on its
// machine, plus client processes on machines of their own.
type coordCluster struct {
	s       *sim.Simulation
	procs   []*sim.Process
	servers map[flow.Address]*coordinator.Coordinator // current incarnations
	bootErr error
}

// addCoordinators boots n coordinator processes.
func (cc *coordCluster) addCoordinators(n int) []*sim.Process {
	var out []*sim.Process
	for range n {
		m := cc.s.AddMachine(flow.Locality{})
		p := cc.s.AddProcess(m, 4500, func(e *flow.Env) {
			co, err := coordinator.Start(e, coordinator.Config{})
			if err != nil {
				cc.bootErr = fmt.Errorf("coordinator %s: %w", e.Address(), err)
				return
			}
			cc.servers[e.Address()] = co
		})
		out = append(out, p)
	}
	cc.procs = append(cc.procs, out...)
	return out
}

func newCoordCluster(s *sim.Simulation, n int) *coordCluster {
	cc := &coordCluster{s: s, servers: map[flow.Address]*coordinator.Coordinator{}}
	cc.addCoordinators(n)
	return cc
}

// conn returns a connection to procs under the cluster name desc:id.
func conn(desc, id string, procs []*sim.Process) coordinator.Conn {
	cf := clusterfile.ClusterFile{Description: desc, ID: id}
	for _, p := range procs {
		c, err := clusterfile.ParseCoordinator(string(p.Addr))
		if err != nil {
			panic(err) // the simulator's addresses are host:port
		}
		cf.Coordinators = append(cf.Coordinators, c)
	}
	return coordinator.Conn{File: cf}
}

// addClient boots a process that runs nothing until the test spawns on it.
func (cc *coordCluster) addClient() *sim.Process {
	return cc.s.AddProcess(cc.s.AddMachine(flow.Locality{}), 4500, func(*flow.Env) {})
}

// minorityDown allows Attrition a kill only while a majority of the
// coordinators stays up.
func (cc *coordCluster) minorityDown(down []*sim.Machine) bool {
	n := 0
	for _, p := range cc.procs {
		for _, m := range down {
			if p.Machine == m {
				n++
				break
			}
		}
	}
	return n <= (len(cc.procs)-1)/2
}

func machines(procs []*sim.Process) []*sim.Machine {
	var out []*sim.Machine
	for _, p := range procs {
		out = append(out, p.Machine)
	}
	return out
}

// seedsFlag widens every simulation test to seeds 1..N:
//
//	go test ./db/server/coordinator -args -seeds=200
var seedsFlag = flag.Int("seeds", 0, "run every simulation test with seeds 1..N instead of its fixed list")

// traceFlag names a file that receives the full trace of a failing run,
// run again with its seed.
var traceFlag = flag.String("trace", "", "write the trace of a failing simulation run to this file")

// runSeeds runs test with each seed, with Buggify's randomised knobs, and
// fails with the seed's reproduction and last events.
func runSeeds(t *testing.T, test sim.Test, seeds ...uint64) {
	t.Helper()
	if *seedsFlag > 0 {
		seeds = seeds[:0]
		for s := 1; s <= *seedsFlag; s++ {
			seeds = append(seeds, uint64(s))
		}
	}
	for _, seed := range seeds {
		r := sim.RunTest(test, seed, sim.Options{Buggify: true, KeepEvents: 30})
		if r.Err != nil {
			t.Errorf("%s\n%v\nlast events:", r, r.Err)
			writeTrace(t, test, seed)
			for _, e := range r.Recent {
				t.Log(e)
			}
			return
		}
		if *seedsFlag == 0 {
			t.Log(r)
		}
	}
}

// drive runs body as an actor on env and the simulation until body
// returns (or limit passes), and returns body's error.
func drive(s *sim.Simulation, env *flow.Env, limit time.Duration, body func(c *flow.Ctx) error) error {
	done := env.Spawn("test", body).Done()
	if !s.Run(limit, done.IsReady) {
		return fmt.Errorf("not done after %v of simulated time", limit)
	}
	return done.Err()
}

// since is the simulated time elapsed, for histories.
func since(s *sim.Simulation) time.Duration { return s.Elapsed() }

// writeTrace runs a failing seed again with its whole trace to -trace.
func writeTrace(t *testing.T, test sim.Test, seed uint64) {
	if *traceFlag == "" {
		return
	}
	var sb strings.Builder
	sim.RunTest(test, seed, sim.Options{Buggify: true, TraceOut: &sb})
	if err := os.WriteFile(*traceFlag, []byte(sb.String()), 0o644); err != nil { //lint:allow os a debugging aid for a failed seed; it writes after the run and cannot change it
		t.Log(err)
	}
}
