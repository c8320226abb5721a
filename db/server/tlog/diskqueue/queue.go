package diskqueue

import (
	"errors"
	"fmt"

	"github.com/strata-db/strata/db/flow"
)

// Record is one entry of the queue.
type Record struct {
	Version int64
	Payload []byte
}

// Options tune a queue; zero fields take defaults.
type Options struct {
	// SegmentBytes is the size at which the queue starts a new segment
	// file. Reclaiming works on whole segments, so smaller segments free
	// space sooner at the cost of more files. Default 16 MiB.
	SegmentBytes int64
	// SyncLatency, if set, observes how long each fdatasync takes.
	SyncLatency *flow.Histogram
	// MaxSyncs bounds the syncs that may run at once (default
	// DefaultMaxSyncs; 1 makes every commit wait for the sync before it).
	MaxSyncs int
	// PreallocBytes is how far ahead of the records a segment's file is
	// filled with zeros (and synced, off the commit path), so that the
	// syncs of commits overwrite allocated blocks and need no metadata
	// journal commit. Default DefaultPreallocBytes; negative disables it.
	PreallocBytes int64
}

// DefaultPreallocBytes is the default Options.PreallocBytes.
const DefaultPreallocBytes = 256 << 10

// DefaultMaxSyncs is the default Options.MaxSyncs: a commit arriving while
// a sync runs starts its own at once rather than waiting for the running
// one to end first, which lets the disk work on two flushes together. More
// did not help on the benchmark machine: each running sync holds an
// operating system thread in fdatasync, and with more of them the
// process's other roles (GRV proxy, storage reads) answered more slowly.
const DefaultMaxSyncs = 2

// DefaultSegmentBytes is the default Options.SegmentBytes.
const DefaultSegmentBytes = 16 << 20

// ErrVersionOrder is returned by Push for a version not above the last one.
var ErrVersionOrder = errors.New("diskqueue: versions must strictly increase")

// ErrTooLarge is returned by Push for a payload above MaxPayload.
var ErrTooLarge = errors.New("diskqueue: record too large")

// Stats describe a queue's footprint and work.
type Stats struct {
	// Bytes is the size of the segment files plus the buffered records.
	Bytes int64
	// Segments is the number of segment files.
	Segments int
	// Syncs counts completed fdatasyncs.
	Syncs uint64
	// OverlappedSyncs counts the syncs started while another ran.
	OverlappedSyncs uint64
	// Reclaimed counts the bytes of deleted segments.
	Reclaimed int64
}

// segment is one file of the queue.
type segment struct {
	seq    uint64
	name   string
	prev   int64 // version of the last record written before it
	f      flow.File
	size   int64 // bytes written
	synced int64 // bytes known durable
	// allocated is how far the file holds written bytes: the records,
	// then zeros written ahead of them (see Options.PreallocBytes).
	allocated int64
	first     int64 // version of its first record, if count > 0
	last      int64 // version of its last record, if count > 0
	count     int   // records written
}

// Queue is an open disk queue. It is used by the actors of one process,
// with the baton; it needs no locks.
type Queue struct {
	fs   flow.FS
	dir  string
	opts Options

	segments []*segment // in order; the last one takes appends
	nextSeq  uint64

	buf         []byte // framed records pushed but not yet written
	bufFirst    int64  // version of the first buffered record
	bufCount    int
	lastPushed  int64  // version of the last pushed record
	lastWritten int64  // version of the last record written to a segment
	pushed      uint64 // records pushed, ever, in this incarnation
	written     uint64 // records of pushed written to a segment
	durable     uint64 // records of pushed known durable
	durableVers int64  // version of the last durable record

	// syncing holds, for each sync running, the records it covers (the
	// written count when it started).
	syncing []uint64
	// synced is fired (and replaced) whenever a sync ends.
	synced flow.Promise[struct{}]
	// rolling is set while a flush starts a new segment (which blocks on
	// the directory's sync): nobody else writes or syncs meanwhile.
	rolling bool
	// prealloc is the actor syncing the zeros last written ahead of the
	// records, while it runs.
	prealloc *flow.Actor
	err      error // a failed write or sync: the queue is unusable

	syncs, overlapped uint64
	reclaimed         int64
	popped            int64
}

