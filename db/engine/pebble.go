package engine

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
)

// Defaults for a storage server's Pebble instance. The memtable is small
// because a storage server's recent writes live in its MVCC window, not
// in the memtable: the memtable only buffers the durable batches, and every
// read that misses the window seeks it. With 64 MiB, the skip list seek of
// a benchmark's few hundred thousand pairs was half a read-only server's
// CPU (`strata bench --workload all`: reads 36,000-79,000/s against
// 113,000-115,000/s with 16 MiB, range reads 14,000-16,000/s against
// 22,000/s; writes the same).
const (
	defaultPebbleCacheBytes    = 64 << 20
	defaultPebbleMemTableBytes = 16 << 20
	bloomBitsPerKey            = 10
)

// PebbleOptions tunes OpenPebble. The zero value suits a storage server.
type PebbleOptions struct {
	// FS is the filesystem Pebble uses; nil means the operating system's.
	// Tests pass an in-memory (possibly crashable) vfs.FS.
	FS vfs.FS
	// CacheBytes is the block cache size (default 64 MiB).
	CacheBytes int64
	// MemTableBytes is the memtable size (default 16 MiB).
	MemTableBytes uint64
	// Logger receives Pebble's log lines; nil means Pebble's default
	// (standard error).
	Logger pebble.Logger
}

// pebbleEngine is the "ssd" engine. Pebble is safe for concurrent use, so
// Get and Scan run on the caller's goroutine while a Commit waits for its
// fsync on another.
type pebbleEngine struct {
	db     *pebble.DB
	closed atomic.Bool
	// commits counts the commits running off the flow loop: an actor
	// cancelled while its commit runs leaves the commit going, and Pebble
	// must not be closed under it.
	commits sync.WaitGroup
}

// OpenPebble opens (or creates) the Pebble database in dir. Every Commit
// is applied with pebble.Sync.
func OpenPebble(dir string, opts PebbleOptions) (Engine, error) {
	db, err := pebble.Open(dir, pebbleOptions(opts))
	if err != nil {
		return nil, fmt.Errorf("engine: opening pebble in %q: %w", dir, err)
	}
	return &pebbleEngine{db: db}, nil
}

// pebbleOptions turns opts into Pebble's options, defaults filled in.
func pebbleOptions(opts PebbleOptions) *pebble.Options {
	po := &pebble.Options{
		FS:                 opts.FS,
		CacheSize:          opts.CacheBytes,
		MemTableSize:       opts.MemTableBytes,
		Logger:             opts.Logger,
		FormatMajorVersion: pebble.FormatNewest,
	}
	if po.CacheSize <= 0 {
		po.CacheSize = defaultPebbleCacheBytes
	}
	if po.MemTableSize == 0 {
		po.MemTableSize = defaultPebbleMemTableBytes
	}
	// Bloom filters on every level (Pebble's default has none on L0):
	// storage servers do many point reads of absent keys.
	for i := range po.Levels {
		po.Levels[i].FilterPolicy = bloom.FilterPolicy(bloomBitsPerKey)
	}
	return po
}

func (e *pebbleEngine) Get(key []byte) ([]byte, bool, error) {
	if e.closed.Load() {
		return nil, false, ErrClosed
	}
	v, closer, err := e.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("engine: pebble get: %w", err)
	}
	out := append([]byte(nil), v...) // v is valid only until closer.Close
	if err := closer.Close(); err != nil {
		return nil, false, fmt.Errorf("engine: pebble get: %w", err)
	}
	return out, true, nil
}

