package coordinator_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/server/coordinator"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/wire"
)

func TestSecondReaderLocksOutFirstWriter(t *testing.T) {
	runSeeds(t, sim.Test{Name: "cstate-conflict", Run: func(s *sim.Simulation) error {
		cc := newCoordCluster(s, 3)
		cn := conn("db", "abc", cc.procs)
		client := cc.addClient()
		return drive(s, client.Env(), time.Minute, func(c *flow.Ctx) error {
			a, _ := coordinator.NewCoordinatedState(cn)
			b, _ := coordinator.NewCoordinatedState(cn)
			if err := a.SetExclusive(c, []byte("x")); err == nil {
				return errors.New("SetExclusive before Read succeeded")
			}
			if v, err := a.Read(c); err != nil || v != nil {
				return fmt.Errorf("first read of a new cluster: %q, %v; want nothing", v, err)
			}
			if _, err := b.Read(c); err != nil {
				return err
			}
			if err := a.SetExclusive(c, []byte("from a")); !errors.Is(err, coordinator.ErrCoordinatedStateConflict) {
				return fmt.Errorf("write of the overtaken reader: %v, want coordinated_state_conflict", err)
			}
			if err := b.SetExclusive(c, []byte("from b")); err != nil {
				return fmt.Errorf("write of the latest reader: %w", err)
			}
			if err := b.SetExclusive(c, []byte("again")); err == nil {
				return errors.New("second SetExclusive on one CoordinatedState succeeded")
			}
			r, _ := coordinator.NewCoordinatedState(cn)
			if v, err := r.Read(c); err != nil || string(v) != "from b" {
				return fmt.Errorf("read after b's write: %q, %v", v, err)
			}
			return cc.bootErr
		})
	}}, 1, 2, 3)
}

func TestStateSurvivesRebootOfEveryCoordinator(t *testing.T) {
	runSeeds(t, sim.Test{Name: "cstate-durable", Run: func(s *sim.Simulation) error {
		cc := newCoordCluster(s, 3)
		cn := conn("db", "abc", cc.procs)
		client := cc.addClient()
		return drive(s, client.Env(), time.Minute, func(c *flow.Ctx) error {
			for i, want := range []string{"one", "two"} {
				w, _ := coordinator.NewCoordinatedState(cn)
				if _, err := w.Read(c); err != nil {
					return err
				}
				if err := w.SetExclusive(c, []byte(want)); err != nil {
					return err
				}
				// Every coordinator dies at once: only synced state survives.
				for _, p := range cc.procs {
					s.Reboot(p, time.Duration(i+1)*100*time.Millisecond)
				}
				r, _ := coordinator.NewCoordinatedState(cn)
				v, err := r.Read(c)
				if err != nil || string(v) != want {
					return fmt.Errorf("after rebooting every coordinator read %q, %v; want %q", v, err, want)
				}
			}
			return cc.bootErr
		})
	}}, 1, 2, 3, 4)
}

// A read's promise (no write below its generation) must outlive a restart
// of every coordinator, or an overtaken writer would succeed after it.
func TestReadGenerationSurvivesRebootOfEveryCoordinator(t *testing.T) {
	runSeeds(t, sim.Test{Name: "cstate-readgen-durable", Run: func(s *sim.Simulation) error {
		cc := newCoordCluster(s, 3)
		cn := conn("db", "abc", cc.procs)
		client := cc.addClient()
		return drive(s, client.Env(), time.Minute, func(c *flow.Ctx) error {
			a, _ := coordinator.NewCoordinatedState(cn)
			b, _ := coordinator.NewCoordinatedState(cn)
			if _, err := a.Read(c); err != nil {
				return err
			}
			if _, err := b.Read(c); err != nil {
				return err
			}
			for _, p := range cc.procs {
				s.Reboot(p, 100*time.Millisecond)
			}
			if err := a.SetExclusive(c, []byte("a")); !errors.Is(err, coordinator.ErrCoordinatedStateConflict) {
				return fmt.Errorf("overtaken writer after a reboot of every coordinator: %v, want coordinated_state_conflict", err)
			}
			if err := b.SetExclusive(c, []byte("b")); err != nil {
				return err
			}
			return cc.bootErr
		})
	}}, 1, 2, 3)
}

