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
}

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
	first  int64 // version of its first record, if count > 0
	last   int64 // version of its last record, if count > 0
	count  int   // records written
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
	durable     uint64 // records of pushed known durable
	durableVers int64  // version of the last durable record

	flushing *flow.Promise[struct{}] // set while a flush runs
	err      error                   // a failed write or sync: the queue is unusable

	syncs     uint64
	reclaimed int64
	popped    int64
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
	q := &Queue{fs: fs, dir: dir, opts: opts, nextSeq: 1}
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

// Commit returns once every record pushed before the call is durable. If a
// sync is already running, Commit waits for it and then joins (or starts)
// the next one, so concurrent committers share syncs. An I/O error makes
// the queue unusable: this and every later call return it.
func (q *Queue) Commit(c *flow.Ctx) error {
	target := q.pushed
	yielded := false
	for q.durable < target {
		if q.err != nil {
			return q.err
		}
		if q.flushing != nil {
			if _, err := flow.Await(c, q.flushing.Future()); err != nil {
				return err
			}
			continue
		}
		if !yielded {
			// Let the actors that are ready to run first (committers the
			// last sync just released) push, so this sync covers them too
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

// flush writes the buffered records and syncs the current segment. A
// cancelled flush leaves the queue consistent: records stay buffered until
// written, and written records stay undurable until a later flush syncs.
func (q *Queue) flush(c *flow.Ctx) error {
	p := flow.NewPromise[struct{}]()
	q.flushing = &p
	defer func() {
		q.flushing = nil
		p.Send(struct{}{})
	}()
	if q.bufCount > 0 {
		if err := q.ensureSegment(c); err != nil {
			return q.fail(c, err)
		}
	}
	// Nothing below blocks until Sync, so the records taken are exactly
	// those pushed so far.
	upto, lastVersion := q.pushed, q.lastPushed
	seg := q.active()
	if q.bufCount > 0 {
		if _, err := seg.f.WriteAt(q.buf, seg.size); err != nil {
			return q.fail(c, fmt.Errorf("writing %s: %w", seg.name, err))
		}
		if seg.count == 0 {
			seg.first = q.bufFirst
		}
		seg.size += int64(len(q.buf))
		seg.last = lastVersion
		q.lastWritten = lastVersion
		seg.count += q.bufCount
		q.buf, q.bufCount = q.buf[:0], 0
	}
	if seg == nil {
		// Nothing was ever written in this incarnation and nothing is
		// buffered: the pushed records are the recovered ones, synced by
		// Open.
		q.durable, q.durableVers = upto, lastVersion
		return nil
	}
	size := seg.size
	start := c.Now()
	if err := seg.f.Sync(c); err != nil {
		if errors.Is(err, flow.ErrOperationCancelled) {
			return err
		}
		return q.fail(c, fmt.Errorf("syncing %s: %w", seg.name, err))
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
// one when the current one is full. It moves on only from a fully synced
// segment: a flush writes a single file, so no crash can keep later records
// while losing earlier ones.
func (q *Queue) ensureSegment(c *flow.Ctx) error {
	cur := q.active()
	if cur != nil && (cur.size < q.opts.SegmentBytes || cur.synced < cur.size) {
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
	seg := &segment{seq: seq, name: name, f: f, size: headerSize, prev: q.lastWritten}
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
	st := Stats{Segments: len(q.segments), Syncs: q.syncs, Reclaimed: q.reclaimed, Bytes: int64(len(q.buf))}
	for _, s := range q.segments {
		st.Bytes += s.size
	}
	return st
}

// Close closes the queue's files. Buffered records not committed are lost.
func (q *Queue) Close() error {
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
