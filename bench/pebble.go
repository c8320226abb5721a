package bench

import (
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// PebbleCeiling measures raw Pebble on this machine: goroutines writers,
// each committing single-key batches (16-byte key, 8–100-byte value) with
// pebble.Sync back to back for d, in a fresh directory under tmp. Pebble
// groups concurrent synced batches into one fsync, so this is the most
// synced single-key writes per second the disk allows a store that
// commits each write durably. A single writer then commits for a second
// more: its latency is the disk's synced-commit latency, the floor under any
// commit latency.
func PebbleCeiling(tmp string, goroutines int, d time.Duration) (PebbleResult, error) {
	dir, err := os.MkdirTemp(tmp, "strata-bench-pebble-")
	if err != nil {
		return PebbleResult{}, fmt.Errorf("pebble ceiling directory: %w", err)
	}
	defer os.RemoveAll(dir)
	db, err := pebble.Open(dir, &pebble.Options{Logger: quietLogger{pebble.DefaultLogger}})
	if err != nil {
		return PebbleResult{}, fmt.Errorf("opening pebble for the ceiling: %w", err)
	}
	var writes atomic.Uint64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	until := start.Add(d)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 42))
			for time.Now().Before(until) {
				b := db.NewBatch()
				_ = b.Set(Key(r.IntN(1_000_000)), Value(r), nil)
				if err := b.Commit(pebble.Sync); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				writes.Add(1)
			}
		}()
	}
	wg.Wait()
	res := PebbleResult{WritesPerSecond: float64(writes.Load()) / time.Since(start).Seconds()}
	if firstErr == nil {
		res.SyncedCommit, firstErr = singleWriter(db, time.Second)
	}
	if err := db.Close(); err != nil && firstErr == nil {
		firstErr = err
	}
	if firstErr != nil {
		return PebbleResult{}, fmt.Errorf("pebble ceiling: %w", firstErr)
	}
	return res, nil
}

// PebbleResult is what PebbleCeiling measured.
type PebbleResult struct {
	// WritesPerSecond is the many-writer synced single-key batch rate.
	WritesPerSecond float64 `json:"writes_per_s"`
	// SyncedCommit is one writer's synced-commit latency.
	SyncedCommit LatencySummary `json:"synced_commit"`
}

// singleWriter commits synced single-key batches from one goroutine for d.
func singleWriter(db *pebble.DB, d time.Duration) (LatencySummary, error) {
	l := newLatencies()
	r := rand.New(rand.NewPCG(7, 7))
	for until := time.Now().Add(d); time.Now().Before(until); {
		b := db.NewBatch()
		_ = b.Set(Key(r.IntN(1_000_000)), Value(r), nil)
		t0 := time.Now()
		if err := b.Commit(pebble.Sync); err != nil {
			return LatencySummary{}, err
		}
		l.Observe(time.Since(t0))
	}
	return summarise(l), nil
}

// quietLogger drops Pebble's informational lines from the report and
// keeps its errors and fatal handling.
type quietLogger struct{ pebble.Logger }

func (quietLogger) Infof(string, ...any) {}