func (e *pebbleEngine) Scan(r kv.KeyRange, reverse bool, limit, byteLimit int) ([]kv.KeyValue, bool, error) {
	if e.closed.Load() {
		return nil, false, ErrClosed
	}
	if r.Empty() {
		return nil, false, nil
	}
	lower := r.Begin
	if len(lower) == 0 {
		// The empty key is the least key, so no lower bound is the same;
		// Pebble's invariant-checking builds (-race) index into a non-nil
		// empty bound.
		lower = nil
	}
	it, err := e.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: r.End})
	if err != nil {
		return nil, false, fmt.Errorf("engine: pebble scan: %w", err)
	}
	start, step := it.First, it.Next
	if reverse {
		start, step = it.Last, it.Prev
	}
	s := scanLimits{limit: limit, byteLimit: byteLimit}
	more := false
	for ok := start(); ok; ok = step() {
		v, verr := it.ValueAndErr()
		if verr != nil {
			err = verr
			break
		}
		if s.add(it.Key(), v) {
			more = step()
			break
		}
	}
	if err = errors.Join(err, it.Error(), it.Close()); err != nil {
		return nil, false, fmt.Errorf("engine: pebble scan: %w", err)
	}
	return s.kvs, more, nil
}

func (e *pebbleEngine) NewBatch() Batch { return &pebbleBatch{b: e.db.NewBatch()} }

// Commit applies b with pebble.Sync off the baton: Pebble's commit
// pipeline groups the WAL fsyncs of concurrent commits, and the process's
// other actors keep running meanwhile.
func (e *pebbleEngine) Commit(c *flow.Ctx, b Batch) error {
	if e.closed.Load() {
		return ErrClosed
	}
	pb, ok := b.(*pebbleBatch)
	if !ok {
		return fmt.Errorf("engine: pebble engine cannot commit a %T", b)
	}
	if pb.err != nil {
		return pb.err
	}
	if pb.n == 0 {
		return nil
	}
	e.commits.Add(1)
	err := c.Blocking(func() error {
		defer e.commits.Done()
		return e.db.Apply(pb.b, pebble.Sync)
	})
	if err != nil {
		return fmt.Errorf("engine: pebble commit: %w", err)
	}
	return nil
}

// Stats reports DiskBytes from Pebble's metrics (every live and obsolete
// file, WAL included, counting the current WAL's growth since it was
// opened) and estimates KeyValueBytes as the size of the
// sstables (EstimateDiskUsage over the whole key space, compressed and
// including not-yet-compacted garbage) plus the live WAL bytes, which hold
// the memtable's data.
func (e *pebbleEngine) Stats() Stats {
	if e.closed.Load() {
		return Stats{}
	}
	m := e.db.Metrics()
	var st Stats
	st.DiskBytes = int64(m.DiskSpaceUsage())
	if m.WAL.Size > m.WAL.PhysicalSize {
		// The metrics take the current WAL's physical size from when it
		// was opened; its logical size is what it has grown to since.
		st.DiskBytes += int64(m.WAL.Size - m.WAL.PhysicalSize)
	}
	tables, err := e.db.EstimateDiskUsage(nil, maxKey)
	if err == nil {
		st.KeyValueBytes = int64(tables)
	}
	st.KeyValueBytes += int64(m.WAL.Size)
	return st
}

// maxKey is above every key a storage server stores (keys start below
// \xff\xff\xff\xff...); EstimateDiskUsage needs a finite upper bound.
var maxKey = []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

func (e *pebbleEngine) Close() error {
	if e.closed.Swap(true) {
		return ErrClosed
	}
	e.commits.Wait()
	if err := e.db.Close(); err != nil {
		return fmt.Errorf("engine: closing pebble: %w", err)
	}
	return nil
}

// pebbleBatch records its first error (Pebble's batch methods return one
// only for invalid use, such as a batch already committed) and reports it
// at Commit, since Batch's methods have no error result.
type pebbleBatch struct {
	b   *pebble.Batch
	n   int
	err error
}

func (b *pebbleBatch) note(err error) {
	b.n++
	if err != nil && b.err == nil {
		b.err = fmt.Errorf("engine: pebble batch: %w", err)
	}
}

func (b *pebbleBatch) Set(key, value []byte) { b.note(b.b.Set(key, value, nil)) }
func (b *pebbleBatch) Delete(key []byte)     { b.note(b.b.Delete(key, nil)) }
func (b *pebbleBatch) DeleteRange(r kv.KeyRange) {
	if r.Empty() {
		b.note(nil) // nothing to delete; Pebble would reject the range
		return
	}
	b.note(b.b.DeleteRange(r.Begin, r.End, nil))
}
func (b *pebbleBatch) Len() int { return b.n }
