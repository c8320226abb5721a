package simtests

import (
	"fmt"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/workloads"
)

func flowSelfTest() sim.Test {
	return sim.Test{
		Name: "flow-selftest",
		Description: "runtime self-test: client actors send quorum requests with timeouts and retries to echo " +
			"servers while links clog, partitions form and swizzle, and processes, machines and zones die and reboot; " +
			"checks every request is answered or fails and none is delivered twice",
		Run: runFlowSelfTest,
	}
}

// Phases of the self-test, in virtual time.
const (
	selfTestChaos = 30 * time.Second  // faults are injected for this long
	selfTestLimit = 300 * time.Second // every client must be done by then
)

func runFlowSelfTest(s *sim.Simulation) error {
	rng := s.Rand()
	nServers := 3 + rng.IntN(5)
	nClients := 2 + rng.IntN(3)
	actorsPerClient := 1 + rng.IntN(4)

	var serverMachines []*sim.Machine
	var servers []flow.Address
	zones := 2 + rng.IntN(nServers-1)
	for i := range nServers {
		m := s.AddMachine(flow.Locality{Zone: fmt.Sprintf("z%d", i%zones), DataHall: fmt.Sprintf("h%d", i%2), DC: "dc1"})
		serverMachines = append(serverMachines, m)
	}
	ops := 20 + rng.IntN(60)
	w := workloads.NewSelfTest(workloads.SelfTestConfig{
		Operations:    ops,
		MeanThinkTime: selfTestChaos / time.Duration(ops),
		Timeout:       time.Duration(200+rng.IntN(800)) * time.Millisecond,
		MaxAttempts:   3 + rng.IntN(5),
	})
	for _, m := range serverMachines {
		p := s.AddProcess(m, 4500, func(e *flow.Env) { w.BootServer(e) })
		servers = append(servers, p.Addr)
	}
	w.SetServers(servers)

	var clients []*flow.Actor
	var targets []flow.Address
	targets = append(targets, servers...)
	for i := range nClients {
		m := s.AddMachine(flow.Locality{Zone: fmt.Sprintf("client%d", i), DC: "dc1"})
		p := s.AddProcess(m, 4500, func(e *flow.Env) {
			for j := range actorsPerClient {
				clients = append(clients, e.Spawn(fmt.Sprintf("SelfTestClient%d", j), w.RunClient))
			}
		})
		targets = append(targets, p.Addr)
	}
	s.Note("flow-selftest servers=%d zones=%d clients=%d actors=%d", nServers, zones, nClients, actorsPerClient)

	stop := s.Now().Add(selfTestChaos)
	ctl := s.Controller()
	clog := ctl.Spawn("RandomClogging", func(c *flow.Ctx) error {
		return s.RandomClogging(c, stop, sim.ClogOptions{Targets: targets, MeanInterval: time.Second, MaxClog: 2 * time.Second})
	})
	attr := ctl.Spawn("Attrition", func(c *flow.Ctx) error {
		return s.Attrition(c, stop, sim.AttritionOptions{Machines: serverMachines, MeanInterval: 2 * time.Second, MaxDowntime: 3 * time.Second})
	})

	allDone := func() bool {
		for _, a := range clients {
			if !a.Done().IsReady() {
				return false
			}
		}
		return clog.Done().IsReady() && attr.Done().IsReady()
	}
	s.Run(selfTestLimit, allDone)

	// Quiesce: heal everything and give the failure monitor time to resolve
	// every request still in flight.
	for _, p := range s.Processes() {
		s.UnclogProcess(p.Addr)
		s.Restart(p)
	}
	s.Run(2*s.Knobs().FailureTimeout+2*time.Second, nil)

	for _, a := range clients {
		if !a.Done().IsReady() {
			return fmt.Errorf("flow-selftest: a client was still running after %v: %s", selfTestLimit, w.Summary())
		}
		if err := a.Done().Err(); err != nil {
			return fmt.Errorf("flow-selftest: client failed: %w", err)
		}
	}
	if err := w.Check(); err != nil {
		return fmt.Errorf("%w (%s)", err, w.Summary())
	}
	s.Note("flow-selftest %s", w.Summary())
	return nil
}
