package ratekeeper_test

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/server/ratekeeper"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/wire"
)

// rig is a simulated ratekeeper with a fake source and fake GRV proxies.
type rig struct {
	s      *sim.Simulation
	rkEnv  *flow.Env
	rk     *ratekeeper.Ratekeeper
	client *flow.Env
	src    *fakeSource
}

// fakeSource serves queues the test sets, refreshing them like worker
// reports: the test's step function runs at most once per reportEvery,
// and the queues carry that refresh's time.
type fakeSource struct {
	env         *flow.Env
	reportEvery time.Duration
	step        func(now time.Time, dt time.Duration)
	queues      []ratekeeper.Queue
	replicas    int
	last        time.Time
}

func (f *fakeSource) Sample() ratekeeper.Snapshot {
	now := f.env.Now()
	if f.last.IsZero() {
		f.last = now
	}
	if dt := now.Sub(f.last); dt >= f.reportEvery {
		if f.step != nil {
			f.step(now, dt)
		}
		f.last = now
		for i := range f.queues {
			f.queues[i].At = now
		}
	}
	return ratekeeper.Snapshot{Queues: append([]ratekeeper.Queue(nil), f.queues...), StorageReplicas: f.replicas}
}

func newRig(t *testing.T, s *sim.Simulation, knobs ratekeeper.Knobs, queues ...ratekeeper.Queue) *rig {
	t.Helper()
	r := &rig{s: s, src: &fakeSource{reportEvery: time.Second, queues: queues, replicas: 1}}
	s.AddProcess(s.AddMachine(flow.Locality{}), 1, func(e *flow.Env) {
		r.rkEnv = e
		r.src.env = e
		rk, err := ratekeeper.New(e, ratekeeper.Config{ID: "rk", Source: r.src, Knobs: knobs})
		if err != nil {
			t.Fatal(err)
		}
		r.rk = rk
	})
	r.client = s.AddProcess(s.AddMachine(flow.Locality{}), 1, func(*flow.Env) {}).Env()
	return r
}

// fakeProxy polls the ratekeeper every 100 ms like a GRV proxy and
// releases demand transactions per second, or fewer when granted less.
type fakeProxy struct {
	id        string
	demand    float64 // default priority, per second
	batch     float64 // batch priority, per second
	granted   float64 // last default rate granted
	grantedB  float64
	released  float64 // totals
	releasedB float64
}

func (r *rig) runProxy(p *fakeProxy) {
	iface := r.rk.Interface()
	st := flow.NewRequestStream(flow.Endpoint{Addr: flow.Address(iface.Address), Token: iface.GetRateInfo},
		flow.ProtoCodec[*wire.GetRateInfoRequest](), flow.ProtoCodec[*wire.GetRateInfoReply]())
	p.granted, p.grantedB = math.Inf(1), math.Inf(1)
	r.client.Spawn("FakeProxy", func(c *flow.Ctx) error {
		for {
			if err := c.Sleep(100 * time.Millisecond); err != nil {
				return err
			}
			// Batch work counts against both limits (FoundationDB's).
			def := min(p.demand, p.granted) / 10
			bat := max(0, min(p.batch, p.grantedB-def*10, p.granted-def*10)) / 10
			p.released += def
			p.releasedB += bat
			rep, err := flow.Await(c, st.GetReply(c.Env, &wire.GetRateInfoRequest{
				ProxyId: p.id, ReleasedDefault: uint64(p.released), ReleasedBatch: uint64(p.releasedB)}))
			if err != nil {
				return err
			}
			p.granted, p.grantedB = rep.TransactionsPerSecond, rep.BatchTransactionsPerSecond
		}
	})
}

// during runs the simulation for d, calling check every 500 ms of
// virtual time.
func (r *rig) during(d time.Duration, check func(now time.Duration)) {
	end := r.s.Elapsed() + d
	for r.s.Elapsed() < end {
		r.s.Run(500*time.Millisecond, nil)
		if check != nil {
			check(r.s.Elapsed())
		}
	}
}

// storagePlant models a storage server whose queue fills with the proxy's
// released transactions and drains at a capacity the test sets.
type storagePlant struct {
	p           *fakeProxy
	q           *ratekeeper.Queue
	bytesPerTxn float64
	drain       float64 // bytes per second
	counted     float64
	input       float64
	queue       float64
}

func (pl *storagePlant) step(_ time.Time, dt time.Duration) {
	in := (pl.p.released + pl.p.releasedB - pl.counted) * pl.bytesPerTxn
	pl.counted = pl.p.released + pl.p.releasedB
	pl.input += in
	pl.queue = max(0, pl.queue+in-pl.drain*dt.Seconds())
	pl.q.InputBytes, pl.q.QueueBytes = int64(pl.input)+1, int64(pl.queue)
	pl.q.Version += int64(dt / time.Microsecond)
	pl.q.DurableVersion = max(0, pl.q.Version-5_500_000)
}

