package engine

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/google/btree"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
)

// Default snapshot policy: a new snapshot once the log outgrows both
// snapshotLogRatio times the live data and snapshotMinLogBytes, so that
// replay on open stays proportional to the data and small databases do not
// rewrite themselves on every commit.
const (
	snapshotLogRatio    = 4
	snapshotMinLogBytes = 1 << 20
)

// ErrConcurrentCommit is returned by the memory engine when Commit is called
// while another Commit is in flight, which Engine's contract rules out.
var ErrConcurrentCommit = errors.New("engine: Commit called while another Commit is in flight")

// memoryOptions tunes the memory engine (tests shrink the snapshot
// threshold to exercise snapshots).
type memoryOptions struct {
	logRatio    int64
	minLogBytes int64
}

type memItem struct{ key, value []byte }

func lessItem(a, b memItem) bool { return bytes.Compare(a.key, b.key) < 0 }

// memoryEngine is the "memory" engine: every pair lives in an ordered
// in-memory B-tree; durability comes from an append-only log of committed
// batches (one checksummed record each, synced before Commit returns) and
// periodic snapshots (see files.go for the on-disk layout). It uses only
// flow, so it runs unchanged inside the simulator.
type memoryEngine struct {
	files   memFiles
	opts    memoryOptions
	tree    *btree.BTreeG[memItem]
	kvBytes int64

	log     flow.File
	logSeq  uint64
	logSize int64
	// frozenBytes is the size of the snapshot and of any older logs
	// replayed on open: the files not growing with commits.
	frozenBytes int64
	inCommit    bool
	closed      bool
	failure     error
}

// OpenMemory opens (or creates) the memory engine stored in dir of fs:
// it loads the latest snapshot, replays the log after it and truncates the
// log's torn tail (a commit that was in flight when the process died).
func OpenMemory(c *flow.Ctx, fs flow.FS, dir string) (Engine, error) {
	return openMemory(c, fs, dir, memoryOptions{logRatio: snapshotLogRatio, minLogBytes: snapshotMinLogBytes})
}

func openMemory(c *flow.Ctx, fs flow.FS, dir string, opts memoryOptions) (*memoryEngine, error) {
	e := &memoryEngine{
		files: memFiles{fs: fs, dir: dir},
		opts:  opts,
		tree:  btree.NewG(32, lessItem),
	}
	if err := e.recover(c); err != nil {
		return nil, fmt.Errorf("engine: opening memory engine in %q: %w", dir, err)
	}
	return e, nil
}

func (e *memoryEngine) usable() error {
	if e.closed {
		return ErrClosed
	}
	return e.failure
}

// fail makes err sticky: after a failed write or sync the log's state on
// disk is unknown, so the engine refuses further use until it is reopened
// (which recovers exactly what is durable).
func (e *memoryEngine) fail(err error) error {
	if e.failure == nil {
		e.failure = fmt.Errorf("engine: memory engine failed, reopen to recover: %w", err)
	}
	return e.failure
}

func (e *memoryEngine) Get(key []byte) ([]byte, bool, error) {
	if err := e.usable(); err != nil {
		return nil, false, err
	}
	it, ok := e.tree.Get(memItem{key: key})
	if !ok {
		return nil, false, nil
	}
	return bytes.Clone(it.value), true, nil
}

func (e *memoryEngine) Scan(r kv.KeyRange, reverse bool, limit, byteLimit int) ([]kv.KeyValue, bool, error) {
	if err := e.usable(); err != nil {
		return nil, false, err
	}
	if r.Empty() {
		return nil, false, nil
	}
	s := scanLimits{limit: limit, byteLimit: byteLimit}
	full, more := false, false
	visit := func(it memItem) bool {
		if full {
			more = true
			return false
		}
		full = s.add(it.key, it.value)
		return true
	}
	if !reverse {
		e.tree.AscendRange(memItem{key: r.Begin}, memItem{key: r.End}, visit)
	} else {
		e.tree.DescendLessOrEqual(memItem{key: r.End}, func(it memItem) bool {
			if bytes.Compare(it.key, r.End) >= 0 {
				return true
			}
			if bytes.Compare(it.key, r.Begin) < 0 {
				return false
			}
			return visit(it)
		})
	}
	return s.kvs, more, nil
}

