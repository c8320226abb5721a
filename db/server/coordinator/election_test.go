package coordinator_test

import (
	"cmp"
	"errors"
	"fmt"
	"time"

	"testing"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/server/coordinator"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/wire"
)

// term is one candidate's time as leader, as the candidate saw it.
type term struct {
	addr       flow.Address
	changeID   uint64
	start, end time.Duration
	open       bool
}

// leaderLog records every term and checks that terms never overlap.
type leaderLog struct {
	s     *sim.Simulation
	terms []*term
	err   error
}

func (l *leaderLog) begin(addr flow.Address, id uint64) {
	now := l.s.Elapsed()
	for _, t := range l.terms {
		if t.open {
			l.fail(fmt.Errorf("at %v %s (change %x) became leader while %s (change %x) still was, since %v", now, addr, id, t.addr, t.changeID, t.start))
		} else if t.end > now {
			l.fail(fmt.Errorf("at %v %s became leader inside the term of %s [%v, %v]", now, addr, t.addr, t.start, t.end))
		}
	}
	l.terms = append(l.terms, &term{addr: addr, changeID: id, start: now, open: true})
}

// end closes addr's open term: leadership lost, or the process died.
func (l *leaderLog) end(addr flow.Address) {
	for _, t := range l.terms {
		if t.addr == addr && t.open {
			t.open, t.end = false, l.s.Elapsed()
		}
	}
}

func (l *leaderLog) current() *term {
	for _, t := range l.terms {
		if t.open {
			return t
		}
	}
	return nil
}

func (l *leaderLog) fail(err error) {
	if l.err == nil {
		l.err = err
	}
}

// campaignForever runs on a candidate process: campaign, record the term,
// and campaign again with a fresh change ID after losing.
func campaignForever(env *flow.Env, le *coordinator.LeaderElection, priority uint64, log *leaderLog) {
	env.Spawn("candidate", func(c *flow.Ctx) error {
		for {
			info := &wire.LeaderInfo{ChangeId: c.Rand().Uint64() | 1, Priority: priority, Info: []byte(c.Address())}
			cp := le.Campaign(c.Env, info)
			if _, err := flow.Await(c, cp.Leader()); err != nil {
				return err
			}
			log.begin(c.Address(), info.GetChangeId())
			_, err := flow.Await(c, cp.Lost())
			log.end(c.Address())
			if err != nil {
				return err
			}
		}
	})
}

// checkNominations samples the coordinators: while a candidate holds a
// term, no other change ID may be nominated by a majority.
func checkNominations(c *flow.Ctx, cc *coordCluster, key string, log *leaderLog) error {
	for {
		if err := c.Sleep(20 * time.Millisecond); err != nil {
			return err
		}
		votes := map[uint64]int{}
		for _, p := range cc.procs {
			if co := cc.servers[p.Addr]; p.Alive() && co != nil {
				if n := co.Nominee(key); n != nil {
					votes[n.GetChangeId()]++
				}
			}
		}
		cur := log.current()
		for id, v := range votes {
			if v > len(cc.procs)/2 && cur != nil && cur.changeID != id {
				log.fail(fmt.Errorf("at %v a majority nominates %x while %s (change %x) holds its lease", cc.s.Elapsed(), id, cur.addr, cur.changeID))
			}
		}
	}
}

// waitFor polls cond every 10ms of simulated time.
func waitFor(c *flow.Ctx, cond func() bool) error {
	for !cond() {
		if err := c.Sleep(10 * time.Millisecond); err != nil {
			return err
		}
	}
	return nil
}

