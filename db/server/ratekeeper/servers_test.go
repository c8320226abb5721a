package ratekeeper_test

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/server/ratekeeper"
	"github.com/strata-db/strata/db/sim"
)

func TestLowFreeSpaceLimitsEvenAnIgnorableZone(t *testing.T) {
	runSim(t, 4, func(s *sim.Simulation) error {
		ss := func(id, zone string) ratekeeper.Queue {
			return ratekeeper.Queue{ID: id, Kind: ratekeeper.StorageServer, Zone: zone,
				Version: 10_000_000, DurableVersion: 4_500_000, QueueBytes: 40e6, TotalBytes: 1e12, FreeBytes: 1e11}
		}
		r := newRig(t, s, ratekeeper.Knobs{}, ss("ss-a", "a"), ss("ss-b", "b"), ss("ss-c", "c"))
		r.src.replicas = 3
		p := &fakeProxy{id: "grv", demand: 1000}
		r.runProxy(p)
		r.during(5*time.Second, nil)
		if err := r.unthrottled(p); err != nil {
			return err
		}
		// 100 MB + 5% of 1 TB must stay free: with 50 GB + 20 MB free the
		// queue's target shrinks to 20 MB, under its 40 MB queue. A lagging
		// zone may be ignored; one running out of space may not.
		r.src.queues[0].FreeBytes = 50e9 + 20e6
		r.during(2*time.Second, nil)
		normal, _ := r.rk.Limits()
		if normal.Reason != ratekeeper.StorageMinFreeSpaceRatio || normal.ServerID != "ss-a" || normal.TPS >= 1000 {
			return fmt.Errorf("limit %+v, want storage_server_min_free_space_ratio on ss-a", normal)
		}
		// On a small disk the 100 MB floor is the larger.
		r.src.queues[0].TotalBytes, r.src.queues[0].FreeBytes = 1e9, 120e6
		r.during(2*time.Second, nil)
		if normal, _ = r.rk.Limits(); normal.Reason != ratekeeper.StorageMinFreeSpace || normal.ServerID != "ss-a" {
			return fmt.Errorf("limit %+v, want storage_server_min_free_space on ss-a", normal)
		}
		r.src.queues[0].FreeBytes = 900e6
		r.during(10*time.Second, nil)
		return r.unthrottled(p)
	})
}

func TestOneLaggingZoneIsIgnored(t *testing.T) {
	runSim(t, 5, func(s *sim.Simulation) error {
		ss := func(id, zone string) ratekeeper.Queue {
			return ratekeeper.Queue{ID: id, Kind: ratekeeper.StorageServer, Zone: zone, Version: 10_000_000, DurableVersion: 4_500_000}
		}
		r := newRig(t, s, testKnobs(), ss("ss-a", "a"), ss("ss-a2", "a"), ss("ss-b", "b"), ss("ss-c", "c"))
		r.src.replicas = 3
		p := &fakeProxy{id: "grv", demand: 1000}
		r.runProxy(p)
		// Both servers of zone a are far past the 20 MB target.
		r.src.queues[0].QueueBytes, r.src.queues[1].QueueBytes = 60e6, 50e6
		r.during(5*time.Second, nil)
		if err := r.unthrottled(p); err != nil {
			return fmt.Errorf("with one zone lagging: %w", err)
		}
		if q := r.rk.QoS(); q.WorstQueueBytesStorageServer != 60e6 || q.LimitingQueueBytesStorageServer != 0 {
			return fmt.Errorf("qos %+v, want the ignored server's queue as the worst", q)
		}
		// A second zone lags: it limits, and status names it.
		r.src.queues[2].QueueBytes = 22e6
		r.during(2*time.Second, nil)
		normal, _ := r.rk.Limits()
		if normal.Reason != ratekeeper.StorageWriteQueue || normal.ServerID != "ss-b" {
			return fmt.Errorf("limit %+v, want storage_server_write_queue_size on ss-b", normal)
		}
		if q := r.rk.QoS(); q.PerformanceLimitedBy.ReasonServerID != "ss-b" || q.LimitingQueueBytesStorageServer != 22e6 {
			return fmt.Errorf("qos %+v", q)
		}
		// With single replication nothing may be ignored.
		r.src.queues[2].QueueBytes = 0
		r.src.replicas = 1
		r.during(time.Second, nil)
		if normal, _ = r.rk.Limits(); normal.ServerID != "ss-a" {
			return fmt.Errorf("limit %+v with one replica, want it set by ss-a", normal)
		}
		return nil
	})
}