// Open opens (creating if needed) the queue in dir, recovers it and returns
// the records that survived, in version order. A torn or corrupt record and
// everything after it is discarded, and the files are repaired to match.
func Open(c *flow.Ctx, fs flow.FS, dir string, opts Options) (*Queue, []Record, error) {
	if fs == nil {
		return nil, nil, fmt.Errorf("diskqueue: %s: the process has no data directory", dir)
	}
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = DefaultSegmentBytes
	}
	if c.Buggify("DiskQueueTinySegments") {
		// Roll and reclaim segments constantly in simulation.
		opts.SegmentBytes = 4 << 10
	}
	if opts.PreallocBytes == 0 {
		opts.PreallocBytes = DefaultPreallocBytes
	}
	if opts.MaxSyncs <= 0 {
		opts.MaxSyncs = DefaultMaxSyncs
	}
	if c.Buggify("DiskQueueOneSync") {
		opts.MaxSyncs = 1
	}
	q := &Queue{fs: fs, dir: dir, opts: opts, nextSeq: 1, synced: flow.NewPromise[struct{}]()}
	recs, err := q.recover(c)
	if err != nil {
		q.Close()
		return nil, nil, fmt.Errorf("diskqueue: recovering %s: %w", dir, err)
	}
	if n := len(recs); n > 0 {
		q.lastPushed = recs[n-1].Version
		q.lastWritten = recs[n-1].Version
		q.durableVers = recs[n-1].Version
	}
	return q, recs, nil
}

// LastVersion returns the version of the last pushed (or recovered) record,
// 0 for an empty queue.
func (q *Queue) LastVersion() int64 { return q.lastPushed }

// DurableVersion returns the version of the last record known durable, 0
// if none.
func (q *Queue) DurableVersion() int64 { return q.durableVers }

// Push buffers a record for the next Commit. Versions must be positive and
// strictly increase. The payload is copied.
func (q *Queue) Push(version int64, payload []byte) error {
	if q.err != nil {
		return q.err
	}
	if len(payload) > MaxPayload {
		return fmt.Errorf("diskqueue: payload of %d bytes at version %d: %w", len(payload), version, ErrTooLarge)
	}
	if version <= q.lastPushed {
		return fmt.Errorf("diskqueue: push of version %d after %d: %w", version, q.lastPushed, ErrVersionOrder)
	}
	if q.bufCount == 0 {
		q.bufFirst = version
	}
	q.buf = appendRecord(q.buf, version, payload)
	q.bufCount++
	q.lastPushed = version
	q.pushed++
	return nil
}

// Commit returns once every record pushed before the call is durable. If
// a running sync covers those records, Commit waits for it; otherwise it
// writes what is buffered and starts a sync of its own, even while other
// syncs run (up to Options.MaxSyncs), so a commit arriving during a sync
// does not wait for that sync first. Concurrent committers still share
// syncs: one covers everything pushed before it started. An I/O error makes
// the queue unusable: this and every later call return it.
func (q *Queue) Commit(c *flow.Ctx) error {
	target := q.pushed
	yielded := false
	for q.durable < target {
		if q.err != nil {
			return q.err
		}
		if q.rolling || q.syncCovers(target) || len(q.syncing) >= q.opts.MaxSyncs || q.mustRollAfterSyncs() {
			if _, err := flow.Await(c, q.synced.Future()); err != nil {
				return err
			}
			continue
		}
		if !yielded {
			// Let the actors that are ready to run first (committers a
			// sync just released) push, so this sync covers them too
			// instead of leaving them for the next one.
			yielded = true
			if err := c.Yield(); err != nil {
				return err
			}
			continue
		}
		if err := q.flush(c); err != nil {
			return err
		}
	}
	return nil
}

// syncCovers reports whether a running sync covers the first n records.
func (q *Queue) syncCovers(n uint64) bool {
	for _, s := range q.syncing {
		if s >= n {
			return true
		}
	}
	return false
}

// mustRollAfterSyncs reports whether buffered records need a new segment
// that cannot be started before the running syncs end: the queue moves on
// only from a fully synced segment.
func (q *Queue) mustRollAfterSyncs() bool {
	return q.bufCount > 0 && q.segmentFull() && (len(q.syncing) > 0 || q.preallocating())
}

// preallocating reports whether the zeros written ahead are being synced.
func (q *Queue) preallocating() bool {
	return q.prealloc != nil && !q.prealloc.Done().IsReady()
}

// segmentFull reports whether the active segment takes no more records.
func (q *Queue) segmentFull() bool {
	cur := q.active()
	return cur != nil && cur.size >= q.opts.SegmentBytes
}

// flush writes the buffered records and syncs the active segment. If the
// segment is full but not yet synced, it only syncs it, so the records go
// to a new segment on the next flush. A cancelled flush leaves the queue
// consistent: records stay buffered until written, and written records
// stay undurable until a later flush syncs them.
func (q *Queue) flush(c *flow.Ctx) error {
	if q.bufCount > 0 && (!q.segmentFull() || q.active().synced >= q.active().size) {
		if err := q.write(c); err != nil {
			return err
		}
	}
	seg := q.active()
	if seg == nil {
		// Nothing was ever written in this incarnation and nothing is
		// buffered: the pushed records are the recovered ones, synced by
		// Open.
		q.durable, q.durableVers = q.written, q.lastWritten
		return nil
	}
	return q.sync(c, seg)
}

