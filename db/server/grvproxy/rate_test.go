package grvproxy_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/server/grvproxy"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/wire"
)

// fakeRatekeeper answers rate polls with the rates the test sets and
// remembers the last poll.
type fakeRatekeeper struct {
	proc       *sim.Process
	def, batch float64
	lease      float64
	last       *wire.GetRateInfoRequest
	polls      int
}

func withRatekeeper(rk *fakeRatekeeper) func(*sim.Simulation, *grvproxy.Config) {
	return func(s *sim.Simulation, cfg *grvproxy.Config) {
		rk.proc = s.AddProcess(s.AddMachine(flow.Locality{}), 1, func(e *flow.Env) {
			l := flow.Listen(e, 0, flow.ProtoCodec[*wire.GetRateInfoRequest](), flow.ProtoCodec[*wire.GetRateInfoReply]())
			cfg.Ratekeeper = &wire.RatekeeperInterface{Address: string(e.Address()), Id: "rk", GetRateInfo: l.Stream().Endpoint().Token}
			e.Spawn("FakeRatekeeper", func(c *flow.Ctx) error {
				for {
					r, err := l.Requests().Next(c)
					if err != nil {
						return err
					}
					rk.last, rk.polls = r.Msg, rk.polls+1
					r.Reply(&wire.GetRateInfoReply{TransactionsPerSecond: rk.def, BatchTransactionsPerSecond: rk.batch, LeaseSeconds: rk.lease})
				}
			})
		})
	}
}

// load runs n clients that each ask for read versions of priority prio
// back to back until stop, counting the replies.
func (cl *cluster) load(n int, prio uint32, stop time.Duration, count *int) []func(c *flow.Ctx) error {
	var bodies []func(c *flow.Ctx) error
	for range n {
		bodies = append(bodies, func(c *flow.Ctx) error {
			for cl.s.Elapsed() < stop {
				f := cl.grvRequest(prio)
				// A request still queued at the end is abandoned.
				if _, err := flow.Select(c, f, c.Delay(stop-cl.s.Elapsed())); err != nil {
					return err
				}
				if !f.IsReady() {
					return nil
				}
				if err := f.Err(); err != nil {
					return err
				}
				*count++
			}
			return nil
		})
	}
	return bodies
}

func TestRatekeeperLimitIsReleased(t *testing.T) {
	for _, seed := range []uint64{11, 12} {
		rk := &fakeRatekeeper{def: 200, batch: 200, lease: 1}
		cl := newCluster(t, seed, grvproxy.Config{ID: "grv"}, withRatekeeper(rk))
		var def, imm int
		var immWorst time.Duration
		bodies := cl.load(50, grvproxy.PriorityDefault, 10*time.Second, &def)
		// System-immediate requests are never throttled.
		bodies = append(bodies, func(c *flow.Ctx) error {
			for cl.s.Elapsed() < 10*time.Second {
				start := c.Now()
				if _, err := flow.Await(c, cl.grvRequest(grvproxy.PrioritySystemImmediate)); err != nil {
					return err
				}
				imm++
				immWorst = max(immWorst, c.Now().Sub(start))
				if err := c.Sleep(50 * time.Millisecond); err != nil {
					return err
				}
			}
			return nil
		})
		cl.run(t, time.Minute, bodies...)
		// 200/s for 10 s, the first 100 ms or so unthrottled (before the
		// first rate arrives) and a bucket of 20 to start. System-immediate
		// transactions count against the rate without waiting for it.
		if def+imm < 1950 || def+imm > 2300 {
			t.Errorf("seed %d: %d default- and %d immediate-priority read versions in 10 s at 200/s", seed, def, imm)
		}
		if imm < 150 || immWorst > 10*time.Millisecond {
			t.Errorf("seed %d: %d system-immediate read versions, slowest %v", seed, imm, immWorst)
		}
		if got := rk.last.GetReleasedDefault(); got < uint64(def) || got > uint64(def)+50 {
			t.Errorf("seed %d: proxy reported %d default transactions released, %d were answered", seed, got, def)
		}
		if rk.last.GetReleasedImmediate() == 0 || rk.last.GetProxyId() != "grv" {
			t.Errorf("seed %d: last poll %v", seed, rk.last)
		}
		if rk.polls < 90 || rk.polls > 110 {
			t.Errorf("seed %d: %d polls in 10 s", seed, rk.polls)
		}
	}
}

