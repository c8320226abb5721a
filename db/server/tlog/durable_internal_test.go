package tlog

import (
	"fmt"
	"testing"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/wire"
)

// A version is invisible to peeks until its fsync completes: a storage
// server must never apply data a crash could still take back.
func TestPeeksSeeOnlyDurableVersions(t *testing.T) {
	s := sim.New(1, sim.Options{})
	var result error
	done := false
	s.AddProcess(s.AddMachine(flow.Locality{}), 1, func(e *flow.Env) {
		e.Spawn("test", func(c *flow.Ctx) error {
			defer func() { done = true }()
			result = checkDurableOnly(c)
			return nil
		})
	})
	if !s.Run(time.Minute, func() bool { return done }) {
		t.Fatal("test actor did not finish")
	}
	if result != nil {
		t.Fatal(result)
	}
}

func checkDurableOnly(c *flow.Ctx) error {
	log, err := New(c, Config{})
	if err != nil {
		return err
	}
	req := &wire.TLogCommitRequest{PrevVersion: 0, Version: 10, Messages: []*wire.TaggedMutations{
		{Tag: 3, Mutations: []*wire.Mutation{{Key: []byte("k"), Param: []byte("v")}}},
	}}
	committer := c.Spawn("commit", func(c *flow.Ctx) error {
		_, err := log.commit(c, req)
		return err
	})
	// Let the commit run until it waits for its fsync.
	for log.version != 10 {
		if err := c.Yield(); err != nil {
			return err
		}
	}
	if log.durable >= 10 {
		return fmt.Errorf("version 10 durable before its sync completed")
	}
	if msgs, end, _ := log.collect(3, 0, 1<<20); len(msgs) != 0 || end != log.durable+1 {
		return fmt.Errorf("before the sync a peek saw %d versions, end %d", len(msgs), end)
	}
	if _, err := flow.Await(c, committer.Done()); err != nil {
		return err
	}
	msgs, end, _ := log.collect(3, 0, 1<<20)
	if len(msgs) != 1 || msgs[0].Version != 10 || end != 11 {
		return fmt.Errorf("after the sync a peek saw %v, end %d; want version 10, end 11", msgs, end)
	}
	return nil
}
