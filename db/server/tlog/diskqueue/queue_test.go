package diskqueue_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/server/tlog/diskqueue"
)

const smallSegments = 1024

func openQueue(c *flow.Ctx) (*diskqueue.Queue, []diskqueue.Record, error) {
	return diskqueue.Open(c, c.Files(), "tlog", diskqueue.Options{SegmentBytes: smallSegments})
}

// reopen closes q and opens the queue again, as a restart would.
func reopen(c *flow.Ctx, q *diskqueue.Queue) (*diskqueue.Queue, []diskqueue.Record, error) {
	if err := q.Close(); err != nil {
		return nil, nil, err
	}
	return openQueue(c)
}

func segmentFiles(c *flow.Ctx) ([]string, error) {
	return c.Files().List("tlog")
}

func TestReopenReturnsCommittedRecords(t *testing.T) {
	err := runInProcess(1, func(c *flow.Ctx) error {
		q, recs, err := openQueue(c)
		if err != nil {
			return err
		}
		if len(recs) != 0 || q.LastVersion() != 0 {
			return fmt.Errorf("a new queue recovered %d records, last version %d", len(recs), q.LastVersion())
		}
		if err := pushCommit(c, q, span(1, 100)...); err != nil {
			return err
		}
		q, recs, err = reopen(c, q)
		if err != nil {
			return err
		}
		if d := cmp.Diff(recordsFor(span(1, 100)...), recs); d != "" {
			return fmt.Errorf("recovered records (-want +got):\n%s", d)
		}
		if q.LastVersion() != 100 || q.DurableVersion() != 100 {
			return fmt.Errorf("after reopen last version %d, durable %d; want 100", q.LastVersion(), q.DurableVersion())
		}
		// Appends continue the recovered segment and survive another restart.
		if err := pushCommit(c, q, 101, 105); err != nil {
			return err
		}
		_, recs, err = reopen(c, q)
		if err != nil {
			return err
		}
		if d := cmp.Diff(recordsFor(append(span(1, 101), 105)...), recs); d != "" {
			return fmt.Errorf("recovered records after appending (-want +got):\n%s", d)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestPushRejectsBadRecords(t *testing.T) {
	err := runInProcess(1, func(c *flow.Ctx) error {
		q, _, err := openQueue(c)
		if err != nil {
			return err
		}
		if err := q.Push(10, nil); err != nil {
			return err
		}
		for _, v := range []int64{10, 9} {
			if err := q.Push(v, nil); !errors.Is(err, diskqueue.ErrVersionOrder) {
				return fmt.Errorf("push of version %d after 10: got %v, want ErrVersionOrder", v, err)
			}
		}
		if err := q.Push(11, make([]byte, diskqueue.MaxPayload+1)); !errors.Is(err, diskqueue.ErrTooLarge) {
			return fmt.Errorf("push of an oversized payload: got %v, want ErrTooLarge", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Committers that arrive while a sync runs share the next one.
func TestConcurrentCommitsShareSyncs(t *testing.T) {
	const committers = 20
	err := runInProcess(1, func(c *flow.Ctx) error {
		q, _, err := openQueue(c)
		if err != nil {
			return err
		}
		var actors []flow.Waitable
		for i := range committers {
			a := c.Spawn(fmt.Sprintf("committer%d", i), func(c *flow.Ctx) error {
				return pushCommit(c, q, q.LastVersion()+1)
			})
			actors = append(actors, a.Done())
		}
		for _, w := range actors {
			if _, err := flow.Await(c, w.(flow.Future[struct{}])); err != nil {
				return err
			}
		}
		if q.DurableVersion() != committers {
			return fmt.Errorf("durable version %d, want %d", q.DurableVersion(), committers)
		}
		// All the committers pushed before the first sync started, so it
		// covers them all.
		if got := q.Stats().Syncs; got != 1 {
			return fmt.Errorf("%d concurrent commits took %d syncs, want 1", committers, got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A commit arriving while a sync runs starts a sync of its own at once
// instead of waiting for the running one, and returns only once everything
// pushed before it is durable, whichever of the two syncs ends first.
func TestCommitDuringSyncOverlapsIt(t *testing.T) {
	for seed := uint64(1); seed <= 30; seed++ {
		err := runInProcess(seed, func(c *flow.Ctx) error {
			q, _, err := openQueue(c)
			if err != nil {
				return err
			}
			// The first segment exists before the syncs start, so neither
			// flush waits for a new one.
			if err := pushCommit(c, q, 1); err != nil {
				return err
			}
			var errs [2]error
			var durableAt [2]int64
			first := c.Spawn("first", func(c *flow.Ctx) error {
				errs[0] = pushCommit(c, q, 2)
				durableAt[0] = q.DurableVersion()
				return nil
			})
			// Let the first sync start, then commit more while it runs.
			if err := c.Yield(); err != nil {
				return err
			}
			if err := c.Yield(); err != nil {
				return err
			}
			errs[1] = pushCommit(c, q, 3)
			durableAt[1] = q.DurableVersion()
			if _, err := flow.Await(c, first.Done()); err != nil {
				return err
			}
			if err := errors.Join(errs[:]...); err != nil {
				return err
			}
			if durableAt[0] < 2 || durableAt[1] < 3 {
				return fmt.Errorf("commits returned at durable versions %v, want at least [2 3]", durableAt)
			}
			if st := q.Stats(); st.OverlappedSyncs != 1 || st.Syncs != 3 {
				return fmt.Errorf("%d syncs, %d overlapped; want 3 and 1", st.Syncs, st.OverlappedSyncs)
			}
			_, recs, err := reopen(c, q)
			if err != nil {
				return err
			}
			if diff := cmp.Diff(recordsFor(1, 2, 3), recs); diff != "" {
				return fmt.Errorf("reopened records (-want +got):\n%s", diff)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
	}
}

// With MaxSyncs 1 a commit arriving during a sync waits for it, then
// shares the next one.
func TestMaxSyncsOneSerializesSyncs(t *testing.T) {
	err := runInProcess(1, func(c *flow.Ctx) error {
		q, _, err := diskqueue.Open(c, c.Files(), "tlog", diskqueue.Options{SegmentBytes: smallSegments, MaxSyncs: 1})
		if err != nil {
			return err
		}
		if err := pushCommit(c, q, 1); err != nil {
			return err
		}
		var firstErr error
		first := c.Spawn("first", func(c *flow.Ctx) error {
			firstErr = pushCommit(c, q, 2)
			return nil
		})
		if err := c.Yield(); err != nil {
			return err
		}
		if err := c.Yield(); err != nil {
			return err
		}
		if err := pushCommit(c, q, 3); err != nil {
			return err
		}
		if _, err := flow.Await(c, first.Done()); err != nil {
			return err
		}
		if firstErr != nil {
			return firstErr
		}
		if st := q.Stats(); st.OverlappedSyncs != 0 || q.DurableVersion() != 3 {
			return fmt.Errorf("%d overlapped syncs, durable version %d; want 0 and 3", st.OverlappedSyncs, q.DurableVersion())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestPopReclaimsWholeSegments(t *testing.T) {
	err := runInProcess(2, func(c *flow.Ctx) error {
		q, _, err := openQueue(c)
		if err != nil {
			return err
		}
		for v := int64(1); v <= 200; v += 10 {
			if err := pushCommit(c, q, span(v, v+9)...); err != nil {
				return err
			}
		}
		before, err := segmentFiles(c)
		if err != nil {
			return err
		}
		bytesBefore := q.Stats().Bytes
		if got := q.ReclaimedBelow(); got != 0 {
			return fmt.Errorf("before any pop, reclaimed below %d; want 0", got)
		}
		if err := q.Pop(c, 100); err != nil {
			return err
		}
		after, err := segmentFiles(c)
		if err != nil {
			return err
		}
		if len(after) >= len(before) || q.Stats().Segments != len(after) {
			return fmt.Errorf("pop to 100 left %d of %d segment files (stats say %d)", len(after), len(before), q.Stats().Segments)
		}
		if st := q.Stats(); st.Reclaimed == 0 || st.Bytes != bytesBefore-st.Reclaimed {
			return fmt.Errorf("stats after pop %+v, bytes before %d", st, bytesBefore)
		}
		q, recs, err := reopen(c, q)
		if err != nil {
			return err
		}
		// Everything from 100 on survives; below it, at most the rest of
		// the segment holding 100 does.
		first := recs[0].Version
		if first > 100 || first < 100-smallSegments/20 {
			return fmt.Errorf("after pop to 100 the queue starts at version %d", first)
		}
		if d := cmp.Diff(recordsFor(span(first, 200)...), recs); d != "" {
			return fmt.Errorf("recovered after pop (-want +got):\n%s", d)
		}
		// The versions are consecutive, so the reclaimed prefix ends right
		// before the first record left.
		if got := q.ReclaimedBelow(); got != first {
			return fmt.Errorf("after reopening, reclaimed below %d; want %d", got, first)
		}
		// Popping everything keeps the last segment, so the queue still
		// knows its last version.
		if err := q.Pop(c, 1000); err != nil {
			return err
		}
		if files, err := segmentFiles(c); err != nil || len(files) != 1 {
			return fmt.Errorf("after popping everything: files %v, err %v; want one segment", files, err)
		}
		q, recs, err = reopen(c, q)
		if err != nil {
			return err
		}
		if len(recs) == 0 || q.LastVersion() != 200 {
			return fmt.Errorf("after popping everything: %d records, last version %d; want the last segment, 200", len(recs), q.LastVersion())
		}
		return q.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A corrupt byte in the middle of the queue cuts it there: the records
// before it are recovered, the damaged record and everything after it are
// discarded from the files, and the queue goes on from there.
func TestCorruptionInTheMiddleTruncates(t *testing.T) {
	err := runInProcess(3, func(c *flow.Ctx) error {
		q, _, err := openQueue(c)
		if err != nil {
			return err
		}
		for v := int64(1); v <= 100; v += 10 {
			if err := pushCommit(c, q, span(v, v+9)...); err != nil {
				return err
			}
		}
		if err := q.Close(); err != nil {
			return err
		}
		files, err := segmentFiles(c)
		if err != nil {
			return err
		}
		if len(files) < 5 {
			return fmt.Errorf("want at least 5 segments, got %v", files)
		}
		victim := "tlog/" + files[2]
		if err := corruptMiddle(c, victim); err != nil {
			return err
		}
		q, recs, err := openQueue(c)
		if err != nil {
			return err
		}
		n := len(recs)
		if n == 0 || n >= 100 {
			return fmt.Errorf("recovered %d records after corrupting %s", n, victim)
		}
		if d := cmp.Diff(recordsFor(span(1, int64(n))...), recs); d != "" {
			return fmt.Errorf("recovered (-want +got):\n%s", d)
		}
		left, err := segmentFiles(c)
		if err != nil {
			return err
		}
		if d := cmp.Diff(files[:3], left); d != "" {
			return fmt.Errorf("segment files after repair (-want +got):\n%s", d)
		}
		// The repaired queue takes new records after the cut.
		next := int64(n + 1000)
		if err := pushCommit(c, q, next); err != nil {
			return err
		}
		_, recs, err = reopen(c, q)
		if err != nil {
			return err
		}
		if d := cmp.Diff(recordsFor(append(span(1, int64(n)), next)...), recs); d != "" {
			return fmt.Errorf("recovered after repair and append (-want +got):\n%s", d)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// corruptMiddle flips a byte in the middle of a file, durably.
func corruptMiddle(c *flow.Ctx, name string) error {
	f, err := c.Files().Open(name, false)
	if err != nil {
		return err
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return err
	}
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, size/2); err != nil {
		return err
	}
	b[0] ^= 0x5a
	if _, err := f.WriteAt(b, size/2); err != nil {
		return err
	}
	return f.Sync(c)
}

// Segments are filled with zeros ahead of their records; reopening cuts
// the zeros off, and the queue goes on appending and preallocating.
func TestPreallocatedSpaceIsNotARecord(t *testing.T) {
	err := runInProcess(5, func(c *flow.Ctx) error {
		opts := diskqueue.Options{SegmentBytes: 1 << 20, PreallocBytes: 64 << 10}
		q, _, err := diskqueue.Open(c, c.Files(), "tlog", opts)
		if err != nil {
			return err
		}
		if err := pushCommit(c, q, span(1, 10)...); err != nil {
			return err
		}
		files, err := segmentFiles(c)
		if err != nil || len(files) != 1 {
			return fmt.Errorf("files %v, err %v; want one segment", files, err)
		}
		f, err := c.Files().Open("tlog/"+files[0], false)
		if err != nil {
			return err
		}
		if size, err := f.Size(); err != nil || size != q.Stats().Bytes+64<<10 {
			return fmt.Errorf("segment file is %d bytes (err %v), want the %d bytes of records and 64 KiB preallocated", size, err, q.Stats().Bytes)
		}
		for round := range 2 {
			if err := q.Close(); err != nil {
				return err
			}
			var recs []diskqueue.Record
			q, recs, err = diskqueue.Open(c, c.Files(), "tlog", opts)
			if err != nil {
				return err
			}
			last := int64(10 + 10*round)
			if d := cmp.Diff(recordsFor(span(1, last)...), recs); d != "" {
				return fmt.Errorf("round %d: recovered (-want +got):\n%s", round, d)
			}
			if err := pushCommit(c, q, span(last+1, last+10)...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A torn tail (a record cut short) is dropped and the file truncated.
func TestTornTailIsTruncated(t *testing.T) {
	err := runInProcess(4, func(c *flow.Ctx) error {
		q, _, err := diskqueue.Open(c, c.Files(), "tlog", diskqueue.Options{})
		if err != nil {
			return err
		}
		if err := pushCommit(c, q, span(1, 10)...); err != nil {
			return err
		}
		// The records end here; zeros preallocated for more follow.
		size := q.Stats().Bytes
		if err := q.Close(); err != nil {
			return err
		}
		files, err := segmentFiles(c)
		if err != nil || len(files) != 1 {
			return fmt.Errorf("files %v, err %v; want one segment", files, err)
		}
		f, err := c.Files().Open("tlog/"+files[0], false)
		if err != nil {
			return err
		}
		if err := f.Truncate(size - 3); err != nil {
			return err
		}
		q, recs, err := diskqueue.Open(c, c.Files(), "tlog", diskqueue.Options{})
		if err != nil {
			return err
		}
		if d := cmp.Diff(recordsFor(span(1, 9)...), recs); d != "" {
			return fmt.Errorf("recovered (-want +got):\n%s", d)
		}
		if got := q.Stats().Bytes; got >= size-3 {
			return fmt.Errorf("queue is %d bytes after cutting the torn record of a %d-byte file", got, size)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
