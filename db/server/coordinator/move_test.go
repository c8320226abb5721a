package coordinator_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/server/coordinator"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/wire"
)

// readState reads cn's coordinated state with a fresh CoordinatedState.
func readState(c *flow.Ctx, cn coordinator.Conn) ([]byte, error) {
	cs, err := coordinator.NewCoordinatedState(cn)
	if err != nil {
		return nil, err
	}
	return cs.Read(c)
}

func writeState(c *flow.Ctx, cn coordinator.Conn, v string) error {
	cs, err := coordinator.NewCoordinatedState(cn)
	if err != nil {
		return err
	}
	if _, err := cs.Read(c); err != nil {
		return err
	}
	return cs.SetExclusive(c, []byte(v))
}

func TestMoveCoordinatorsKeepsStateAndForwards(t *testing.T) {
	runSeeds(t, sim.Test{Name: "move-coordinators", Run: func(s *sim.Simulation) error {
		cc := newCoordCluster(s, 3)
		extra := cc.addCoordinators(2)
		from := conn("db", "abc", cc.procs[:3])
		to := conn("db", "def", append([]*sim.Process{cc.procs[2]}, extra...)) // one coordinator stays
		le, err := coordinator.NewLeaderElection(from)
		if err != nil {
			return err
		}
		log := &leaderLog{s: s}
		var campaignErr error
		s.AddProcess(s.AddMachine(flow.Locality{}), 4500, func(e *flow.Env) {
			e.Spawn("candidate", func(c *flow.Ctx) error {
				cp := le.Campaign(c.Env, &wire.LeaderInfo{ChangeId: 7, Info: []byte("cc")})
				if _, err := flow.Await(c, cp.Leader()); err != nil {
					campaignErr = err
					return err
				}
				log.begin(c.Address(), 7)
				_, campaignErr = flow.Await(c, cp.Lost())
				log.end(c.Address())
				return nil
			})
		})
		client := cc.addClient()
		return drive(s, client.Env(), 3*time.Minute, func(c *flow.Ctx) error {
			if err := writeState(c, from, "core state 1"); err != nil {
				return err
			}
			mon := le.MonitorLeader(c.Env)
			if _, err := mon.Changes().Next(c); err != nil {
				return fmt.Errorf("no leader before the move: %w", err)
			}
			if err := coordinator.MoveCoordinatedState(c, from, to); err != nil {
				return fmt.Errorf("move: %w", err)
			}
			// The old coordinators send everyone to the new ones.
			_, err := readState(c, from)
			var fe *coordinator.ForwardedError
			if !errors.As(err, &fe) || !errors.Is(err, coordinator.ErrCoordinatorsChanged) || fe.To.String() != to.File.String() {
				return fmt.Errorf("reading the old coordinators after the move: %v, want forwarded to %s", err, to.File)
			}
			if err := writeState(c, from, "lost write"); !errors.As(err, &fe) {
				return fmt.Errorf("writing the old coordinators after the move: %v, want forwarded", err)
			}
			if _, err := mon.Changes().Next(c); !errors.As(err, &fe) {
				return fmt.Errorf("leader monitor of the old coordinators: %v, want forwarded", err)
			}
			if err := waitFor(c, func() bool { return campaignErr != nil }); err != nil {
				return err
			}
			if !errors.As(campaignErr, &fe) {
				return fmt.Errorf("campaign on the old coordinators ended with %v, want forwarded", campaignErr)
			}
			// The state is at the new coordinators, and survives their restart.
			if v, err := readState(c, to); err != nil || string(v) != "core state 1" {
				return fmt.Errorf("new coordinators hold %q, %v; want the moved state", v, err)
			}
			if err := writeState(c, to, "core state 2"); err != nil {
				return err
			}
			for _, p := range cc.procs {
				s.Reboot(p, 200*time.Millisecond)
			}
			if v, err := readState(c, to); err != nil || string(v) != "core state 2" {
				return fmt.Errorf("after restarting every coordinator the new ones hold %q, %v", v, err)
			}
			if _, err := readState(c, from); !errors.As(err, &fe) {
				return fmt.Errorf("after restarting every coordinator the old ones answer %v, want forwarded", err)
			}
			// Moving again is a no-op; moving to the same ID is refused.
			if err := coordinator.MoveCoordinatedState(c, from, to); err != nil {
				return fmt.Errorf("repeating a finished move: %w", err)
			}
			if err := coordinator.MoveCoordinatedState(c, to, conn("db", "def", cc.procs[:3])); err == nil {
				return errors.New("a move that keeps the ID was accepted")
			}
			// The election continues on the new coordinators.
			le2, err := coordinator.NewLeaderElection(to)
			if err != nil {
				return err
			}
			cp := le2.Campaign(c.Env, &wire.LeaderInfo{ChangeId: 8})
			defer cp.Stop()
			if _, err := flow.Await(c, cp.Leader()); err != nil {
				return fmt.Errorf("campaign on the new coordinators: %w", err)
			}
			if cc.bootErr != nil {
				return cc.bootErr
			}
			return log.err
		})
	}}, 1, 2, 3)
}