func TestNewLeaderAfterLeaderDies(t *testing.T) {
	// A leader's death is noticed when its nomination lapses
	// (NomineeTimeout after its last heartbeat); the next candidate is then
	// nominated, learns it within a poll and confirms with one heartbeat
	// round.
	timing := coordinator.DefaultTiming()
	bound := timing.NomineeTimeout + timing.PollTimeout + time.Second
	var worst time.Duration
	runSeeds(t, sim.Test{Name: "election-failover", Run: func(s *sim.Simulation) error {
		cc := newCoordCluster(s, 3)
		cn := conn("db", "abc", cc.procs)
		le, err := coordinator.NewLeaderElection(cn)
		if err != nil {
			return err
		}
		log := &leaderLog{s: s}
		var candidates []*sim.Process
		for i := range 3 {
			candidates = append(candidates, s.AddProcess(s.AddMachine(flow.Locality{}), 4500, func(e *flow.Env) {
				campaignForever(e, le, uint64(i), log)
			}))
		}
		s.Controller().Spawn("nominations", func(c *flow.Ctx) error { return checkNominations(c, cc, cn.File.Key(), log) })
		return drive(s, s.Controller(), 5*time.Minute, func(c *flow.Ctx) error {
			if err := waitFor(c, func() bool { return log.current() != nil }); err != nil {
				return err
			}
			if first := log.terms[0].start; first > bound {
				return fmt.Errorf("first leader elected after %v, want within %v", first, bound)
			}
			if best := string(candidates[2].Addr); string(log.current().addr) != best {
				return fmt.Errorf("first leader %s, want the highest-priority candidate %s", log.current().addr, best)
			}
			for range 4 {
				old := log.current()
				killedAt := s.Elapsed()
				s.Reboot(s.Process(old.addr), 2*time.Second)
				log.end(old.addr)
				if err := waitFor(c, func() bool { return log.current() != nil || log.err != nil }); err != nil {
					return err
				}
				if log.err != nil {
					return log.err
				}
				took := log.current().start - killedAt
				worst = max(worst, took)
				if took > bound {
					return fmt.Errorf("new leader %s elected %v after the leader died, want within %v", log.current().addr, took, bound)
				}
				if err := c.Sleep(time.Duration(c.Rand().Int64N(int64(3 * time.Second)))); err != nil {
					return err
				}
			}
			if cc.bootErr != nil {
				return cc.bootErr
			}
			return log.err
		})
	}}, 1, 2, 3)
	t.Logf("slowest failover: %v (bound %v)", worst, bound)
}

func TestAtMostOneLeaderUnderClogAndReboots(t *testing.T) {
	runSeeds(t, sim.Test{Name: "election-safety", Run: func(s *sim.Simulation) error {
		cc := newCoordCluster(s, 3)
		cn := conn("db", "abc", cc.procs)
		le, err := coordinator.NewLeaderElection(cn)
		if err != nil {
			return err
		}
		log := &leaderLog{s: s}
		var candidates []*sim.Process
		addrs := []flow.Address{}
		for _, p := range cc.procs {
			addrs = append(addrs, p.Addr)
		}
		for i := range 4 {
			p := s.AddProcess(s.AddMachine(flow.Locality{}), 4500, func(e *flow.Env) {
				campaignForever(e, le, uint64(i%2), log)
			})
			candidates = append(candidates, p)
			addrs = append(addrs, p.Addr)
		}
		const runFor = 60 * time.Second
		stop := s.Now().Add(runFor)
		s.Controller().Spawn("nominations", func(c *flow.Ctx) error { return checkNominations(c, cc, cn.File.Key(), log) })
		s.Controller().Spawn("clog", func(c *flow.Ctx) error {
			return s.RandomClogging(c, stop, sim.ClogOptions{Targets: addrs, MeanInterval: 300 * time.Millisecond, MaxClog: 5 * time.Second})
		})
		s.Controller().Spawn("attrition", func(c *flow.Ctx) error {
			return s.Attrition(c, stop, sim.AttritionOptions{Machines: machines(cc.procs), MeanInterval: 3 * time.Second, MaxDowntime: 4 * time.Second, Allowed: cc.minorityDown})
		})
		s.Controller().Spawn("kill-candidates", func(c *flow.Ctx) error {
			for s.Now().Before(stop) {
				if err := c.Sleep(time.Second + time.Duration(c.Rand().Int64N(int64(4*time.Second)))); err != nil {
					return err
				}
				p := candidates[c.Rand().IntN(len(candidates))]
				if cur := log.current(); cur != nil && c.Rand().IntN(2) == 0 {
					p = s.Process(cur.addr) // the leader, half the time
				}
				s.Reboot(p, time.Duration(c.Rand().Int64N(int64(3*time.Second))))
				log.end(p.Addr)
			}
			return nil
		})
		// Chaos can starve the election (a coordinator restarted every few
		// seconds stays quiet); once it stops, a leader must emerge. A
		// swizzle begun just before the stop keeps clogging for up to 14
		// steps of MaxClog, so calm lasts longer than that.
		const calm = 90 * time.Second
		s.Run(runFor+calm, func() bool { return log.err != nil })
		if cc.bootErr != nil {
			return cc.bootErr
		}
		if log.err != nil {
			return log.err
		}
		if log.current() == nil {
			return fmt.Errorf("no leader %v after the faults stopped (%d terms before)", calm, len(log.terms))
		}
		s.Note("%d terms", len(log.terms))
		return nil
	}}, 1, 2, 3, 4, 5)
}

