package storage

import (
	"github.com/strata-db/strata/db/engine"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/wire"
)

// makeDurable periodically commits the versions older than the MVCC window
// to the engine with the new durable version, drops them from memory and
// pops them from the logs. It never goes past the largest known committed
// version the logs reported: a version above it may be rolled back by a
// recovery, so it must stay in memory where it can be. The same commits
// record the server's identity and shards when they changed.
func (s *Server) makeDurable(c *flow.Ctx) error {
	for {
		if err := c.Sleep(s.knobs.CommitInterval); err != nil {
			return err
		}
		target := min(s.version-s.knobs.MVCCWindow, s.knownCommitted)
		advance := target > s.durable
		if !advance && !s.metaDirty {
			continue
		}
		if !advance {
			target = s.durable
		}
		if err := s.commit(c, target, advance); err != nil {
			return err
		}
	}
}

// commit commits the window's versions up to target (when advance) and the
// metadata (when dirty) in one engine batch.
func (s *Server) commit(c *flow.Ctx, target kv.Version, advance bool) error {
	b := s.eng.NewBatch()
	var n int64
	var prefix []versionOps
	if advance {
		// The batch holds the versions up to target from here on: no
		// rollback may go below it.
		s.committing = target
		prefix = s.store.durablePrefix(target)
		var err error
		n, err = s.durableWrites(c, b, prefix)
		if err != nil {
			s.committing = 0
			return err
		}
		b.Set(durableVersionKey, encodeVersion(target))
		// The engine moves to target while the commit runs, so reads below
		// it could see a mix: they are refused from now on.
		s.oldest = target
	}
	var synced *flow.Promise[struct{}]
	if s.metaDirty {
		s.writeIdentity(b, target)
		if s.rewriteSample {
			s.sample.writeAll(b)
			s.rewriteSample = false
		}
		p := s.metaSynced
		synced = &p
		s.metaSynced = flow.NewPromise[struct{}]()
		s.metaDirty = s.readablePast(target)
	}
	s.committing = target
	err := s.eng.Commit(c, b)
	s.committing = 0
	if err != nil {
		return err
	}
	if synced != nil {
		synced.Send(struct{}{})
	}
	if !advance {
		return nil
	}
	s.store.madeDurable(target)
	s.durable = target
	if err := s.forgetDurable(c, prefix, target); err != nil {
		return err
	}
	s.dropDurableRemovals()
	s.durableCounter.Add(uint64(n))
	s.bytesDurable += n
	s.env.Trace(flow.SevDebug, "StorageDurable", flow.D("ID", s.id), flow.D("DurableVersion", target),
		flow.D("Version", s.version), flow.D("Bytes", n), flow.D("QueueBytes", s.store.queueBytes))
	// The pops need no answer: a lost one is covered by the next. Every log
	// holds the tag, so every log is popped.
	for _, l := range s.logs {
		l.pop.GetReply(s.env, &wire.TLogPopRequest{Tag: s.tag, To: int64(target)})
	}
	return nil
}

// durableSlice is how many writes the durability actor handles on the loop
// between yields: a second's writes at tens of thousands a second would
// otherwise hold up every read for tens of milliseconds.
const durableSlice = 1024

// sliceSize is durableSlice, or under buggify a slice of a few writes, so
// that simulations interleave reads, applies and rollbacks with a durable
// commit's slices as a busy server does.
func sliceSize(c *flow.Ctx) int {
	if c.Buggify("StorageDurableTinySlices") {
		return 3
	}
	return durableSlice
}

// durableWrites fills b with prefix's writes and returns their bytes.
// Ordering them and encoding them into the batch runs off the loop; the
// byte sample, which the loop reads, follows them on the loop a slice at a
// time.
func (s *Server) durableWrites(c *flow.Ctx, b engine.Batch, prefix []versionOps) (int64, error) {
	var ops []effectiveOp
	var weights []int64
	var n int64
	bs := s.sample
	err := c.Blocking(func() error {
		ops, n = engineOrder(prefix)
		writeOps(b, ops)
		weights = bs.weights(ops)
		return nil
	})
	if err != nil {
		return 0, err
	}
	slice := sliceSize(c)
	for i, op := range ops {
		bs.record(b, op, weights[i])
		if (i+1)%slice == 0 {
			if err := c.Yield(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

// forgetDurable drops prefix's writes, which the engine now holds, from the
// window a slice at a time; reads already pass over them (madeDurable).
func (s *Server) forgetDurable(c *flow.Ctx, prefix []versionOps, upTo kv.Version) error {
	done, slice := 0, sliceSize(c)
	for _, vo := range prefix {
		for _, op := range vo.ops {
			s.store.forgetOp(op, upTo)
			if done++; done%slice == 0 {
				if err := c.Yield(); err != nil {
					return err
				}
			}
		}
	}
	s.store.dropDurable(len(prefix), upTo)
	return nil
}

// readablePast reports whether a shard became readable after v: the
// records written at v call it fetching, so they must be written again.
func (s *Server) readablePast(v kv.Version) bool {
	for _, sh := range s.shards.list {
		if sh.state == ShardReadable && sh.readableAt > v {
			return true
		}
	}
	return false
}

// dropDurableRemovals forgets the clears the engine now holds.
func (s *Server) dropDurableRemovals() {
	keep := s.removals[:0]
	for _, r := range s.removals {
		if r.version > s.durable {
			keep = append(keep, r)
		}
	}
	clear(s.removals[len(keep):])
	s.removals = keep
}