func testKnobs() ratekeeper.Knobs {
	return ratekeeper.Knobs{
		Default: ratekeeper.Targets{StorageTargetBytes: 20e6, StorageSpringBytes: 4e6, LogTargetBytes: 40e6, LogSpringBytes: 8e6},
		Batch:   ratekeeper.Targets{StorageTargetBytes: 12e6, StorageSpringBytes: 4e6, LogTargetBytes: 25e6, LogSpringBytes: 8e6},
	}
}

func runSim(t *testing.T, seed uint64, body func(s *sim.Simulation) error) sim.Result {
	t.Helper()
	res := sim.RunTest(sim.Test{Name: t.Name(), Run: body}, seed, sim.Options{})
	if res.Err != nil {
		t.Fatalf("seed %d: %v\nrecent events:\n%v", seed, res.Err, res.Recent)
	}
	return res
}

func TestStorageQueueLimitsAndRecovers(t *testing.T) {
	runSim(t, 1, func(s *sim.Simulation) error {
		r := newRig(t, s, testKnobs(), ratekeeper.Queue{ID: "ss-1", Kind: ratekeeper.StorageServer, Version: 10_000_000, DurableVersion: 4_500_000})
		p := &fakeProxy{id: "grv", demand: 10_000}
		pl := &storagePlant{p: p, q: &r.src.queues[0], bytesPerTxn: 100, drain: 2e6}
		r.src.step = pl.step
		r.runProxy(p)

		// Capacity 20,000 tps for a demand of 10,000: nothing limits.
		r.during(10*time.Second, nil)
		if err := r.unthrottled(p); err != nil {
			return fmt.Errorf("with spare capacity: %w", err)
		}
		// Capacity drops to 5,000 tps: the queue grows past its target
		// and the limit falls to about the capacity.
		pl.drain = 0.5e6
		var peak float64
		r.during(120*time.Second, func(time.Duration) { peak = max(peak, pl.queue) })
		n, _ := r.rk.Limits()
		if n.Reason != ratekeeper.StorageWriteQueue || n.ServerID != "ss-1" {
			return fmt.Errorf("limit %+v, want storage_server_write_queue_size on ss-1", n)
		}
		rate := r.releasedRate(p, 20*time.Second)
		if rate < 4000 || rate > 6000 {
			return fmt.Errorf("released %.0f tps with a capacity of 5000", rate)
		}
		if pl.queue < 14e6 || pl.queue > 26e6 || peak > 30e6 {
			return fmt.Errorf("queue %.0f (peak %.0f), want it held near the 20 MB target", pl.queue, peak)
		}
		qos := r.rk.QoS()
		if qos.PerformanceLimitedBy.Name != "storage_server_write_queue_size" || qos.PerformanceLimitedBy.ReasonServerID != "ss-1" ||
			qos.WorstQueueBytesStorageServer != int64(pl.queue) || qos.TransactionsPerSecondLimit > 7000 {
			return fmt.Errorf("qos %+v", qos)
		}
		// Capacity returns: the queue drains and the limit lifts.
		pl.drain = 2e6
		r.during(60*time.Second, nil)
		if err := r.unthrottled(p); err != nil {
			return fmt.Errorf("after the queue drained to %.0f B: %w", pl.queue, err)
		}
		return nil
	})
}

// releasedRate measures the proxy's default-priority release rate over d.
func (r *rig) releasedRate(p *fakeProxy, d time.Duration) float64 {
	before := p.released
	r.during(d, nil)
	return (p.released - before) / d.Seconds()
}

// unthrottled checks that the proxy releases its whole demand and that
// status blames the workload.
func (r *rig) unthrottled(p *fakeProxy) error {
	if rate := r.releasedRate(p, 5*time.Second); rate < 0.97*p.demand {
		n, _ := r.rk.Limits()
		return fmt.Errorf("released %.0f tps of a demand of %.0f; limit %+v", rate, p.demand, n)
	}
	if q := r.rk.QoS(); q.PerformanceLimitedBy.Name != "workload" || q.PerformanceLimitedBy.ReasonServerID != "" {
		return fmt.Errorf("status says limited by %+v", q.PerformanceLimitedBy)
	}
	return nil
}

// until runs the simulation in steps of 100 ms until cond holds, for at
// most a virtual minute.
func (r *rig) until(cond func() bool) error {
	for end := r.s.Elapsed() + time.Minute; !cond(); {
		if r.s.Elapsed() > end {
			return fmt.Errorf("condition not reached within a minute")
		}
		r.s.Run(100*time.Millisecond, nil)
	}
	return nil
}