func TestMonitorLeaderFollowsTheLeader(t *testing.T) {
	runSeeds(t, sim.Test{Name: "election-monitor", Run: func(s *sim.Simulation) error {
		cc := newCoordCluster(s, 3)
		cn := conn("db", "abc", cc.procs)
		le, err := coordinator.NewLeaderElection(cn)
		if err != nil {
			return err
		}
		log := &leaderLog{s: s}
		var candidates []*sim.Process
		for i := range 2 {
			candidates = append(candidates, s.AddProcess(s.AddMachine(flow.Locality{}), 4500, func(e *flow.Env) {
				campaignForever(e, le, uint64(i), log)
			}))
		}
		follower := cc.addClient()
		return drive(s, follower.Env(), 2*time.Minute, func(c *flow.Ctx) error {
			m := le.MonitorLeader(c.Env)
			defer m.Stop()
			first, err := m.Changes().Next(c)
			if err != nil {
				return err
			}
			if got := flow.Address(first.GetInfo()); got != candidates[1].Addr {
				return fmt.Errorf("monitor reported %s first, want the better candidate %s", got, candidates[1].Addr)
			}
			s.Kill(candidates[1])
			next, err := m.Changes().Next(c)
			if err != nil {
				return err
			}
			if got := flow.Address(next.GetInfo()); got != candidates[0].Addr {
				return fmt.Errorf("after the leader died the monitor reported %s, want %s", got, candidates[0].Addr)
			}
			m.Stop()
			if _, err := m.Changes().Next(c); !errors.Is(err, flow.ErrOperationCancelled) {
				return fmt.Errorf("stopped monitor: %v", err)
			}
			return log.err
		})
	}}, 1, 2)
}

// Coordinators that never ran before promised nothing: once their state
// files are durable they nominate at once, so a new cluster elects its
// first leader well before NomineeTimeout (the quiet period a restarted
// coordinator keeps; TestRestartedCoordinatorWaitsOutLeases).
func TestFirstElectionSkipsTheQuietPeriod(t *testing.T) {
	timing := coordinator.DefaultTiming()
	runSeeds(t, sim.Test{Name: "election-first", Run: func(s *sim.Simulation) error {
		cc := newCoordCluster(s, 3)
		le, err := coordinator.NewLeaderElection(conn("db", "abc", cc.procs))
		if err != nil {
			return err
		}
		log := &leaderLog{s: s}
		s.AddProcess(s.AddMachine(flow.Locality{}), 4500, func(e *flow.Env) { campaignForever(e, le, 0, log) })
		return drive(s, s.Controller(), time.Minute, func(c *flow.Ctx) error {
			if err := waitFor(c, func() bool { return log.current() != nil }); err != nil {
				return err
			}
			if at := log.current().start; at >= timing.NomineeTimeout {
				return fmt.Errorf("the first leader was elected at %v, not before the quiet period (%v) ended", at, timing.NomineeTimeout)
			}
			return cmp.Or(log.err, cc.bootErr)
		})
	}}, 1, 2, 3)
}

// A restarted coordinator forgot whom it nominated. If it nominated at
// once, a coordinator that already prefers a better candidate and the
// restarted one would elect it while the old leader still holds its lease.
func TestRestartedCoordinatorWaitsOutLeases(t *testing.T) {
	runSeeds(t, sim.Test{Name: "election-restart-quiet", Run: func(s *sim.Simulation) error {
		cc := newCoordCluster(s, 3)
		cn := conn("db", "abc", cc.procs)
		le, err := coordinator.NewLeaderElection(cn)
		if err != nil {
			return err
		}
		log := &leaderLog{s: s}
		s.Controller().Spawn("nominations", func(c *flow.Ctx) error { return checkNominations(c, cc, cn.File.Key(), log) })
		weak := s.AddProcess(s.AddMachine(flow.Locality{}), 4500, func(e *flow.Env) { campaignForever(e, le, 0, log) })
		return drive(s, s.Controller(), 2*time.Minute, func(c *flow.Ctx) error {
			if err := waitFor(c, func() bool { return log.current() != nil }); err != nil {
				return err
			}
			// A better candidate appears; a restarted coordinator prefers it
			// once its quiet period ends, but the others keep the leader.
			s.AddProcess(s.AddMachine(flow.Locality{}), 4500, func(e *flow.Env) { campaignForever(e, le, 1, log) })
			s.Reboot(cc.procs[2], 100*time.Millisecond)
			if err := c.Sleep(5 * time.Second); err != nil {
				return err
			}
			if cur := log.current(); cur == nil || cur.addr != weak.Addr {
				return fmt.Errorf("leader changed without a failure: %v", cur)
			}
			// Now a coordinator of the leader's majority restarts.
			s.Reboot(cc.procs[0], 100*time.Millisecond)
			if err := c.Sleep(10 * time.Second); err != nil {
				return err
			}
			if log.err != nil {
				return log.err
			}
			if cur := log.current(); cur == nil || cur.addr == weak.Addr {
				return fmt.Errorf("the better candidate did not take over once the leader lost its majority: %v", cur)
			}
			return cc.bootErr
		})
	}}, 1, 2, 3)
}