func TestProxiesShareTheRate(t *testing.T) {
	runSim(t, 6, func(s *sim.Simulation) error {
		r := newRig(t, s, testKnobs(), ratekeeper.Queue{ID: "ss-1", Kind: ratekeeper.StorageServer, Version: 10_000_000, DurableVersion: 4_500_000})
		p1 := &fakeProxy{id: "grv-1", demand: 10_000}
		p2 := &fakeProxy{id: "grv-2", demand: 10_000}
		pl := &storagePlant{p: p1, q: &r.src.queues[0], bytesPerTxn: 100, drain: 0.5e6}
		// The plant sees both proxies' transactions.
		both := &fakeProxy{}
		pl.p = both
		r.src.step = func(now time.Time, dt time.Duration) {
			both.released, both.releasedB = p1.released+p2.released, p1.releasedB+p2.releasedB
			pl.step(now, dt)
		}
		r.runProxy(p1)
		r.runProxy(p2)
		r.during(120*time.Second, nil)
		b1, b2 := p1.released, p2.released
		r.during(20*time.Second, nil)
		r1, r2 := (p1.released-b1)/20, (p2.released-b2)/20
		if r1+r2 < 4000 || r1+r2 > 6000 || math.Abs(r1-r2) > 0.1*(r1+r2) {
			return fmt.Errorf("proxies released %.0f and %.0f tps; want about 2500 each", r1, r2)
		}
		return nil
	})
}

func TestSameSeedSameRun(t *testing.T) {
	run := func() uint64 {
		return runSim(t, 7, func(s *sim.Simulation) error {
			r := newRig(t, s, testKnobs(), ratekeeper.Queue{ID: "ss-1", Kind: ratekeeper.StorageServer, Version: 10_000_000, DurableVersion: 4_500_000})
			p := &fakeProxy{id: "grv", demand: 10_000}
			pl := &storagePlant{p: p, q: &r.src.queues[0], bytesPerTxn: 100, drain: 0.5e6}
			r.src.step = pl.step
			r.runProxy(p)
			r.during(60*time.Second, nil)
			return nil
		}).TraceHash
	}
	if a, b := run(), run(); a != b {
		t.Fatalf("trace hashes %x and %x for one seed", a, b)
	}
}

func TestConfigIsValidated(t *testing.T) {
	s := sim.New(8, sim.Options{})
	env := s.AddProcess(s.AddMachine(flow.Locality{}), 1, func(*flow.Env) {}).Env()
	src := ratekeeper.SourceFunc(func() ratekeeper.Snapshot { return ratekeeper.Snapshot{} })
	for _, cfg := range []ratekeeper.Config{
		{},
		{Source: src, Knobs: ratekeeper.Knobs{Default: ratekeeper.Targets{StorageTargetBytes: 10, StorageSpringBytes: 20}}},
		{Source: src, Knobs: ratekeeper.Knobs{Batch: ratekeeper.Targets{LogSpringBytes: -1}}},
		{Source: src, Knobs: ratekeeper.Knobs{Lease: -time.Second}},
		{Source: src, Knobs: ratekeeper.Knobs{MinAvailableSpaceRatio: 2}},
	} {
		if _, err := ratekeeper.New(env, cfg); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
	}
	if _, err := ratekeeper.New(env, ratekeeper.Config{Source: src}); err != nil {
		t.Fatal(err)
	}
}
