package storage

import (
	"github.com/strata-db/strata/db/engine"
	"github.com/strata-db/strata/db/kv"
)

// The durability actor's steps in one go, for tests that drive a vstore
// without a server (durable.go runs them in slices with yields between).

// durableBatch fills b with the window's writes at versions up to upTo, in
// engineOrder, and returns how many bytes they hold.
func (s *vstore) durableBatch(b engine.Batch, upTo kv.Version) int64 {
	ops, n := engineOrder(s.durablePrefix(upTo))
	writeOps(b, ops)
	return n
}

// forget drops the window's writes at versions up to upTo, once the engine
// holds them.
func (s *vstore) forget(upTo kv.Version) {
	s.madeDurable(upTo)
	prefix := s.durablePrefix(upTo)
	for _, vo := range prefix {
		for _, op := range vo.ops {
			s.forgetOp(op, upTo)
		}
	}
	s.dropDurable(len(prefix), upTo)
}
