package sim

import (
	"bytes"
	"testing"
	"time"

	"github.com/strata-db/strata/db/flow"
)

// TestOverlappingSyncsMakeOnlyTheirWritesDurable: a Sync makes durable the
// writes issued before it started, whichever of two overlapping Syncs ends
// first; a write issued after both started stays pending.
func TestOverlappingSyncsMakeOnlyTheirWritesDurable(t *testing.T) {
	for seed := uint64(1); seed <= 50; seed++ {
		s := New(seed, Options{})
		m := s.AddMachine(flow.Locality{})
		var sf *simFile
		var runErr error
		done := false
		s.AddProcess(m, 1, func(e *flow.Env) {
			if e.Files() == nil {
				return
			}
			f, err := e.Files().Open("log", true)
			if err != nil {
				runErr = err
				return
			}
			sf = e.Files().(*fs).d.files["log"]
			e.Spawn("writer", func(c *flow.Ctx) error {
				write := func(b byte, off int64) {
					if _, err := f.WriteAt(bytes.Repeat([]byte{b}, 10), off); err != nil && runErr == nil {
						runErr = err
					}
				}
				sync := func(c *flow.Ctx) error { return f.Sync(c) }
				// let a spawned Sync start before the next write
				yield := func() {
					if err := c.Sleep(time.Nanosecond); err != nil && runErr == nil {
						runErr = err
					}
				}
				write('a', 0)
				first := c.Spawn("sync1", sync)
				yield()
				write('b', 10)
				second := c.Spawn("sync2", sync)
				yield()
				write('c', 20)
				for _, a := range []*flow.Actor{first, second} {
					if _, err := flow.Await(c, a.Done()); err != nil {
						runErr = err
					}
				}
				done = true
				return nil
			})
		})
		s.Run(time.Second, func() bool { return done })
		if runErr != nil || !done {
			t.Fatalf("seed %d: done %v, %v", seed, done, runErr)
		}
		if want := []byte("aaaaaaaaaabbbbbbbbbb"); !bytes.Equal(sf.durable, want) || len(sf.pending) != 1 {
			t.Fatalf("seed %d: durable %q with %d pending; want %q and the later write pending", seed, sf.durable, len(sf.pending), want)
		}
	}
}