func TestDamagedStateFileStopsTheCoordinator(t *testing.T) {
	s := sim.New(1, sim.Options{})
	var startErr error
	m := s.AddMachine(flow.Locality{})
	s.AddProcess(m, 4500, func(e *flow.Env) {
		f, err := e.Files().Open(coordinator.DefaultStateFile, true)
		if err == nil {
			_, err = f.WriteAt([]byte("SCS1 this is not a state file"), 0)
		}
		if err != nil {
			t.Fatal(err)
		}
		_, startErr = coordinator.Start(e, coordinator.Config{})
	})
	if startErr == nil {
		t.Fatal("a coordinator started on a damaged state file")
	}
}

func TestTimingThatBreaksLeasesIsRefused(t *testing.T) {
	cn := conn("db", "abc", nil)
	cn.File.Coordinators = nil
	if _, err := coordinator.NewCoordinatedState(cn); err == nil {
		t.Fatal("a connection without coordinators was accepted")
	}
	s := sim.New(1, sim.Options{})
	cc := newCoordCluster(s, 1)
	cn = conn("db", "abc", cc.procs)
	cn.Timing = coordinator.Timing{Lease: 5 * time.Second, NomineeTimeout: 3 * time.Second}
	if _, err := coordinator.NewLeaderElection(cn); err == nil {
		t.Fatal("a lease longer than the coordinators' nomination was accepted")
	}
	if _, err := coordinator.Start(cc.procs[0].Env(), coordinator.Config{BaseToken: 300, Timing: cn.Timing}); err == nil {
		t.Fatal("a coordinator accepted a lease longer than its nomination")
	}
}

// registerHistory is what the clients of the linearizability test did.
type registerHistory struct {
	parent map[string]string // every value written, to the value it replaced
	acked  map[string]time.Duration
	reads  []observedRead
}

type observedRead struct {
	start time.Duration
	value string
}

// depth is how many writes lead from the empty state to v (memoised).
func (h *registerHistory) depth(v string, memo map[string]int) int {
	if v == "" {
		return 0
	}
	if d, ok := memo[v]; ok {
		return d
	}
	d := h.depth(h.parent[v], memo) + 1
	memo[v] = d
	return d
}

// ancestor reports whether a is b or was replaced on b's way back to the
// empty state.
func (h *registerHistory) ancestor(a, b string, memo map[string]int) bool {
	da, db := h.depth(a, memo), h.depth(b, memo)
	for ; db > da; db-- {
		b = h.parent[b]
	}
	return a == b
}

// check verifies the model: acknowledged writes form one chain (no two
// writes that replaced the same state were both acknowledged), and a read
// that started after a write was acknowledged returns that write or one
// made after it.
func (h *registerHistory) check() error {
	memo := map[string]int{}
	var acked []string
	for v := range h.acked {
		acked = append(acked, v)
	}
	slices.SortFunc(acked, func(a, b string) int { return h.depth(a, memo) - h.depth(b, memo) })
	for i := 1; i < len(acked); i++ {
		if !h.ancestor(acked[i-1], acked[i], memo) {
			return fmt.Errorf("acknowledged writes %q (replacing %q) and %q (replacing %q) conflict: neither follows the other",
				acked[i-1], h.parent[acked[i-1]], acked[i], h.parent[acked[i]])
		}
	}
	// The acknowledged writes are one chain, so the deepest one
	// acknowledged before a read started stands for all of them.
	byAck := slices.Clone(acked)
	slices.SortFunc(byAck, func(a, b string) int { return int(h.acked[a] - h.acked[b]) })
	deepest := make([]string, len(byAck))
	for i, w := range byAck {
		deepest[i] = w
		if i > 0 && h.depth(deepest[i-1], memo) > h.depth(w, memo) {
			deepest[i] = deepest[i-1]
		}
	}
	for _, r := range h.reads {
		if _, ok := h.parent[r.value]; r.value != "" && !ok {
			return fmt.Errorf("read %q, which nobody wrote", r.value)
		}
		n, _ := slices.BinarySearchFunc(byAck, r.start, func(w string, t time.Duration) int { return int(h.acked[w] - t) })
		if n == 0 {
			continue
		}
		if w := deepest[n-1]; !h.ancestor(w, r.value, memo) {
			return fmt.Errorf("a read started at %v returned %q, older than %q acknowledged at %v", r.start, r.value, w, h.acked[w])
		}
	}
	return nil
}

