package diskqueue_test

import (
	"fmt"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/server/tlog/diskqueue"
	"github.com/strata-db/strata/db/sim"
)

// payloadFor is the payload the tests push at version v: its length and
// bytes depend on v, so a record recovered with the wrong contents shows.
func payloadFor(v int64) []byte {
	p := make([]byte, int(v*37%211))
	for i := range p {
		p[i] = byte(v) + byte(i)
	}
	return p
}

// runInProcess runs body as the single actor of a simulated process and
// returns its error, failing if it does not finish within a simulated
// minute.
func runInProcess(seed uint64, body func(c *flow.Ctx) error) error {
	s := sim.New(seed, sim.Options{})
	var done bool
	var result error
	s.AddProcess(s.AddMachine(flow.Locality{}), 1, func(e *flow.Env) {
		e.Spawn("test", func(c *flow.Ctx) error {
			result = body(c)
			done = true
			return result
		})
	})
	if !s.Run(time.Minute, func() bool { return done }) {
		return fmt.Errorf("seed %d: test actor did not finish", seed)
	}
	return result
}

// pushCommit pushes the records of versions and commits them.
func pushCommit(c *flow.Ctx, q *diskqueue.Queue, versions ...int64) error {
	for _, v := range versions {
		if err := q.Push(v, payloadFor(v)); err != nil {
			return err
		}
	}
	return q.Commit(c)
}

// recordsFor returns the records the tests push at versions.
func recordsFor(versions ...int64) []diskqueue.Record {
	out := make([]diskqueue.Record, len(versions))
	for i, v := range versions {
		out[i] = diskqueue.Record{Version: v, Payload: payloadFor(v)}
	}
	return out
}

// span returns the versions lo..hi.
func span(lo, hi int64) []int64 {
	var out []int64
	for v := lo; v <= hi; v++ {
		out = append(out, v)
	}
	return out
}
