package engine

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
)

// Benchmarks run on a real directory (the machine's disk, with real
// fsyncs) and the real runtime. ns/op is per commit, Get or Scan.

// benchEngines opens each engine kind with its production defaults on a
// temporary directory.
var benchEngines = []struct {
	name string
	open func(b *testing.B, c *flow.Ctx) (Engine, error)
}{
	{"ssd", func(b *testing.B, _ *flow.Ctx) (Engine, error) {
		return OpenPebble(b.TempDir(), PebbleOptions{Logger: quietLogger{b}})
	}},
	{"memory", func(b *testing.B, c *flow.Ctx) (Engine, error) {
		fs, err := flow.NewOSFS(b.TempDir())
		if err != nil {
			return nil, err
		}
		return OpenMemory(c, fs, "mem")
	}},
}

func benchOpen(b *testing.B, p *realProc, open func(b *testing.B, c *flow.Ctx) (Engine, error)) Engine {
	var e Engine
	err := p.run(b, func(c *flow.Ctx) (err error) {
		e, err = open(b, c)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	return e
}

func benchKey(i int) []byte { return binary.BigEndian.AppendUint64([]byte("bench/"), uint64(i)) }

// BenchmarkSyncedCommit commits single-key batches (16-byte key, 100-byte
// value), each synced, from 1 actor or from 64 concurrent actors of one
// process. The memory engine allows one commit at a time, so it has only
// the single-actor case.
func BenchmarkSyncedCommit(b *testing.B) {
	for _, be := range benchEngines {
		for _, actors := range []int{1, 64} {
			if be.name == "memory" && actors > 1 {
				continue
			}
			b.Run(fmt.Sprintf("%s/actors=%d", be.name, actors), func(b *testing.B) {
				p := startReal(b)
				e := benchOpen(b, p, be.open)
				value := make([]byte, 100)
				b.ResetTimer()
				err := p.run(b, func(c *flow.Ctx) error {
					next := 0 // actors take turns with the baton, so a plain counter is safe
					var done []flow.Future[struct{}]
					for range actors {
						done = append(done, c.Spawn("committer", func(c *flow.Ctx) error {
							for ; next < b.N; next++ {
								batch := e.NewBatch()
								batch.Set(benchKey(next), value)
								if err := e.Commit(c, batch); err != nil {
									return err
								}
							}
							return nil
						}).Done())
					}
					for _, d := range done {
						if _, err := flow.Await(c, d); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}

// BenchmarkRawPebbleSyncedBatches is the ceiling the ssd engine is
// compared with: Pebble used directly (same options as OpenPebble), 64
// goroutines each applying synced single-key batches.
func BenchmarkRawPebbleSyncedBatches(b *testing.B) {
	db, err := pebble.Open(b.TempDir(), pebbleOptions(PebbleOptions{Logger: quietLogger{b}}))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	value := make([]byte, 100)
	var next atomic.Int64
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((64 + procs - 1) / procs) // RunParallel starts parallelism*GOMAXPROCS goroutines
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			batch := db.NewBatch()
			if err := batch.Set(benchKey(int(next.Add(1))), value, nil); err != nil {
				b.Error(err)
				return
			}
			if err := db.Apply(batch, pebble.Sync); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// benchLoaded returns an engine holding n keys with 100-byte values.
func benchLoaded(b *testing.B, p *realProc, open func(b *testing.B, c *flow.Ctx) (Engine, error), n int) Engine {
	e := benchOpen(b, p, open)
	value := make([]byte, 100)
	for start := 0; start < n; start += 10_000 {
		batch := e.NewBatch()
		for i := start; i < min(n, start+10_000); i++ {
			batch.Set(benchKey(i), value)
		}
		if err := p.commit(b, e, batch); err != nil {
			b.Fatal(err)
		}
	}
	return e
}

const benchKeys = 100_000

// BenchmarkGet reads random present keys from 100,000.
func BenchmarkGet(b *testing.B) {
	for _, be := range benchEngines {
		b.Run(be.name, func(b *testing.B) {
			e := benchLoaded(b, startReal(b), be.open, benchKeys)
			rng := rand.New(rand.NewPCG(1, 2))
			b.ResetTimer()
			for range b.N {
				if _, found, err := e.Get(benchKey(rng.IntN(benchKeys))); err != nil || !found {
					b.Fatalf("get: found %v, %v", found, err)
				}
			}
		})
	}
}

// BenchmarkScan100 scans 100 pairs from a random key of 100,000.
func BenchmarkScan100(b *testing.B) {
	for _, be := range benchEngines {
		for _, reverse := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/reverse=%v", be.name, reverse), func(b *testing.B) {
				e := benchLoaded(b, startReal(b), be.open, benchKeys)
				rng := rand.New(rand.NewPCG(1, 2))
				end := benchKey(benchKeys)
				b.ResetTimer()
				for range b.N {
					r := kv.KeyRange{Begin: benchKey(rng.IntN(benchKeys - 100)), End: end}
					if reverse {
						r = kv.KeyRange{Begin: benchKey(0), End: benchKey(100 + rng.IntN(benchKeys-100))}
					}
					kvs, _, err := e.Scan(r, reverse, 100, 0)
					if err != nil || len(kvs) != 100 {
						b.Fatalf("scan: %d pairs, %v", len(kvs), err)
					}
				}
			})
		}
	}
}
