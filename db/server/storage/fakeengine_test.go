package storage

import (
	"bytes"
	"slices"
	"time"

	"github.com/strata-db/strata/db/engine"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
)

// fakeEngine is an in-memory engine.Engine for tests: a sorted slice of
// pairs. A commit waits commitDelay (so reads run during it) and then
// applies its batch at once, so a process killed mid-commit leaves none of
// it. The test harness keeps one fakeEngine across reboots.
type fakeEngine struct {
	kvs         []kv.KeyValue
	commitDelay time.Duration
	commits     int
	// failCommits makes Commit fail with it.
	failCommits error
	// onCommit, if set, runs after each commit is applied.
	onCommit func()
}

type fakeOp struct {
	kind       opKind
	key, value []byte
}

type fakeBatch struct{ ops []fakeOp }

func (b *fakeBatch) Set(key, value []byte) {
	b.ops = append(b.ops, fakeOp{opSet, bytes.Clone(key), bytes.Clone(value)})
}
func (b *fakeBatch) Delete(key []byte) {
	b.ops = append(b.ops, fakeOp{opDelete, bytes.Clone(key), nil})
}
func (b *fakeBatch) DeleteRange(r kv.KeyRange) {
	b.ops = append(b.ops, fakeOp{opDeleteRange, bytes.Clone(r.Begin), bytes.Clone(r.End)})
}
func (b *fakeBatch) Len() int { return len(b.ops) }

func (e *fakeEngine) find(key []byte) (int, bool) {
	return slices.BinarySearchFunc(e.kvs, key, func(p kv.KeyValue, k []byte) int { return bytes.Compare(p.Key, k) })
}

func (e *fakeEngine) Get(key []byte) ([]byte, bool, error) {
	if i, ok := e.find(key); ok {
		return bytes.Clone(e.kvs[i].Value), true, nil
	}
	return nil, false, nil
}

func (e *fakeEngine) Scan(r kv.KeyRange, reverse bool, limit, byteLimit int) ([]kv.KeyValue, bool, error) {
	lo, _ := e.find(r.Begin)
	hi, _ := e.find(r.End)
	if hi < lo {
		hi = lo
	}
	in := e.kvs[lo:hi]
	var out []kv.KeyValue
	n := 0
	for j := range in {
		p := in[j]
		if reverse {
			p = in[len(in)-1-j]
		}
		if (limit > 0 && len(out) >= limit) || (byteLimit > 0 && n >= byteLimit) {
			return out, true, nil
		}
		out = append(out, kv.KeyValue{Key: bytes.Clone(p.Key), Value: bytes.Clone(p.Value)})
		n += len(p.Key) + len(p.Value)
	}
	return out, false, nil
}

func (e *fakeEngine) NewBatch() engine.Batch { return &fakeBatch{} }

func (e *fakeEngine) Commit(c *flow.Ctx, b engine.Batch) error {
	if e.commitDelay > 0 {
		if err := c.Sleep(e.commitDelay); err != nil {
			return err
		}
	}
	if e.failCommits != nil {
		return e.failCommits
	}
	e.applyBatch(b.(*fakeBatch))
	if e.onCommit != nil {
		e.onCommit()
	}
	return nil
}

func (e *fakeEngine) applyBatch(b *fakeBatch) {
	e.commits++
	for _, op := range b.ops {
		switch op.kind {
		case opSet:
			if i, ok := e.find(op.key); ok {
				e.kvs[i].Value = op.value
			} else {
				e.kvs = slices.Insert(e.kvs, i, kv.KeyValue{Key: op.key, Value: op.value})
			}
		case opDelete:
			if i, ok := e.find(op.key); ok {
				e.kvs = slices.Delete(e.kvs, i, i+1)
			}
		case opDeleteRange:
			lo, _ := e.find(op.key)
			hi, _ := e.find(op.value)
			if lo < hi {
				e.kvs = slices.Delete(e.kvs, lo, hi)
			}
		}
	}
}

func (e *fakeEngine) Stats() engine.Stats {
	var n int64
	for _, p := range e.kvs {
		n += int64(len(p.Key) + len(p.Value))
	}
	return engine.Stats{KeyValueBytes: n}
}

func (e *fakeEngine) Close() error { return nil }
