package diskqueue_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/server/tlog/diskqueue"
)

// runReal runs body as an actor of a real process whose data directory is
// dir (files on the operating system, fdatasync) and returns its error.
func runReal(tb testing.TB, dir string, body func(c *flow.Ctx) error) error {
	tb.Helper()
	p, err := flow.NewRealProcess(flow.RealConfig{ListenAddress: "127.0.0.1:0", DataDir: dir, ProcessID: "diskqueue-test"})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	var result error
	if err := p.Do(func(e *flow.Env) {
		e.Spawn("test", func(c *flow.Ctx) error {
			defer cancel()
			result = body(c)
			return result
		})
	}); err != nil {
		cancel()
		return err
	}
	if err := p.Run(ctx); err != nil {
		return err
	}
	return result
}

// The queue works the same on the operating system's files.
func TestRealFilesReopen(t *testing.T) {
	dir := t.TempDir()
	err := runReal(t, dir, func(c *flow.Ctx) error {
		q, _, err := openQueue(c)
		if err != nil {
			return err
		}
		for v := int64(1); v <= 60; v += 10 {
			if err := pushCommit(c, q, span(v, v+9)...); err != nil {
				return err
			}
		}
		if err := q.Pop(c, 30); err != nil {
			return err
		}
		return q.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
	err = runReal(t, dir, func(c *flow.Ctx) error {
		_, recs, err := openQueue(c)
		if err != nil {
			return err
		}
		if len(recs) == 0 || recs[0].Version > 30 {
			return fmt.Errorf("recovered %d records from version %v; want all from 30 on", len(recs), recs)
		}
		if d := cmp.Diff(recordsFor(span(recs[0].Version, 60)...), recs); d != "" {
			return fmt.Errorf("recovered (-want +got):\n%s", d)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// BenchmarkCommitReal measures commits per second of the queue on a real
// temporary directory with fdatasync, with many actors committing at once
// so that group commit shows: each actor pushes a 100-byte record and
// commits, in a loop. maxsyncs=1 is the queue without overlapping syncs.
func BenchmarkCommitReal(b *testing.B) {
	for _, committers := range []int{1, 16, 256} {
		for _, maxSyncs := range []int{1, diskqueue.DefaultMaxSyncs} {
			b.Run(fmt.Sprintf("committers=%d/maxsyncs=%d", committers, maxSyncs), func(b *testing.B) {
				benchmarkCommits(b, committers, maxSyncs)
			})
		}
	}
}

func benchmarkCommits(b *testing.B, committers, maxSyncs int) {
	payload := make([]byte, 100)
	var syncs uint64
	var latency time.Duration
	b.StopTimer()
	err := runReal(b, b.TempDir(), func(c *flow.Ctx) error {
		q, _, err := diskqueue.Open(c, c.Files(), "tlog", diskqueue.Options{MaxSyncs: maxSyncs})
		if err != nil {
			return err
		}
		remaining := b.N
		var done []flow.Future[struct{}]
		b.StartTimer()
		for i := range committers {
			a := c.Spawn(fmt.Sprintf("committer%d", i), func(c *flow.Ctx) error {
				for remaining > 0 {
					remaining--
					if err := q.Push(q.LastVersion()+1, payload); err != nil {
						return err
					}
					start := c.Now()
					if err := q.Commit(c); err != nil {
						return err
					}
					latency += c.Now().Sub(start)
				}
				return nil
			})
			done = append(done, a.Done())
		}
		for _, d := range done {
			if _, err := flow.Await(c, d); err != nil {
				return err
			}
		}
		b.StopTimer()
		syncs = q.Stats().Syncs
		return q.Close()
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
	b.ReportMetric(float64(b.N)/float64(max(syncs, 1)), "commits/sync")
	b.ReportMetric(float64(latency.Microseconds())/float64(max(b.N, 1)), "µs/commit")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkCommitRealOpenLoop measures the latency of commits that arrive
// at a fixed rate, as a log's pushes do (one per commit batch), rather than
// in lock step: a commit arriving while a sync runs waits for that sync
// first unless syncs overlap. maxsyncs=1 is the queue without overlap.
func BenchmarkCommitRealOpenLoop(b *testing.B) {
	for _, every := range []time.Duration{time.Millisecond, 250 * time.Microsecond} {
		for _, maxSyncs := range []int{1, diskqueue.DefaultMaxSyncs} {
			b.Run(fmt.Sprintf("every=%v/maxsyncs=%d", every, maxSyncs), func(b *testing.B) {
				benchmarkOpenLoop(b, every, maxSyncs)
			})
		}
	}
}

func benchmarkOpenLoop(b *testing.B, every time.Duration, maxSyncs int) {
	payload := make([]byte, 1000)
	var latencies []time.Duration
	var syncs uint64
	err := runReal(b, b.TempDir(), func(c *flow.Ctx) error {
		q, _, err := diskqueue.Open(c, c.Files(), "tlog", diskqueue.Options{MaxSyncs: maxSyncs})
		if err != nil {
			return err
		}
		var done []flow.Future[struct{}]
		b.ResetTimer()
		next := c.Now()
		for i := range b.N {
			next = next.Add(every)
			if err := c.Sleep(next.Sub(c.Now())); err != nil {
				return err
			}
			a := c.Spawn(fmt.Sprintf("commit%d", i), func(c *flow.Ctx) error {
				start := c.Now()
				if err := q.Push(q.LastVersion()+1, payload); err != nil {
					return err
				}
				if err := q.Commit(c); err != nil {
					return err
				}
				latencies = append(latencies, c.Now().Sub(start))
				return nil
			})
			done = append(done, a.Done())
		}
		for _, d := range done {
			if _, err := flow.Await(c, d); err != nil {
				return err
			}
		}
		b.StopTimer()
		syncs = q.Stats().Syncs
		return q.Close()
	})
	if err != nil {
		b.Fatal(err)
	}
	slices.Sort(latencies)
	b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(latencies[len(latencies)*9/10].Microseconds()), "p90-µs")
	b.ReportMetric(float64(b.N)/float64(max(syncs, 1)), "commits/sync")
	b.ReportMetric(0, "ns/op")
}
