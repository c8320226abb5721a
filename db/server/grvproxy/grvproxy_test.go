package grvproxy_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/server/grvproxy"
	"github.com/strata-db/strata/db/server/sequencer"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/wire"
)

type cluster struct {
	s         *sim.Simulation
	seqProc   *sim.Process
	proxyProc *sim.Process
	seq       *wire.SequencerInterface
	grv       *wire.GrvProxyInterface
	client    *flow.Env
}

// newCluster simulates a sequencer, a GRV proxy configured by cfg and a
// client process; each setup function runs before the proxy boots.
func newCluster(t testing.TB, seed uint64, cfg grvproxy.Config, setup ...func(*sim.Simulation, *grvproxy.Config)) *cluster {
	t.Helper()
	s := sim.New(seed, sim.Options{})
	cl := &cluster{s: s}
	cl.seqProc = s.AddProcess(s.AddMachine(flow.Locality{}), 1, func(e *flow.Env) {
		seq, err := sequencer.New(e, sequencer.Config{ID: "seq", InitialVersion: 500})
		if err != nil {
			t.Fatal(err)
		}
		cl.seq = seq.Interface()
	})
	cfg.Sequencer = cl.seq
	for _, f := range setup {
		f(s, &cfg)
	}
	cl.proxyProc = s.AddProcess(s.AddMachine(flow.Locality{}), 1, func(e *flow.Env) {
		p, err := grvproxy.New(e, cfg)
		if err != nil {
			t.Fatal(err)
		}
		cl.grv = p.Interface()
	})
	cl.client = s.AddProcess(s.AddMachine(flow.Locality{}), 1, func(*flow.Env) {}).Env()
	return cl
}

func (cl *cluster) grvRequest(prio uint32) flow.Future[*wire.GetReadVersionReply] {
	st := flow.NewRequestStream(flow.Endpoint{Addr: flow.Address(cl.grv.Address), Token: cl.grv.GetReadVersion},
		flow.ProtoCodec[*wire.GetReadVersionRequest](), flow.ProtoCodec[*wire.GetReadVersionReply]())
	return st.GetReply(cl.client, &wire.GetReadVersionRequest{Priority: prio, TransactionCount: 1})
}

// commit plays a commit proxy: it takes a commit version and reports it
// committed, returning once the sequencer acknowledged.
func (cl *cluster) commit(c *flow.Ctx, proxy string, num uint64) (int64, error) {
	gv := flow.NewRequestStream(flow.Endpoint{Addr: flow.Address(cl.seq.Address), Token: cl.seq.GetCommitVersion},
		flow.ProtoCodec[*wire.GetCommitVersionRequest](), flow.ProtoCodec[*wire.GetCommitVersionReply]())
	rep, err := flow.Await(c, gv.GetReply(cl.client, &wire.GetCommitVersionRequest{ProxyId: proxy, RequestNum: num}))
	if err != nil {
		return 0, err
	}
	rc := flow.NewRequestStream(flow.Endpoint{Addr: flow.Address(cl.seq.Address), Token: cl.seq.ReportCommitted},
		flow.ProtoCodec[*wire.ReportCommittedRequest](), flow.ProtoCodec[*wire.ReportCommittedReply]())
	_, err = flow.Await(c, rc.GetReply(cl.client, &wire.ReportCommittedRequest{Version: rep.Version}))
	return rep.Version, err
}

