package diskqueue_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/server/tlog/diskqueue"
	"github.com/strata-db/strata/db/sim"
)

// crashModel is what the test knows the queue must hold.
type crashModel struct {
	// pushed is what the live incarnation's queue holds, in order: the
	// records it recovered, then those pushed since.
	pushed []diskqueue.Record
	// committed is the highest version a returned Commit covered.
	committed int64
	// popped is the highest point passed to Pop.
	popped     int64
	recoveries int
	// overlapped: some incarnation ran overlapping syncs, so the crashes
	// also hit the queue with several syncs in flight.
	overlapped bool
	// crashSoon, if set, kills the process at the current simulated
	// instant, once the calling actor yields: a crash right after a
	// Commit returned, while later syncs are still in flight.
	crashSoon func()
	err       error
}

// checkRecovered verifies that recs is a contiguous run of what was pushed
// (in order, with the right payloads), that it starts no later than the
// first record at or above the popped point, and that it holds every
// committed record.
func (m *crashModel) checkRecovered(recs []diskqueue.Record) error {
	if len(recs) == 0 {
		if m.committed > m.popped || m.committed > 0 && len(m.pushed) > 0 {
			return fmt.Errorf("recovered nothing; committed up to %d, popped to %d", m.committed, m.popped)
		}
		return nil
	}
	start := -1
	for i, r := range m.pushed {
		if r.Version == recs[0].Version {
			start = i
			break
		}
	}
	if start < 0 {
		return fmt.Errorf("recovered version %d was never pushed", recs[0].Version)
	}
	for k, r := range recs {
		i := start + k
		if i >= len(m.pushed) {
			return fmt.Errorf("recovered version %d beyond the last pushed", r.Version)
		}
		if want := m.pushed[i]; want.Version != r.Version || !bytes.Equal(want.Payload, r.Payload) {
			return fmt.Errorf("recovered record %d is version %d (%d bytes), want version %d (%d bytes)",
				k, r.Version, len(r.Payload), want.Version, len(want.Payload))
		}
	}
	for _, r := range m.pushed[:start] {
		if r.Version >= m.popped {
			return fmt.Errorf("version %d at or above the popped point %d was lost", r.Version, m.popped)
		}
	}
	if last := recs[len(recs)-1].Version; last < m.committed {
		return fmt.Errorf("recovered up to version %d, but %d was committed", last, m.committed)
	}
	return nil
}

// crashBoot is a process that recovers the queue, checks it against the
// model and then pushes, commits and pops from several actors until killed.
func crashBoot(m *crashModel, segmentBytes int64) sim.BootFunc {
	return func(e *flow.Env) {
		e.Spawn("recover", func(c *flow.Ctx) error {
			q, recs, err := diskqueue.Open(c, e.Files(), "tlog", diskqueue.Options{SegmentBytes: segmentBytes})
			if err != nil {
				m.err = fmt.Errorf("recovery %d: %w", m.recoveries+1, err)
				return err
			}
			if err := m.checkRecovered(recs); err != nil {
				m.err = fmt.Errorf("recovery %d: %w", m.recoveries+1, err)
				return err
			}
			m.recoveries++
			m.pushed = append([]diskqueue.Record(nil), recs...)
			for i := range 5 {
				e.Spawn(fmt.Sprintf("committer%d", i), func(c *flow.Ctx) error { return commitLoop(c, q, m) })
			}
			e.Spawn("popper", func(c *flow.Ctx) error { return popLoop(c, q, m) })
			return nil
		})
	}
}

func commitLoop(c *flow.Ctx, q *diskqueue.Queue, m *crashModel) error {
	for {
		for range 1 + c.Rand().IntN(3) {
			v := q.LastVersion() + 1 + c.Rand().Int64N(5)
			if err := q.Push(v, payloadFor(v)); err != nil {
				m.err = fmt.Errorf("push %d: %w", v, err)
				return err
			}
			m.pushed = append(m.pushed, diskqueue.Record{Version: v, Payload: payloadFor(v)})
		}
		covered := q.LastVersion()
		if err := q.Commit(c); err != nil {
			return err // killed
		}
		m.committed = max(m.committed, covered)
		m.overlapped = m.overlapped || q.Stats().OverlappedSyncs > 0
		if m.crashSoon != nil && c.Rand().IntN(10) == 0 {
			m.crashSoon()
		}
		if err := c.Sleep(time.Duration(c.Rand().IntN(3000)) * time.Microsecond); err != nil {
			return err
		}
	}
}

func popLoop(c *flow.Ctx, q *diskqueue.Queue, m *crashModel) error {
	for {
		if err := c.Sleep(time.Duration(10+c.Rand().IntN(40)) * time.Millisecond); err != nil {
			return err
		}
		if m.committed <= m.popped {
			continue
		}
		to := m.popped + 1 + c.Rand().Int64N(m.committed-m.popped)
		m.popped = to
		if err := q.Pop(c, to); err != nil {
			return err
		}
	}
}