// write appends the buffered records to the active segment, starting a new
// one first if it is full. Only that blocks, so the records written are
// exactly those pushed so far.
func (q *Queue) write(c *flow.Ctx) error {
	if q.active() == nil || q.segmentFull() {
		q.rolling = true
		err := q.ensureSegment(c)
		q.rolling = false
		q.wake()
		if err != nil {
			return q.fail(c, err)
		}
	}
	seg := q.active()
	if _, err := seg.f.WriteAt(q.buf, seg.size); err != nil {
		return q.fail(c, fmt.Errorf("writing %s: %w", seg.name, err))
	}
	if seg.count == 0 {
		seg.first = q.bufFirst
	}
	seg.size += int64(len(q.buf))
	seg.allocated = max(seg.allocated, seg.size)
	seg.last = q.lastPushed
	seg.count += q.bufCount
	q.lastWritten = q.lastPushed
	q.written = q.pushed
	q.buf, q.bufCount = q.buf[:0], 0
	return q.allocateAhead(c, seg)
}

// allocateAhead fills the segment's file with zeros ahead of its records
// once less than half of Options.PreallocBytes is left, up to the segment's
// size, and syncs them on an actor of their own: the commits' syncs then
// overwrite allocated, initialized blocks, which (on ext4, xfs) needs no
// journal commit, so they are cheaper and do not queue behind the file
// system's other metadata work. The zeros are written here, on the
// caller's turn, so they always precede the records later written over
// them; a crash that keeps them is a torn tail, which Open truncates.
func (q *Queue) allocateAhead(c *flow.Ctx, seg *segment) error {
	ahead := q.opts.PreallocBytes
	if ahead <= 0 || seg.allocated-seg.size >= ahead/2 || seg.allocated >= q.opts.SegmentBytes || q.preallocating() {
		return nil
	}
	end := min(seg.allocated+ahead, q.opts.SegmentBytes)
	if _, err := seg.f.WriteAt(make([]byte, end-seg.allocated), seg.allocated); err != nil {
		return q.fail(c, fmt.Errorf("preallocating %s: %w", seg.name, err))
	}
	seg.allocated = end
	f, name := seg.f, seg.name
	q.prealloc = c.Spawn("DiskQueuePrealloc", func(c *flow.Ctx) error {
		defer q.wake() // a roll may wait for this sync
		if err := f.Sync(c); err != nil {
			return q.fail(c, fmt.Errorf("syncing the space preallocated in %s: %w", name, err))
		}
		return nil
	})
	return nil
}

// sync makes everything written to seg so far durable. Syncs may overlap;
// each one ending makes the records written before it started durable (a
// sync covers every write issued before it, whichever sync ends first), so
// the durable count only moves forward, over a prefix of the records.
func (q *Queue) sync(c *flow.Ctx, seg *segment) error {
	upto, lastVersion, size := q.written, q.lastWritten, seg.size
	if len(q.syncing) > 0 {
		q.overlapped++
	}
	q.syncing = append(q.syncing, upto)
	defer q.endSync(upto)
	start := c.Now()
	if err := seg.f.Sync(c); err != nil {
		if errors.Is(err, flow.ErrOperationCancelled) {
			return err
		}
		return q.fail(c, fmt.Errorf("syncing %s: %w", seg.name, err))
	}
	if q.err != nil {
		// After a failed sync nothing is known to be durable, even what a
		// later sync claims (the kernel may have dropped the pages).
		return q.err
	}
	if h := q.opts.SyncLatency; h != nil {
		h.Observe(c.Now().Sub(start))
	}
	q.syncs++
	seg.synced = max(seg.synced, size)
	if upto > q.durable {
		q.durable, q.durableVers = upto, lastVersion
	}
	return nil
}

// endSync forgets a sync that ended (however it ended) and wakes the
// committers waiting for one.
func (q *Queue) endSync(upto uint64) {
	for i, s := range q.syncing {
		if s == upto {
			q.syncing = append(q.syncing[:i], q.syncing[i+1:]...)
			break
		}
	}
	q.wake()
}

// wake wakes the committers waiting for a sync to end or a roll to finish.
func (q *Queue) wake() {
	p := q.synced
	q.synced = flow.NewPromise[struct{}]()
	p.Send(struct{}{})
}