func (cl *cluster) run(t testing.TB, d time.Duration, bodies ...func(c *flow.Ctx) error) {
	t.Helper()
	var actors []*flow.Actor
	for _, b := range bodies {
		actors = append(actors, cl.client.Spawn("driver", b))
	}
	cl.s.Run(d, func() bool {
		for _, a := range actors {
			if !a.Done().IsReady() {
				return false
			}
		}
		return true
	})
	for _, a := range actors {
		if !a.Done().IsReady() {
			t.Fatalf("driver did not finish within %v", d)
		}
		if err := a.Done().Err(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRequestsAreBatched(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		cl := newCluster(t, seed, grvproxy.Config{ID: "grv"})
		var replies []*wire.GetReadVersionReply
		cl.run(t, time.Minute, func(c *flow.Ctx) error {
			var fs []flow.Future[*wire.GetReadVersionReply]
			for i := range 300 {
				fs = append(fs, cl.grvRequest(uint32(i%3)))
				if i%30 == 0 {
					if err := c.Sleep(100 * time.Microsecond); err != nil {
						return err
					}
				}
			}
			var err error
			replies, err = flow.WaitAll(c, fs)
			return err
		})
		for _, r := range replies {
			if r.Version != 500 {
				t.Fatalf("seed %d: read version %d, want the live committed version 500", seed, r.Version)
			}
		}
		m := cl.proxyProc.Env().Metrics()
		reqs, batches := m.Counter("grvproxy.requests").Value(), m.Counter("grvproxy.batches").Value()
		if reqs != 300 || batches == 0 || batches > 30 {
			t.Fatalf("seed %d: %d requests in %d batches; want 300 in at most 30", seed, reqs, batches)
		}
		if h := m.Histogram("grvproxy.latency"); h.Count() != 300 || h.Max() > 10*time.Millisecond {
			t.Fatalf("seed %d: latency histogram has %d observations, max %v", seed, h.Count(), h.Max())
		}
	}
}

func TestReadVersionIncludesEveryAcknowledgedCommit(t *testing.T) {
	for _, seed := range []uint64{4, 5, 6} {
		cl := newCluster(t, seed, grvproxy.Config{})
		var bodies []func(c *flow.Ctx) error
		for w := range 4 {
			proxy := string(rune('a' + w))
			bodies = append(bodies, func(c *flow.Ctx) error {
				for n := uint64(1); n <= 30; n++ {
					v, err := cl.commit(c, proxy, n)
					if err != nil {
						return err
					}
					rv, err := flow.Await(c, cl.grvRequest(grvproxy.PriorityDefault))
					if err != nil {
						return err
					}
					if rv.Version < v {
						t.Errorf("seed %d: read version %d after commit %d was acknowledged", seed, rv.Version, v)
					}
				}
				return nil
			})
		}
		// Background GRV load keeps sequencer calls outstanding, so that
		// requests arrive mid-call and must wait for the next one.
		bodies = append(bodies, func(c *flow.Ctx) error {
			for range 400 {
				cl.grvRequest(grvproxy.PriorityBatch)
				if err := c.Sleep(50 * time.Microsecond); err != nil {
					return err
				}
			}
			return nil
		})
		cl.run(t, time.Minute, bodies...)
	}
}

func TestBatchPriorityIsRateLimitedAndQueueBounded(t *testing.T) {
	cl := newCluster(t, 7, grvproxy.Config{BatchPriorityRate: 20, MaxQueuedBatchPriority: 30})
	var batchDone, throttled, defaultDone int
	var defaultLatest time.Duration
	cl.run(t, 10*time.Second, func(c *flow.Ctx) error {
		var batch, def []flow.Future[*wire.GetReadVersionReply]
		for range 50 {
			batch = append(batch, cl.grvRequest(grvproxy.PriorityBatch))
			def = append(def, cl.grvRequest(grvproxy.PriorityDefault))
		}
		start := c.Now()
		if _, err := flow.WaitAll(c, def); err != nil {
			return err
		}
		defaultDone, defaultLatest = len(def), c.Now().Sub(start)
		if err := c.Sleep(time.Second - c.Now().Sub(start)); err != nil {
			return err
		}
		for _, f := range batch {
			if !f.IsReady() {
				continue
			}
			if err := f.Err(); errors.Is(err, kv.ErrBatchTransactionThrottled) {
				throttled++
			} else if err != nil {
				return err
			} else {
				batchDone++
			}
		}
		return nil
	})
	if defaultDone != 50 || defaultLatest > 10*time.Millisecond {
		t.Fatalf("default priority: %d answered after %v; want all 50 at once", defaultDone, defaultLatest)
	}
	// The queue bound is 30 of 50; the few served while the burst was
	// still arriving made room for as many more.
	if throttled < 17 || throttled > 20 {
		t.Fatalf("%d batch-priority requests refused; want about the 20 over the queue bound of 30", throttled)
	}
	// 20/s for one second with a bucket of 2: about 22 served.
	if batchDone < 15 || batchDone > 25 {
		t.Fatalf("%d batch-priority requests served in 1s at 20/s", batchDone)
	}
}

func TestSequencerFailureFailsTheBatch(t *testing.T) {
	cl := newCluster(t, 8, grvproxy.Config{})
	var err error
	cl.run(t, time.Minute, func(c *flow.Ctx) error {
		if _, err := flow.Await(c, cl.grvRequest(grvproxy.PriorityDefault)); err != nil {
			return err
		}
		cl.s.Kill(cl.seqProc)
		_, err = flow.Await(c, cl.grvRequest(grvproxy.PriorityDefault))
		return nil
	})
	if err == nil {
		t.Fatal("a read version was given out with the sequencer dead")
	}
}

// fakeLog answers confirmations until locked, counting them.
type fakeLog struct {
	confirms int
	locked   bool
}

// withLog adds a process serving fakeLog's confirmations as the proxy's
// one log.
func withLog(l *fakeLog) func(*sim.Simulation, *grvproxy.Config) {
	return func(s *sim.Simulation, cfg *grvproxy.Config) {
		s.AddProcess(s.AddMachine(flow.Locality{}), 1, func(e *flow.Env) {
			ln := flow.Listen(e, 0, flow.ProtoCodec[*wire.TLogConfirmRunningRequest](), flow.ProtoCodec[*wire.TLogConfirmRunningReply]())
			e.Spawn("FakeLogConfirm", func(c *flow.Ctx) error {
				for {
					r, err := ln.Requests().Next(c)
					if err != nil {
						return err
					}
					l.confirms++
					if l.locked {
						r.Fail(&flow.Error{Code: 1011, Name: "tlog_stopped"})
						continue
					}
					r.Reply(&wire.TLogConfirmRunningReply{})
				}
			})
			cfg.Logs = []*wire.TLogInterface{{Address: string(e.Address()), ConfirmRunning: ln.Stream().Endpoint().Token}}
		})
	}
}

// A confirmation from the logs covers the batches of the next
// ConfirmWindow, and the next one is asked for before it lapses, so a
// steady stream of requests costs a few confirmations, not one per batch.
// Once a log is locked, the proxy answers only until the window after the
// last confirmation it got, then fails.
func TestConfirmationsCoverAWindowOfBatches(t *testing.T) {
	log := &fakeLog{}
	cl := newCluster(t, 7, grvproxy.Config{ConfirmWindow: 80 * time.Millisecond}, withLog(log))
	var answered, refused int
	var lockedAt, lastAnswer time.Time
	cl.run(t, 10*time.Second, func(c *flow.Ctx) error {
		start := c.Now()
		for c.Now().Sub(start) < time.Second {
			if _, err := flow.Await(c, cl.grvRequest(grvproxy.PriorityDefault)); err != nil {
				return err
			}
			answered++
			if err := c.Sleep(time.Millisecond); err != nil {
				return err
			}
		}
		if batches := answered; log.confirms > 30 || log.confirms < 10 {
			return fmt.Errorf("%d confirmations for %d batches over 1 s with an 80 ms window: want about one per 40 ms", log.confirms, batches)
		}
		log.locked = true
		lockedAt = c.Now()
		for c.Now().Sub(lockedAt) < time.Second {
			if _, err := flow.Await(c, cl.grvRequest(grvproxy.PriorityDefault)); err != nil {
				refused++
			} else {
				if refused > 0 {
					return fmt.Errorf("a read version answered %v after the lock, after %d were refused", c.Now().Sub(lockedAt), refused)
				}
				lastAnswer = c.Now()
			}
			if err := c.Sleep(time.Millisecond); err != nil {
				return err
			}
		}
		return nil
	})
	if refused == 0 {
		t.Fatal("the proxy kept answering for a second after its log was locked")
	}
	// The background confirmation asked once the last is 40 ms old finds
	// the log locked, and the proxy stops then, not when the window ends.
	if late := lastAnswer.Sub(lockedAt); late >= 60*time.Millisecond {
		t.Fatalf("the proxy answered %v after its log was locked; want it to stop at the first confirmation after (within about 40 ms)", late)
	}
}