func runCrashSeed(seed uint64) (recoveries int, overlapped bool, err error) {
	s := sim.New(seed, sim.Options{})
	m := &crashModel{}
	segmentBytes := int64(512 + s.Rand().IntN(4096))
	p := s.AddProcess(s.AddMachine(flow.Locality{}), 1, crashBoot(m, segmentBytes))
	m.crashSoon = func() {
		s.Controller().Spawn("crashAfterCommit", func(c *flow.Ctx) error {
			s.Reboot(p, time.Duration(s.Rand().IntN(20))*time.Millisecond)
			return nil
		})
	}
	s.Controller().Spawn("chaos", func(c *flow.Ctx) error {
		for range 8 {
			if err := c.Sleep(time.Duration(s.Rand().IntN(200_000)) * time.Microsecond); err != nil {
				return err
			}
			s.Reboot(p, time.Duration(s.Rand().IntN(20))*time.Millisecond)
		}
		return nil
	})
	s.Run(3*time.Second, func() bool { return m.err != nil })
	if m.err == nil && p.Alive() {
		// One last crash, so the final state is checked too.
		s.Reboot(p, time.Millisecond)
		s.Run(time.Second, func() bool { return m.err != nil })
	}
	return m.recoveries, m.overlapped, m.err
}

// After crashes at random points, the queue recovers exactly a prefix of
// what was pushed that holds every committed record, minus only a popped
// prefix.
func TestCrashRecoversCommittedPrefix(t *testing.T) {
	for seed := uint64(1); seed <= 40; seed++ {
		recoveries, overlapped, err := runCrashSeed(seed)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if recoveries < 5 {
			t.Fatalf("seed %d: only %d recoveries ran", seed, recoveries)
		}
		if !overlapped {
			t.Fatalf("seed %d: no syncs overlapped", seed)
		}
	}
}

// A commit that waits for another committer's sync while an earlier sync
// is still running is acknowledged only once its own records are durable,
// whichever of the overlapping syncs ends first: a crash at the instant
// it returns keeps them.
func TestCommitAckedDuringOverlapSurvivesCrash(t *testing.T) {
	for seed := uint64(1); seed <= 40; seed++ {
		if err := runOverlapCrash(seed); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
	}
}

func runOverlapCrash(seed uint64) error {
	s := sim.New(seed, sim.Options{})
	var acked, recovered int64 = 0, -1
	var runErr error
	var p *sim.Process
	crash := func() {
		s.Controller().Spawn("crash", func(c *flow.Ctx) error {
			s.Reboot(p, time.Millisecond)
			return nil
		})
	}
	commit := func(q *diskqueue.Queue, v int64) func(c *flow.Ctx) error {
		return func(c *flow.Ctx) error {
			if err := pushCommit(c, q, v); err != nil {
				return err // killed
			}
			acked = max(acked, v)
			if v == 4 {
				crash()
			}
			return nil
		}
	}
	incarnation := 0
	p = s.AddProcess(s.AddMachine(flow.Locality{}), 1, func(e *flow.Env) {
		incarnation++
		first := incarnation == 1
		e.Spawn("test", func(c *flow.Ctx) error {
			// Odd seeds preallocate (one more sync on the file), even
			// seeds do not.
			opts := diskqueue.Options{SegmentBytes: 1 << 20, PreallocBytes: -1}
			if seed%2 == 1 {
				opts.PreallocBytes = 0
			}
			q, recs, err := diskqueue.Open(c, e.Files(), "tlog", opts)
			if err != nil {
				runErr = err
				return err
			}
			if !first {
				recovered = 0
				if n := len(recs); n > 0 {
					recovered = recs[n-1].Version
				}
				return nil
			}
			if err := pushCommit(c, q, 1); err != nil {
				return err
			}
			c.Spawn("a", commit(q, 2))
			// Let a's sync start, then commit 3 and 4 together: the
			// committer of 3 syncs them, that of 4 waits for its sync.
			for range 2 {
				if err := c.Yield(); err != nil {
					return err
				}
			}
			c.Spawn("b", commit(q, 3))
			c.Spawn("c", commit(q, 4))
			return nil
		})
	})
	s.Run(time.Second, func() bool { return runErr != nil || recovered >= 0 })
	switch {
	case runErr != nil:
		return runErr
	case recovered < 0:
		return fmt.Errorf("the queue was not recovered (acknowledged up to %d)", acked)
	case recovered < acked:
		return fmt.Errorf("recovered up to version %d after a crash, but %d was acknowledged", recovered, acked)
	}
	return nil
}