func TestBatchIsThrottledBeforeDefault(t *testing.T) {
	rk := &fakeRatekeeper{def: 400, batch: 100, lease: 1}
	cl := newCluster(t, 13, grvproxy.Config{ID: "grv"}, withRatekeeper(rk))
	var def, batch int
	// Greedy default work takes all of the batch rate: batch gets nothing.
	bodies := append(cl.load(20, grvproxy.PriorityDefault, 5*time.Second, &def), cl.load(20, grvproxy.PriorityBatch, 5*time.Second, &batch)...)
	cl.run(t, time.Minute, bodies...)
	if def < 1800 || def > 2200 || batch > 60 {
		t.Fatalf("greedy default and batch work: %d default, %d batch in 5 s at 400/s and batch 100/s", def, batch)
	}
	// Default work paced at 40/s leaves batch the rest of its 100/s.
	def, batch = 0, 0
	paced := func(c *flow.Ctx) error {
		for cl.s.Elapsed() < 15*time.Second {
			cl.grvRequest(grvproxy.PriorityDefault).OnReady(func(_ *wire.GetReadVersionReply, err error) {
				if err == nil {
					def++
				}
			})
			if err := c.Sleep(25 * time.Millisecond); err != nil {
				return err
			}
		}
		return nil
	}
	cl.run(t, time.Minute, append(cl.load(20, grvproxy.PriorityBatch, 15*time.Second, &batch), paced)...)
	if def < 390 || batch < 400 || batch > 800 {
		t.Fatalf("paced default work: %d default, %d batch in 10 s; want 400 and about 600", def, batch)
	}
}

func TestZeroRateStopsAllButImmediate(t *testing.T) {
	rk := &fakeRatekeeper{def: 0, batch: 0, lease: 1}
	cl := newCluster(t, 14, grvproxy.Config{ID: "grv"}, withRatekeeper(rk))
	cl.run(t, time.Minute, func(c *flow.Ctx) error {
		if err := c.Sleep(time.Second); err != nil { // the rate is in force
			return err
		}
		def := cl.grvRequest(grvproxy.PriorityDefault)
		bat := cl.grvRequest(grvproxy.PriorityBatch)
		if _, err := flow.Await(c, cl.grvRequest(grvproxy.PrioritySystemImmediate)); err != nil {
			return err
		}
		if err := c.Sleep(2 * time.Second); err != nil {
			return err
		}
		if def.IsReady() || bat.IsReady() {
			return fmt.Errorf("a read version was released at a rate of 0")
		}
		// The rate is raised: the queued requests go at once.
		rk.def, rk.batch = 1000, 1000
		start := c.Now()
		if _, err := flow.WaitAll(c, []flow.Future[*wire.GetReadVersionReply]{def, bat}); err != nil {
			return err
		}
		if d := c.Now().Sub(start); d > 150*time.Millisecond {
			return fmt.Errorf("released %v after the rate was raised", d)
		}
		return nil
	})
}

func TestLeaseExpiryFallsBackToUnthrottled(t *testing.T) {
	rk := &fakeRatekeeper{def: 100, batch: 100, lease: 2}
	cl := newCluster(t, 15, grvproxy.Config{ID: "grv"}, withRatekeeper(rk))
	var during, after int
	cl.run(t, time.Minute, cl.load(10, grvproxy.PriorityDefault, 3*time.Second, new(int))...)
	cl.s.Kill(rk.proc)
	// Within the lease the last rate holds; past it the proxy runs free.
	cl.run(t, time.Minute, cl.load(10, grvproxy.PriorityDefault, 4500*time.Millisecond, &during)...)
	cl.run(t, time.Minute, cl.load(10, grvproxy.PriorityDefault, 6*time.Second, &after)...)
	if during < 120 || during > 200 {
		t.Errorf("%d read versions in the 1.5 s after the ratekeeper died, want about 150 at the leased 100/s", during)
	}
	if after < 1000 {
		t.Errorf("%d read versions in the 1.5 s after the lease ended, want unthrottled", after)
	}
	m := cl.proxyProc.Env().Metrics()
	if n := m.Counter("grvproxy.rate_leases_expired").Value(); n != 1 {
		t.Errorf("%d leases expired, want 1", n)
	}
	if m.Counter("grvproxy.rate_poll_failures").Value() == 0 {
		t.Error("no failed polls counted")
	}
}