// TestMoveUnderLoadLosesNothing moves the coordinated state while clients
// keep reading and writing it through clogging and coordinator restarts,
// following the forward; the history must stay linearizable across the
// move.
func TestMoveUnderLoadLosesNothing(t *testing.T) {
	var stats string
	defer func() { t.Log(stats) }()
	runSeeds(t, sim.Test{Name: "move-under-load", Run: func(s *sim.Simulation) error {
		cc := newCoordCluster(s, 3)
		extra := cc.addCoordinators(3)
		from := conn("db", "abc", cc.procs[:3])
		to := conn("db", "xyz", extra)
		h := &registerHistory{parent: map[string]string{}, acked: map[string]time.Duration{}}
		const clients, stopAt = 3, 30 * time.Second
		var done []flow.Future[struct{}]
		var targets []flow.Address
		for _, p := range cc.procs {
			targets = append(targets, p.Addr)
		}
		followed, attempts := 0, 0
		moved := false
		for i := range clients {
			p := cc.addClient()
			targets = append(targets, p.Addr)
			done = append(done, p.Env().Spawn("client", func(c *flow.Ctx) error {
				cn := from
				for seq := 0; since(s) < stopAt; seq++ {
					cs, _ := coordinator.NewCoordinatedState(cn)
					start := since(s)
					v, err := cs.Read(c)
					var fe *coordinator.ForwardedError
					if errors.As(err, &fe) {
						cn, followed = coordinator.Conn{File: fe.To}, followed+1
						continue
					}
					if err == nil {
						h.reads = append(h.reads, observedRead{start: start, value: string(v)})
						val := fmt.Sprintf("c%d-%d", i, seq)
						h.parent[val] = string(v)
						err = cs.SetExclusive(c, []byte(val))
						if err == nil {
							h.acked[val] = since(s)
						}
					}
					if err != nil && !errors.Is(err, coordinator.ErrCoordinatedStateConflict) && !errors.As(err, &fe) {
						return err
					}
					if err := c.Sleep(time.Duration(c.Rand().Int64N(int64(100 * time.Millisecond)))); err != nil {
						return err
					}
				}
				return nil
			}).Done())
		}
		mover := cc.addClient()
		var moverErr error
		mover.Env().Spawn("mover", func(c *flow.Ctx) error {
			if err := c.Sleep(5 * time.Second); err != nil {
				return err
			}
			for !moved {
				attempts++
				switch err := coordinator.MoveCoordinatedState(c, from, to); {
				case err == nil:
					moved = true
				case !errors.Is(err, coordinator.ErrCoordinatedStateConflict):
					moverErr = err
					return err
				}
			}
			return nil
		})
		stop := s.Now().Add(stopAt)
		s.Controller().Spawn("clog", func(c *flow.Ctx) error {
			return s.RandomClogging(c, stop, sim.ClogOptions{Targets: targets, MeanInterval: 500 * time.Millisecond, MaxClog: time.Second})
		})
		s.Controller().Spawn("attrition", func(c *flow.Ctx) error {
			return s.Attrition(c, stop, sim.AttritionOptions{Machines: machines(cc.procs), MeanInterval: 2 * time.Second, MaxDowntime: 3 * time.Second,
				Allowed: func(down []*sim.Machine) bool { return len(down) <= 1 }})
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
		if !moved {
			return fmt.Errorf("the move did not succeed in %d attempts (last error %v)", attempts, moverErr)
		}
		if followed == 0 {
			return errors.New("no client followed the forward")
		}
		if len(h.acked) < 20 {
			return fmt.Errorf("only %d writes acknowledged", len(h.acked))
		}
		stats = fmt.Sprintf("acked %d, reads %d, move attempts %d, forwards followed %d", len(h.acked), len(h.reads), attempts, followed)
		if err := h.check(); err != nil {
			return err
		}
		return cc.bootErr
	}}, 1, 2, 3, 4, 5)
}
