package node_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/strata-db/strata/db/clusterfile"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/server/coordinator"
	"github.com/strata-db/strata/db/server/node"
	"github.com/strata-db/strata/db/server/worker"
	"github.com/strata-db/strata/db/sim"
)

// nodes runs n server processes whose cluster file names the first named
// of them, and records the cluster files they write.
type nodes struct {
	s       *sim.Simulation
	procs   []*sim.Process
	tester  *sim.Process // runs the test's actors
	file    clusterfile.ClusterFile
	started map[flow.Address]*node.Node
	written map[flow.Address][]string
	err     error
}

func startNodes(s *sim.Simulation, n, named int) *nodes {
	ns := &nodes{s: s, file: clusterfile.ClusterFile{Description: "t", ID: "one"},
		started: map[flow.Address]*node.Node{}, written: map[flow.Address][]string{}}
	for i := range n {
		p := s.AddProcess(s.AddMachine(flow.Locality{Zone: fmt.Sprintf("z%d", i)}), 4500, func(e *flow.Env) {
			e.Spawn("Node", func(c *flow.Ctx) error {
				addr := e.Address()
				nd, err := node.Start(c, node.Config{
					ClusterFile: ns.file,
					Identity:    worker.Identity{ProcessID: string(addr), Class: "unset", StorageEngine: "memory"},
					WriteClusterFile: func(_ *flow.Ctx, cf clusterfile.ClusterFile) error {
						ns.written[addr] = append(ns.written[addr], cf.String())
						return nil
					},
				})
				if err != nil {
					ns.err = err
					return err
				}
				ns.started[addr] = nd
				return nil
			})
		})
		ns.procs = append(ns.procs, p)
		if i < named {
			co, err := clusterfile.ParseCoordinator(string(p.Addr))
			if err != nil {
				panic(err)
			}
			ns.file.Coordinators = append(ns.file.Coordinators, co)
		}
	}
	ns.tester = s.AddProcess(s.AddMachine(flow.Locality{Zone: "tester"}), 4500, func(*flow.Env) {})
	return ns
}

// run runs body on the tester process until it returns.
func (ns *nodes) run(t *testing.T, limit time.Duration, body func(c *flow.Ctx) error) {
	t.Helper()
	a := ns.tester.Env().Spawn("Test", body)
	ns.s.Run(limit, func() bool { return a.Done().IsReady() || ns.err != nil })
	if ns.err != nil {
		t.Fatal(ns.err)
	}
	if !a.Done().IsReady() {
		t.Fatalf("still running after %v of simulated time", limit)
	}
	if err := a.Done().Err(); err != nil {
		t.Fatal(err)
	}
}

func conn(f clusterfile.ClusterFile) coordinator.Conn {
	return coordinator.Conn{File: f, BaseToken: kv.TokenCoordinatorBase}
}

// A process the cluster file does not name still coordinates and
// publishes the database: `coordinators` may name it.
func TestEveryNodeCoordinates(t *testing.T) {
	s := sim.New(1, sim.Options{})
	ns := startNodes(s, 3, 1)
	ns.run(t, time.Minute, func(c *flow.Ctx) error {
		if err := c.Sleep(time.Second); err != nil {
			return err
		}
		for _, p := range ns.procs {
			alone := clusterfile.ClusterFile{Description: "t", ID: "probe"}
			co, _ := clusterfile.ParseCoordinator(string(p.Addr))
			alone.Coordinators = []clusterfile.Coordinator{co}
			ok, err := coordinator.Reachable(c, conn(alone), 5*time.Second)
			if err != nil {
				return err
			}
			if !ok[0] {
				return fmt.Errorf("%s does not answer as a coordinator", p.Addr)
			}
			if nd := ns.started[p.Addr]; nd == nil || nd.Publisher == nil {
				return fmt.Errorf("%s does not publish the database", p.Addr)
			}
		}
		return nil
	})
}

// When the coordinators move, every node follows the forward, rewrites
// its cluster file once, and a controller is elected on the new ones.
func TestNodesFollowAMove(t *testing.T) {
	s := sim.New(2, sim.Options{})
	ns := startNodes(s, 4, 1)
	var to clusterfile.ClusterFile
	ns.run(t, 2*time.Minute, func(c *flow.Ctx) error {
		if err := c.Sleep(3 * time.Second); err != nil {
			return err
		}
		to = clusterfile.ClusterFile{Description: "t", ID: "two"}
		for _, p := range ns.procs[1:] {
			co, _ := clusterfile.ParseCoordinator(string(p.Addr))
			to.Coordinators = append(to.Coordinators, co)
		}
		if err := coordinator.MoveCoordinatedState(c, conn(ns.file), conn(to)); err != nil {
			return err
		}
		deadline := c.Now().Add(time.Minute)
		for {
			var waiting []string
			var leader flow.Address
			for _, p := range ns.procs {
				m := ns.started[p.Addr].Member
				switch {
				case m.Conn().File.String() != to.String():
					waiting = append(waiting, string(p.Addr)+" follows "+m.Conn().File.String())
				case m.Leader() == "":
					waiting = append(waiting, string(p.Addr)+" knows no leader")
				case leader != "" && m.Leader() != leader:
					waiting = append(waiting, string(p.Addr)+" follows another leader")
				}
				leader = m.Leader()
			}
			if len(waiting) == 0 {
				return nil
			}
			if !c.Now().Before(deadline) {
				return fmt.Errorf("nodes did not follow the move: %v", waiting)
			}
			if err := c.Sleep(500 * time.Millisecond); err != nil {
				return err
			}
		}
	})
	for _, p := range ns.procs {
		if got := ns.written[p.Addr]; len(got) != 1 || got[0] != to.String() {
			t.Errorf("%s wrote cluster files %q, want exactly [%s]", p.Addr, got, to)
		}
	}
}
