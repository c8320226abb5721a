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
// commits each write durably; it returns writes per second.
func PebbleCeiling(tmp string, goroutines int, d time.Duration) (float64, error) {
	dir, err := os.MkdirTemp(tmp, "strata-bench-pebble-")
	if err != nil {
		return 0, fmt.Errorf("pebble ceiling directory: %w", err)
	}
	defer os.RemoveAll(dir)
	db, err := pebble.Open(dir, &pebble.Options{Logger: quietLogger{pebble.DefaultLogger}})
	if err != nil {
		return 0, fmt.Errorf("opening pebble for the ceiling: %w", err)
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
	elapsed := time.Since(start)
	if err := db.Close(); err != nil && firstErr == nil {
		firstErr = err
	}
	if firstErr != nil {
		return 0, fmt.Errorf("pebble ceiling: %w", firstErr)
	}
	return float64(writes.Load()) / elapsed.Seconds(), nil
}

// quietLogger drops Pebble's informational lines from the report and
// keeps its errors and fatal handling.
type quietLogger struct{ pebble.Logger }

func (quietLogger) Infof(string, ...any) {}