func TestRegistersLinearizableUnderClogAndReboots(t *testing.T) {
	var stats string
	defer func() { t.Log(stats) }()
	runSeeds(t, sim.Test{Name: "cstate-linearizable", Run: func(s *sim.Simulation) error {
		cc := newCoordCluster(s, 3)
		cn := conn("db", "abc", cc.procs)
		h := &registerHistory{parent: map[string]string{}, acked: map[string]time.Duration{}}
		const clients, stopAt = 3, 40 * time.Second
		var done []flow.Future[struct{}]
		addrs := slices.Clone(cn.File.Addresses())
		conflicts := 0
		for i := range clients {
			p := cc.addClient()
			addrs = append(addrs, string(p.Addr))
			done = append(done, p.Env().Spawn("client", func(c *flow.Ctx) error {
				for seq := 0; since(s) < stopAt; seq++ {
					cs, err := coordinator.NewCoordinatedState(cn)
					if err != nil {
						return err
					}
					start := since(s)
					v, err := cs.Read(c)
					if err != nil {
						if !errors.Is(err, coordinator.ErrCoordinatedStateConflict) {
							return fmt.Errorf("read: %w", err)
						}
						conflicts++
						continue
					}
					h.reads = append(h.reads, observedRead{start: start, value: string(v)})
					val := fmt.Sprintf("c%d-%d", i, seq)
					h.parent[val] = string(v)
					switch err := cs.SetExclusive(c, []byte(val)); {
					case err == nil:
						h.acked[val] = since(s)
					case errors.Is(err, coordinator.ErrCoordinatedStateConflict):
						conflicts++
					default:
						return fmt.Errorf("write: %w", err)
					}
					if err := c.Sleep(time.Duration(c.Rand().Int64N(int64(50 * time.Millisecond)))); err != nil {
						return err
					}
				}
				return nil
			}).Done())
		}
		var flowAddrs []flow.Address
		for _, a := range addrs {
			flowAddrs = append(flowAddrs, flow.Address(a))
		}
		stop := s.Now().Add(stopAt)
		s.Controller().Spawn("clog", func(c *flow.Ctx) error {
			return s.RandomClogging(c, stop, sim.ClogOptions{Targets: flowAddrs, MeanInterval: 300 * time.Millisecond, MaxClog: time.Second})
		})
		s.Controller().Spawn("attrition", func(c *flow.Ctx) error {
			return s.Attrition(c, stop, sim.AttritionOptions{Machines: machines(cc.procs), MeanInterval: 2 * time.Second, MaxDowntime: 3 * time.Second, Allowed: cc.minorityDown})
		})
		allDone := func() bool {
			for _, d := range done {
				if !d.IsReady() {
					return false
				}
			}
			return true
		}
		if !s.Run(3*stopAt, allDone) {
			return errors.New("clients did not finish")
		}
		for _, d := range done {
			if err := d.Err(); err != nil {
				return err
			}
		}
		if cc.bootErr != nil {
			return cc.bootErr
		}
		if len(h.acked) < 20 {
			return fmt.Errorf("only %d writes acknowledged (%d conflicts): no progress", len(h.acked), conflicts)
		}
		stats = fmt.Sprintf("acked %d writes, %d reads, %d conflicts", len(h.acked), len(h.reads), conflicts)
		s.Note("%s", stats)
		return h.check()
	}}, 1, 2, 3, 4, 5)
}

func TestRequestForAnInvalidClusterKeyIsRefused(t *testing.T) {
	runSeeds(t, sim.Test{Name: "invalid-key", Run: func(s *sim.Simulation) error {
		cc := newCoordCluster(s, 1)
		client := cc.addClient()
		return drive(s, client.Env(), time.Minute, func(c *flow.Ctx) error {
			// DefaultBaseToken+0 is the generation read interface.
			read := flow.NewRequestStream(flow.Endpoint{Addr: cc.procs[0].Addr, Token: coordinator.DefaultBaseToken},
				flow.ProtoCodec[*wire.GenerationReadRequest](), flow.ProtoCodec[*wire.GenerationReadReply]())
			_, err := flow.Await(c, read.GetReply(c.Env, &wire.GenerationReadRequest{ClusterKey: "no key", Gen: &wire.UniqueGeneration{Generation: 5}}))
			if !errors.Is(err, coordinator.ErrInvalidClusterKey) {
				return fmt.Errorf("read for an invalid key: %v, want connection_string_invalid", err)
			}
			return cc.bootErr
		})
	}}, 1)
}
