package controller

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/strata-db/strata/db/clusterfile"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/server/coordinator"
	"github.com/strata-db/strata/db/sim"
)

func mustParse(t *testing.T, s string) clusterfile.ClusterFile {
	t.Helper()
	cf, err := clusterfile.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return cf
}

func TestCoordinatorsRequest(t *testing.T) {
	s := sim.New(1, sim.Options{})
	p := s.AddProcess(s.AddMachine(flow.Locality{}), 4500, func(*flow.Env) {})
	cur := mustParse(t, "d:one@10.0.0.1:4500,10.0.0.2:4500,10.0.0.3:4500")
	cc := &Controller{env: p.Env(), cfg: Config{Conn: coordinator.Conn{File: cur}}}
	for _, tc := range []struct {
		value  string
		change bool
	}{
		{"", false},
		{"  \n", false},
		{"not a connection string", false},
		{cur.String(), false},
		{"d:one@10.0.0.4:4500", false}, // same ID: not a new coordinator set
		{"d:two@10.0.0.1:4500,10.0.0.2:4500,10.0.0.4:4500", true},
		{"d:two@10.0.0.1:4500,10.0.0.2:4500,10.0.0.4:4500\n", true},
	} {
		if _, got := cc.coordinatorsRequest(tc.value); got != tc.change {
			t.Errorf("coordinatorsRequest(%q) = %v, want %v", tc.value, got, tc.change)
		}
	}
}

// changeHarness is a controller of a recovered generation on a process,
// and coordinators on two others.
type changeHarness struct {
	s      *sim.Simulation
	cc     *Controller
	from   clusterfile.ClusterFile
	to     clusterfile.ClusterFile
	errOut error
}

func newChangeHarness(t *testing.T) *changeHarness {
	s := sim.New(3, sim.Options{})
	h := &changeHarness{s: s}
	var addrs []string
	for range 2 {
		p := s.AddProcess(s.AddMachine(flow.Locality{}), 4500, func(e *flow.Env) {
			if _, err := coordinator.Start(e, coordinator.Config{BaseToken: kv.TokenCoordinatorBase}); err != nil {
				h.errOut = err
			}
		})
		addrs = append(addrs, string(p.Addr))
	}
	ctl := s.AddProcess(s.AddMachine(flow.Locality{}), 4500, func(*flow.Env) {})
	h.from = mustParse(t, "d:one@"+addrs[0])
	h.to = mustParse(t, "d:two@"+addrs[1])
	h.cc = &Controller{env: ctl.Env(), cfg: Config{Conn: coordinator.Conn{File: h.from, BaseToken: kv.TokenCoordinatorBase}},
		gen: &generation{failed: flow.NewPromise[string]()}}
	return h
}

func (h *changeHarness) run(t *testing.T, body func(c *flow.Ctx) error) {
	t.Helper()
	a := h.cc.env.Spawn("Test", body)
	h.s.Run(time.Minute, func() bool { return a.Done().IsReady() })
	if h.errOut != nil {
		t.Fatal(h.errOut)
	}
	if !a.Done().IsReady() {
		t.Fatal("still running after a minute of simulated time")
	}
	if err := a.Done().Err(); err != nil {
		t.Fatal(err)
	}
}

// A move to coordinators that do not all answer is refused before the
// coordinated state is touched, and the generation runs on.
func TestChangeCoordinatorsRefusesUnreachable(t *testing.T) {
	h := newChangeHarness(t)
	to := mustParse(t, h.to.String()+",10.0.9.9:4500")
	h.run(t, func(c *flow.Ctx) error {
		err := h.cc.changeCoordinators(c, to)
		if err == nil || !strings.Contains(err.Error(), "unreachable: 10.0.9.9:4500") {
			t.Errorf("changeCoordinators to %s: %v, want the unreachable coordinator named", to, err)
		}
		if h.cc.gen.failed.IsSet() {
			t.Error("the generation ended although the coordinators did not change")
		}
		// The old coordinators still serve the state.
		cs, err := coordinator.NewCoordinatedState(h.cc.cfg.Conn)
		if err != nil {
			return err
		}
		_, err = cs.Read(c)
		return err
	})
}

// A move ends the generation, and the old coordinators forward.
func TestChangeCoordinatorsEndsTheGeneration(t *testing.T) {
	h := newChangeHarness(t)
	h.run(t, func(c *flow.Ctx) error {
		if err := h.cc.changeCoordinators(c, h.to); err != nil {
			return err
		}
		if !h.cc.gen.failed.IsSet() {
			t.Error("the generation runs on after the coordinators changed")
		}
		cs, err := coordinator.NewCoordinatedState(h.cc.cfg.Conn)
		if err != nil {
			return err
		}
		_, err = cs.Read(c)
		var fe *coordinator.ForwardedError
		if !errors.As(err, &fe) || fe.To.String() != h.to.String() {
			t.Errorf("the old coordinators answered %v, want a forward to %s", err, h.to)
		}
		return nil
	})
}
