package diskqueue

import (
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/strata-db/strata/db/flow"
)

// recover loads the segments, repairs the files after the first invalid
// record and returns the valid records.
func (q *Queue) recover(c *flow.Ctx) ([]Record, error) {
	seqs, err := q.listSegments()
	if err != nil {
		return nil, err
	}
	var recs []Record
	var last int64
	damaged, removed := false, false
	for _, seq := range seqs {
		q.nextSeq = max(q.nextSeq, seq+1)
		name := segmentName(q.dir, seq)
		if damaged {
			// Everything after the first invalid record goes.
			if err := q.fs.Remove(name); err != nil {
				return nil, fmt.Errorf("removing %s after damage: %w", name, err)
			}
			removed = true
			continue
		}
		seg, segRecs, gone, err := q.loadSegment(c, name, seq, last)
		if err != nil {
			return nil, err
		}
		removed = removed || gone
		if seg == nil {
			damaged = true
		} else {
			damaged = seg.truncated
			q.segments = append(q.segments, &seg.segment)
		}
		recs = append(recs, segRecs...)
		if n := len(segRecs); n > 0 {
			last = segRecs[n-1].Version
		}
	}
	if removed {
		if err := q.fs.SyncDir(c); err != nil {
			return nil, fmt.Errorf("syncing directory after repair: %w", err)
		}
	}
	// Only the last segment takes appends; the others need no handle.
	for i, s := range q.segments {
		if i < len(q.segments)-1 {
			if err := s.f.Close(); err != nil {
				return nil, fmt.Errorf("closing %s: %w", s.name, err)
			}
			s.f = nil
		}
	}
	return recs, nil
}

// listSegments returns the sequence numbers of the segment files, in order.
// Other files in the directory are left alone.
func (q *Queue) listSegments() ([]uint64, error) {
	names, err := q.fs.List(q.dir)
	if err != nil {
		return nil, fmt.Errorf("listing: %w", err)
	}
	var seqs []uint64
	for _, n := range names {
		if seq, ok := parseSegmentName(n); ok {
			seqs = append(seqs, seq)
		}
	}
	slices.Sort(seqs)
	return seqs, nil
}

// loadedSegment is a segment as recovery found it.
type loadedSegment struct {
	segment
	truncated bool // an invalid tail was cut off
}

// loadSegment reads and validates one segment, truncating an invalid tail
// and syncing what remains. A segment with no valid record at all is
// removed (gone) and nil is returned, which also marks the damage.
func (q *Queue) loadSegment(c *flow.Ctx, name string, seq uint64, after int64) (seg *loadedSegment, recs []Record, gone bool, err error) {
	f, err := q.fs.Open(name, false)
	if err != nil {
		return nil, nil, false, fmt.Errorf("opening %s: %w", name, err)
	}
	data, err := readAll(f)
	if err != nil {
		f.Close()
		return nil, nil, false, fmt.Errorf("reading %s: %w", name, err)
	}
	prev, recs, valid, problem := parseSegment(data, after)
	if problem == "" && after > 0 && prev != after {
		// A segment between the two is missing: nothing from here on
		// can be trusted to follow the records before.
		recs, valid, problem = nil, 0, fmt.Sprintf("segment follows version %d, not %d", prev, after)
	}
	if problem != "" {
		sev := flow.SevWarn
		if allZero(data[valid:]) {
			// Space preallocated ahead of the records: expected after a
			// restart, though still cut off (see Open).
			sev, problem = flow.SevInfo, "preallocated space"
		}
		c.Trace(sev, "DiskQueueTruncated", flow.D("File", name), flow.D("Offset", valid),
			flow.D("Discarded", len(data)-valid), flow.D("Reason", problem))
	}
	if problem != "" && len(recs) == 0 {
		f.Close()
		if err := q.fs.Remove(name); err != nil {
			return nil, nil, false, fmt.Errorf("removing damaged %s: %w", name, err)
		}
		return nil, nil, true, nil
	}
	if problem != "" {
		if err := f.Truncate(int64(valid)); err != nil {
			f.Close()
			return nil, nil, false, fmt.Errorf("truncating %s: %w", name, err)
		}
	}
	// What survived a crash may still be only in the page cache; it is
	// reported durable, so make it so.
	if err := f.Sync(c); err != nil {
		f.Close()
		return nil, nil, false, fmt.Errorf("syncing %s: %w", name, err)
	}
	s := &loadedSegment{
		segment:   segment{seq: seq, name: name, f: f, prev: prev, size: int64(valid), synced: int64(valid), allocated: int64(valid), count: len(recs)},
		truncated: problem != "",
	}
	if n := len(recs); n > 0 {
		s.first, s.last = recs[0].Version, recs[n-1].Version
	}
	return s, recs, false, nil
}

// readAll returns a file's whole contents.
func readAll(f flow.File) ([]byte, error) {
	size, err := f.Size()
	if err != nil {
		return nil, err
	}
	data := make([]byte, size)
	n, err := f.ReadAt(data, 0)
	if err != nil && !(errors.Is(err, io.EOF) && int64(n) == size) {
		return nil, err
	}
	return data[:n], nil
}

// allZero reports whether b holds only zero bytes.
func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}
