package ratekeeper_test

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/strata-db/strata/db/server/ratekeeper"
	"github.com/strata-db/strata/db/sim"
)

// versionPlant advances a storage server's version with the clock; its
// durable version trails by the 5 s MVCC window and a commit interval
// unless stalled.
type versionPlant struct {
	q       *ratekeeper.Queue
	stalled bool
}

func (pl *versionPlant) step(_ time.Time, dt time.Duration) {
	pl.q.Version += int64(dt / time.Microsecond)
	if !pl.stalled {
		pl.q.DurableVersion = pl.q.Version - 5_500_000
	}
}

func TestDurabilityLagLimitsBatchFirstAndRecovers(t *testing.T) {
	runSim(t, 2, func(s *sim.Simulation) error {
		r := newRig(t, s, ratekeeper.Knobs{},
			ratekeeper.Queue{ID: "ss-1", Kind: ratekeeper.StorageServer, Version: 10_000_000, DurableVersion: 4_500_000},
			ratekeeper.Queue{ID: "ss-2", Kind: ratekeeper.StorageServer, Version: 10_000_000, DurableVersion: 4_500_000})
		healthy := &versionPlant{q: &r.src.queues[0]}
		stalling := &versionPlant{q: &r.src.queues[1]}
		r.src.step = func(now time.Time, dt time.Duration) { healthy.step(now, dt); stalling.step(now, dt) }
		p := &fakeProxy{id: "grv", demand: 1000, batch: 100}
		r.runProxy(p)
		r.during(10*time.Second, nil)
		if err := r.unthrottled(p); err != nil {
			return err
		}

		// ss-2's engine stalls: its lag grows a second per second from
		// 5.5 s. Past 7 s batch priority is throttled, default not yet.
		stalling.stalled = true
		lag := func() int64 { return stalling.q.Version - stalling.q.DurableVersion }
		if err := r.until(func() bool { return lag() > 7_000_000 }); err != nil {
			return err
		}
		r.s.Run(300*time.Millisecond, nil)
		normal, batch := r.rk.Limits()
		if lag() > 8_000_000 {
			return fmt.Errorf("test setup: lag %d", lag())
		}
		if batch.Reason != ratekeeper.StorageDurabilityLag || batch.ServerID != "ss-2" || batch.TPS >= 1000 {
			return fmt.Errorf("batch limit %+v at a lag of 7.5 s, want storage_server_durability_lag on ss-2", batch)
		}
		if !math.IsInf(normal.TPS, 1) {
			return fmt.Errorf("default limit %+v at a lag of 7.5 s, under its target", normal)
		}
		// Past 8 s default priority is throttled too.
		r.during(3*time.Second, nil)
		normal, _ = r.rk.Limits()
		if normal.Reason != ratekeeper.StorageDurabilityLag || normal.ServerID != "ss-2" {
			return fmt.Errorf("default limit %+v at a lag of 10.5 s", normal)
		}
		if rate := r.releasedRate(p, 2*time.Second); rate > 500 {
			return fmt.Errorf("released %.0f tps with the durable version stalled", rate)
		}
		qos := r.rk.QoS()
		if qos.PerformanceLimitedBy.Name != "storage_server_durability_lag" || qos.PerformanceLimitedBy.ReasonServerID != "ss-2" ||
			qos.BatchPerformanceLimitedBy.Name != "storage_server_durability_lag" || qos.WorstDurabilityLagStorage.Seconds < 10 {
			return fmt.Errorf("qos %+v", qos)
		}
		// The engine catches up: the limit lifts.
		stalling.stalled = false
		r.during(5*time.Second, nil)
		return r.unthrottled(p)
	})
}

// logPlant is a log whose unpopped data grows with the released
// transactions and is popped at a rate the test sets. It reports no
// input total, so ratekeeper sees only the queue's size.
type logPlant struct {
	p           *fakeProxy
	q           *ratekeeper.Queue
	bytesPerTxn float64
	drain       float64
	counted     float64
	queue       float64
}

func (pl *logPlant) step(_ time.Time, dt time.Duration) {
	in := (pl.p.released + pl.p.releasedB - pl.counted) * pl.bytesPerTxn
	pl.counted = pl.p.released + pl.p.releasedB
	pl.queue = max(0, pl.queue+in-pl.drain*dt.Seconds())
	pl.q.QueueBytes = int64(pl.queue)
	pl.q.Version += int64(dt / time.Microsecond)
	pl.q.DurableVersion = pl.q.Version
}

func TestLogQueueLimitsAndRecovers(t *testing.T) {
	runSim(t, 3, func(s *sim.Simulation) error {
		knobs := ratekeeper.Knobs{
			Default: ratekeeper.Targets{LogTargetBytes: 4e6, LogSpringBytes: 1e6},
			Batch:   ratekeeper.Targets{LogTargetBytes: 2e6, LogSpringBytes: 0.5e6},
		}
		r := newRig(t, s, knobs, ratekeeper.Queue{ID: "log-1", Kind: ratekeeper.LogServer})
		p := &fakeProxy{id: "grv", demand: 1000}
		pl := &logPlant{p: p, q: &r.src.queues[0], bytesPerTxn: 200, drain: 1e6}
		r.src.step = pl.step
		r.runProxy(p)
		r.during(10*time.Second, nil)
		if err := r.unthrottled(p); err != nil {
			return err
		}
		// Pops slow to 500 transactions' worth a second.
		pl.drain = 0.1e6
		var peak float64
		r.during(90*time.Second, func(time.Duration) { peak = max(peak, pl.queue) })
		normal, batch := r.rk.Limits()
		if normal.Reason != ratekeeper.LogWriteQueue || normal.ServerID != "log-1" || batch.Reason != ratekeeper.LogWriteQueue {
			return fmt.Errorf("limits %+v / %+v, want log_server_write_queue on log-1", normal, batch)
		}
		if rate := r.releasedRate(p, 20*time.Second); rate < 350 || rate > 650 {
			return fmt.Errorf("released %.0f tps with pops for 500", rate)
		}
		if peak > 5.5e6 {
			return fmt.Errorf("log queue peaked at %.0f B, target 4e6", peak)
		}
		if q := r.rk.QoS(); q.WorstQueueBytesLogServer != int64(pl.queue) || q.PerformanceLimitedBy.ReasonServerID != "log-1" {
			return fmt.Errorf("qos %+v", q)
		}
		pl.drain = 1e6
		r.during(20*time.Second, nil)
		return r.unthrottled(p)
	})
}
