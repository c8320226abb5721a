package engine

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/google/go-cmp/cmp"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/sim"
)

// crashBatches are the batches a crash test commits in order: batch i
// (from 1) is decided by the seed and i alone, and models[j] is the data
// after the first j batches.
type crashBatches struct {
	seed     uint64
	maxValue int
	ops      [][]testOp
	models   []model
}

func newCrashBatches(seed uint64, maxValue int) *crashBatches {
	return &crashBatches{seed: seed, maxValue: maxValue, ops: [][]testOp{nil}, models: []model{{}}}
}

func (b *crashBatches) batch(i int) []testOp {
	for len(b.ops) <= i {
		n := len(b.ops)
		ops := randomOps(rand.New(rand.NewPCG(b.seed, uint64(n))), 6, b.maxValue)
		m := cloneModel(b.models[n-1])
		m.apply(ops)
		b.ops, b.models = append(b.ops, ops), append(b.models, m)
	}
	return b.ops[i]
}

// match returns the j in [lo, hi] whose model equals got, or an error
// describing how got differs from the committed state lo.
func (b *crashBatches) match(got model, lo, hi int) (int, error) {
	b.batch(hi)
	for j := lo; j <= hi; j++ {
		if cmp.Equal(b.models[j], got) {
			return j, nil
		}
	}
	return -1, fmt.Errorf("recovered data is not the state after any of batches %d..%d; diff from state %d (-want +got):\n%s",
		lo, hi, lo, cmp.Diff(b.models[lo], got))
}

func crashSeeds(t *testing.T, full int) int {
	if testing.Short() {
		return full / 5
	}
	return full
}

// TestPebbleCrashKeepsExactlyCommitted commits batches to Pebble on a
// crashable in-memory filesystem, clones the filesystem as a crash would
// leave it at a random moment (keeping a random share of unsynced data),
// and checks the clone opens to exactly the committed batches, plus or
// minus the whole of the one in flight.
func TestPebbleCrashKeepsExactlyCommitted(t *testing.T) {
	for seed := uint64(1); seed <= uint64(crashSeeds(t, 25)); seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { pebbleCrashRun(t, seed) })
	}
}

func pebbleCrashRun(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	open := func(fs vfs.FS) (Engine, error) {
		// A small memtable so flushes and compactions run during the test.
		return OpenPebble("db", PebbleOptions{FS: fs, CacheBytes: 1 << 20, MemTableBytes: 256 << 10, Logger: quietLogger{t}})
	}
	fs := vfs.NewCrashableMem()
	e, err := open(fs)
	if err != nil {
		t.Fatal(err)
	}
	batches := newCrashBatches(seed, 3000)
	const total = 600
	batches.batch(total)
	p := startReal(t)
	var started, committed atomic.Int64
	var stop atomic.Bool
	writer := make(chan error, 1)
	go func() {
		writer <- p.run(t, func(c *flow.Ctx) error {
			for i := 1; i <= total && !stop.Load(); i++ {
				started.Store(int64(i))
				if err := e.Commit(c, toBatch(e, batches.ops[i])); err != nil {
					return err
				}
				committed.Store(int64(i))
			}
			return nil
		})
	}()
	target := int64(rng.IntN(total))
	for committed.Load() < target && started.Load() < total {
		time.Sleep(50 * time.Microsecond)
	}
	lo := committed.Load()
	crashed := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: rng.IntN(101), RNG: rand.New(rand.NewPCG(seed, 8))})
	hi := started.Load()
	stop.Store(true)
	if err := <-writer; err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	e, err = open(crashed)
	if err != nil {
		t.Fatalf("reopening after crash: %v", err)
	}
	defer e.Close()
	got, err := dump(e)
	if err != nil {
		t.Fatal(err)
	}
	j, err := batches.match(got, int(lo), int(hi))
	if err != nil {
		t.Fatal(err)
	}
	// The recovered engine takes new commits on top of what it recovered.
	next := batches.batch(j + 1)
	if err := p.commit(t, e, toBatch(e, next)); err != nil {
		t.Fatal(err)
	}
	if got, err = dump(e); err != nil || !cmp.Equal(got, batches.models[j+1]) {
		t.Fatalf("after a commit on the recovered engine: err %v, diff:\n%s", err, cmp.Diff(batches.models[j+1], got))
	}
}

// TestMemoryCrashKeepsExactlyCommitted runs the memory engine in a
// simulated process that commits batches and is killed at random moments
// (its disk losing or tearing unsynced writes) and rebooted, several times
// per seed; after each reboot the engine must hold exactly the committed
// batches, plus or minus the whole of the one in flight.
func TestMemoryCrashKeepsExactlyCommitted(t *testing.T) {
	seeds, snapshotted := crashSeeds(t, 100), 0
	for seed := uint64(1); seed <= uint64(seeds); seed++ {
		lastLog, err := memoryCrashRun(seed)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if lastLog > 1 {
			snapshotted++
		}
	}
	// Crashes must also have hit engines that had snapshotted.
	if snapshotted < seeds/2 {
		t.Fatalf("only %d of %d seeds ever wrote a snapshot", snapshotted, seeds)
	}
}

// memoryCrashRun runs one seed and returns the number of the log the
// engine last used (above 1 once it has written a snapshot).
func memoryCrashRun(seed uint64) (lastLog uint64, _ error) {
	const crashes = 6
	s := sim.New(seed, sim.Options{Buggify: true})
	batches := newCrashBatches(seed, 300)
	var started, committed, recoveries int
	var failure error
	boot := func(env *flow.Env) {
		env.Spawn("engine", func(c *flow.Ctx) error {
			e, err := openMemory(c, env.Files(), "mem", smallMemoryOptions)
			if err != nil {
				failure = fmt.Errorf("recovery %d: %w", recoveries, err)
				return err
			}
			got, err := dump(e)
			if err == nil {
				started, err = batches.match(got, committed, started)
			}
			if err != nil {
				failure = fmt.Errorf("recovery %d: %w", recoveries, err)
				return err
			}
			committed = started
			recoveries++
			defer func() { lastLog = e.logSeq }()
			for i := started + 1; ; i++ {
				started = i
				if err := e.Commit(c, toBatch(e, batches.batch(i))); err != nil {
					failure = fmt.Errorf("commit %d: %w", i, err)
					return err
				}
				committed = i
			}
		})
	}
	p := s.AddProcess(s.AddMachine(flow.Locality{}), 1, boot)
	failed := func() bool { return failure != nil }
	for range crashes {
		s.Run(time.Duration(1+s.Rand().IntN(300))*time.Millisecond, failed)
		if failure != nil {
			return 0, failure
		}
		s.Kill(p)
		s.Restart(p)
	}
	// A kill may land while the engine is still recovering; the last boot
	// is left alone and must recover.
	before := recoveries
	s.Run(time.Second, func() bool { return failure != nil || recoveries > before })
	s.Kill(p) // unwinds the last engine actor, recording lastLog
	if failure != nil {
		return 0, failure
	}
	if recoveries == before {
		return 0, fmt.Errorf("the last boot did not recover within a second")
	}
	if committed < crashes {
		return 0, fmt.Errorf("only %d batches committed over the run", committed)
	}
	return lastLog, nil
}