func (e *memoryEngine) NewBatch() Batch { return &memBatch{} }

// Commit appends b to the log as one record and syncs it; only then does
// the batch become visible to Get and Scan. A commit that pushes the log
// past the snapshot threshold also writes a snapshot and starts a new log
// before returning.
func (e *memoryEngine) Commit(c *flow.Ctx, b Batch) error {
	if err := e.usable(); err != nil {
		return err
	}
	mb, ok := b.(*memBatch)
	if !ok {
		return fmt.Errorf("engine: memory engine cannot commit a %T", b)
	}
	if mb.n == 0 {
		return nil
	}
	if e.inCommit {
		return ErrConcurrentCommit
	}
	e.inCommit = true
	defer func() { e.inCommit = false }()

	rec, err := appendRecord(nil, mb.buf)
	if err != nil {
		return err
	}
	if _, err := e.log.WriteAt(rec, e.logSize); err != nil {
		return e.fail(fmt.Errorf("appending to log: %w", err))
	}
	e.logSize += int64(len(rec))
	if err := e.log.Sync(c); err != nil {
		return e.fail(fmt.Errorf("syncing log: %w", err))
	}
	if err := e.usable(); err != nil {
		return err // closed while the sync was in flight
	}
	if err := e.apply(mb.buf); err != nil {
		return e.fail(err)
	}
	if e.snapshotDue(c) {
		if err := e.snapshot(c); err != nil {
			return e.fail(fmt.Errorf("batch committed, but snapshot failed: %w", err))
		}
	}
	return nil
}

// apply performs an encoded batch's writes on the tree, in order.
func (e *memoryEngine) apply(buf []byte) error {
	return decodeBatch(buf, func(op batchOp) {
		switch op.code {
		case opSet:
			e.set(op.a, op.b)
		case opDelete:
			e.delete(op.a)
		case opDeleteRange:
			e.deleteRange(op.a, op.b)
		}
	})
}

func (e *memoryEngine) set(key, value []byte) {
	// One allocation per pair, detached from the batch's buffer so an
	// overwritten value does not pin the whole batch in memory.
	buf := make([]byte, len(key)+len(value))
	copy(buf, key)
	copy(buf[len(key):], value)
	it := memItem{key: buf[:len(key):len(key)], value: buf[len(key):]}
	if old, replaced := e.tree.ReplaceOrInsert(it); replaced {
		e.kvBytes -= int64(len(old.key) + len(old.value))
	}
	e.kvBytes += int64(len(buf))
}

func (e *memoryEngine) delete(key []byte) {
	if old, removed := e.tree.Delete(memItem{key: key}); removed {
		e.kvBytes -= int64(len(old.key) + len(old.value))
	}
}

func (e *memoryEngine) deleteRange(begin, end []byte) {
	if bytes.Compare(begin, end) >= 0 {
		return
	}
	var doomed []memItem
	e.tree.AscendRange(memItem{key: begin}, memItem{key: end}, func(it memItem) bool {
		doomed = append(doomed, it)
		return true
	})
	for _, it := range doomed {
		e.tree.Delete(it)
		e.kvBytes -= int64(len(it.key) + len(it.value))
	}
}

func (e *memoryEngine) snapshotDue(c *flow.Ctx) bool {
	if e.logSize > e.opts.minLogBytes && e.logSize > e.opts.logRatio*e.kvBytes {
		return true
	}
	// In simulation, snapshot at random moments too, so crashes land in
	// every step of writing one.
	return c.BuggifyP("EngineMemoryEarlySnapshot", 0.05)
}

func (e *memoryEngine) Stats() Stats {
	return Stats{KeyValueBytes: e.kvBytes, DiskBytes: e.frozenBytes + e.logSize}
}

func (e *memoryEngine) Close() error {
	if e.closed {
		return ErrClosed
	}
	e.closed = true
	if e.log == nil {
		return nil
	}
	return e.log.Close()
}