// fail records a write or sync error: after it, what is on disk is
// unknown, so the queue refuses further work (the process must restart and
// recover).
func (q *Queue) fail(c *flow.Ctx, err error) error {
	if errors.Is(err, flow.ErrOperationCancelled) {
		return err
	}
	if q.err == nil {
		q.err = fmt.Errorf("diskqueue: %s: %w", q.dir, err)
		c.Trace(flow.SevError, "DiskQueueFailed", flow.D("Dir", q.dir), flow.D("Error", err.Error()))
	}
	return q.err
}

func (q *Queue) active() *segment {
	if len(q.segments) == 0 {
		return nil
	}
	return q.segments[len(q.segments)-1]
}

// ensureSegment makes sure there is a segment to append to, starting a new
// one when the current one is full. Callers move on only from a fully
// synced segment (see flush): syncs then only ever cover one file, so no
// crash can keep later records while losing earlier ones.
func (q *Queue) ensureSegment(c *flow.Ctx) error {
	cur := q.active()
	if cur != nil && cur.size < q.opts.SegmentBytes {
		return nil
	}
	seq := q.nextSeq
	name := segmentName(q.dir, seq)
	f, err := q.fs.Open(name, true)
	if err != nil {
		return fmt.Errorf("creating %s: %w", name, err)
	}
	if err := f.Truncate(0); err != nil {
		f.Close()
		return fmt.Errorf("clearing %s: %w", name, err)
	}
	if _, err := f.WriteAt(segmentHeader(q.lastWritten), 0); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", name, err)
	}
	q.nextSeq++
	seg := &segment{seq: seq, name: name, f: f, size: headerSize, allocated: headerSize, prev: q.lastWritten}
	q.segments = append(q.segments, seg)
	if cur != nil {
		// Appends never return to a full segment.
		if err := cur.f.Close(); err != nil {
			return fmt.Errorf("closing %s: %w", cur.name, err)
		}
		cur.f = nil
	}
	if err := q.fs.SyncDir(c); err != nil {
		return fmt.Errorf("syncing directory for %s: %w", name, err)
	}
	return nil
}

// Pop declares the records below version upTo no longer needed and deletes
// every segment all of whose records are below it. The current segment, and
// the last one holding a durable record, are kept: the queue must still
// know its last version after a restart.
func (q *Queue) Pop(c *flow.Ctx, upTo int64) error {
	if upTo <= q.popped {
		return nil
	}
	q.popped = upTo
	keep := q.keptFrom()
	if keep == 0 {
		return nil
	}
	doomed := q.segments[:keep]
	q.segments = append([]*segment(nil), q.segments[keep:]...)
	for _, s := range doomed {
		if s.f != nil {
			_ = s.f.Close() // it is being deleted; a close error changes nothing
		}
		if err := q.fs.Remove(s.name); err != nil {
			return q.fail(c, fmt.Errorf("removing %s: %w", s.name, err))
		}
		q.reclaimed += s.size
	}
	if err := q.fs.SyncDir(c); err != nil {
		return q.fail(c, fmt.Errorf("syncing directory after reclaiming: %w", err))
	}
	return nil
}

// keptFrom returns the index of the first segment Pop must keep.
func (q *Queue) keptFrom() int {
	// The last segment holding durable records must stay.
	lastDurable := -1
	for i, s := range q.segments {
		if s.synced > headerSize {
			lastDurable = i
		}
	}
	i := 0
	for i < len(q.segments)-1 && i < lastDurable {
		s := q.segments[i]
		if s.count > 0 && s.last >= q.popped {
			break
		}
		i++
	}
	return i
}

// ReclaimedBelow returns the version below which records were reclaimed
// (0 if none ever were): the end of the deleted prefix of segments, as
// recorded in the first remaining one, so it survives a restart.
func (q *Queue) ReclaimedBelow() int64 {
	if len(q.segments) == 0 || q.segments[0].prev == 0 {
		return 0
	}
	return q.segments[0].prev + 1
}

// Stats returns the queue's footprint and work so far.
func (q *Queue) Stats() Stats {
	st := Stats{Segments: len(q.segments), Syncs: q.syncs, OverlappedSyncs: q.overlapped,
		Reclaimed: q.reclaimed, Bytes: int64(len(q.buf))}
	for _, s := range q.segments {
		st.Bytes += s.size
	}
	return st
}

// Close closes the queue's files. Buffered records not committed are lost.
func (q *Queue) Close() error {
	if q.prealloc != nil {
		q.prealloc.Cancel()
	}
	var first error
	for _, s := range q.segments {
		if s.f == nil {
			continue
		}
		if err := s.f.Close(); err != nil && first == nil {
			first = fmt.Errorf("diskqueue: closing %s: %w", s.name, err)
		}
		s.f = nil
	}
	if q.err == nil {
		q.err = errors.New("diskqueue: closed")
	}
	return first
}