// The coordinators' role code must keep a run decided by its seed.
func TestElectionRunIsDecidedBySeed(t *testing.T) {
	test := sim.Test{Name: "election-determinism", Run: func(s *sim.Simulation) error {
		cc := newCoordCluster(s, 3)
		le, err := coordinator.NewLeaderElection(conn("db", "abc", cc.procs))
		if err != nil {
			return err
		}
		log := &leaderLog{s: s}
		var targets []flow.Address
		for i := range 3 {
			p := s.AddProcess(s.AddMachine(flow.Locality{}), 4500, func(e *flow.Env) { campaignForever(e, le, uint64(i), log) })
			targets = append(targets, p.Addr)
		}
		for _, p := range cc.procs {
			targets = append(targets, p.Addr)
		}
		stop := s.Now().Add(20 * time.Second)
		s.Controller().Spawn("clog", func(c *flow.Ctx) error {
			return s.RandomClogging(c, stop, sim.ClogOptions{Targets: targets, MeanInterval: 300 * time.Millisecond, MaxClog: 4 * time.Second})
		})
		s.Run(25*time.Second, nil)
		return log.err
	}}
	a := sim.RunTest(test, 11, sim.Options{Buggify: true})
	b := sim.RunTest(test, 11, sim.Options{Buggify: true})
	if a.Err != nil || b.Err != nil {
		t.Fatalf("runs failed: %v / %v", a.Err, b.Err)
	}
	if a.TraceHash != b.TraceHash || a.Events != b.Events {
		t.Fatalf("same seed, different runs: %s vs %s", a, b)
	}
}

// A stopped leader gives up at once; the next candidate takes over once the
// coordinators' nomination of the old one lapses.
func TestStoppedLeaderIsReplaced(t *testing.T) {
	runSeeds(t, sim.Test{Name: "election-stop", Run: func(s *sim.Simulation) error {
		cc := newCoordCluster(s, 3)
		le, err := coordinator.NewLeaderElection(conn("db", "abc", cc.procs))
		if err != nil {
			return err
		}
		log := &leaderLog{s: s}
		s.AddProcess(s.AddMachine(flow.Locality{}), 4500, func(e *flow.Env) { campaignForever(e, le, 0, log) })
		p := s.AddProcess(s.AddMachine(flow.Locality{}), 4500, func(*flow.Env) {})
		return drive(s, p.Env(), 2*time.Minute, func(c *flow.Ctx) error {
			cp := le.Campaign(c.Env, &wire.LeaderInfo{ChangeId: 42, Priority: 9})
			if _, err := flow.Await(c, cp.Leader()); err != nil {
				return err
			}
			log.begin(c.Address(), 42)
			cp.Stop()
			log.end(c.Address())
			if _, err := flow.Await(c, cp.Lost()); !errors.Is(err, coordinator.ErrCampaignStopped) {
				return fmt.Errorf("stopped campaign's Lost: %v, want ErrCampaignStopped", err)
			}
			stopped := since(s)
			if err := waitFor(c, func() bool { return log.current() != nil }); err != nil {
				return err
			}
			if took := log.current().start - stopped; took > 6*time.Second {
				return fmt.Errorf("next leader after %v", took)
			}
			return log.err
		})
	}}, 1, 2, 3)
}

func TestCandidatesArrivingTogetherAgreeAtOnce(t *testing.T) {
	// After a coordinators move every server campaigns at the new
	// coordinators within milliseconds, and each coordinator hears the
	// candidate on its own process first. They must still nominate one
	// candidate at once, not split the vote until nominations lapse.
	timing := coordinator.DefaultTiming()
	bound := timing.PollTimeout
	runSeeds(t, sim.Test{Name: "election-fresh-key", Run: func(s *sim.Simulation) error {
		cc := newCoordCluster(s, 3)
		cn := conn("db", "moved", cc.procs)
		le, err := coordinator.NewLeaderElection(cn)
		if err != nil {
			return err
		}
		log := &leaderLog{s: s}
		return drive(s, s.Controller(), time.Minute, func(c *flow.Ctx) error {
			// Past the coordinators' quiet period, as after a move.
			if err := c.Sleep(timing.NomineeTimeout + time.Second); err != nil {
				return err
			}
			start := s.Elapsed()
			for _, p := range cc.procs {
				campaignForever(p.Env(), le, 0, log)
			}
			if err := waitFor(c, func() bool { return log.current() != nil || log.err != nil }); err != nil {
				return err
			}
			if log.err != nil {
				return log.err
			}
			if took := log.current().start - start; took > bound {
				return fmt.Errorf("leader elected %v after the candidates arrived together, want within %v", took, bound)
			}
			return cc.bootErr
		})
	}}, 1, 2, 3, 4, 5, 6)
}
