package storage

import (
	"slices"
	"sort"

	"github.com/strata-db/strata/db/kv"
)

// clearMark records that a range clear of the window covered a segment.
type clearMark struct {
	version kv.Version
	seq     uint64
}

// clearMap indexes the window's range clears by key: the key space is cut
// into segments at every clear's ends, and each segment lists the clears
// covering it in apply order. A key's latest clear at a version is then a
// binary search away, however many clears the window holds.
type clearMap struct {
	// starts[i] begins segment i, which ends at starts[i+1] (the last one
	// has no end); starts[0] is the empty key.
	starts []string
	marks  [][]clearMark
}

func newClearMap() *clearMap { return &clearMap{starts: []string{""}, marks: [][]clearMark{nil}} }

// segment returns the index of the segment holding k.
func (m *clearMap) segment(k string) int {
	return sort.Search(len(m.starts), func(i int) bool { return m.starts[i] > k }) - 1
}

// split makes k the start of a segment and returns its index.
func (m *clearMap) split(k string) int {
	i := m.segment(k)
	if m.starts[i] == k {
		return i
	}
	m.starts = slices.Insert(m.starts, i+1, k)
	m.marks = slices.Insert(m.marks, i+1, slices.Clone(m.marks[i]))
	return i + 1
}

// add records a clear of r, which is not empty, applied after every mark
// already recorded.
func (m *clearMap) add(r kv.KeyRange, mark clearMark) {
	i := m.split(string(r.Begin))
	j := m.split(string(r.End))
	for s := i; s < j; s++ {
		m.marks[s] = append(m.marks[s], mark)
	}
}

// latest returns the last clear at or below v covering k, and the index of
// the segment holding k (every key of which that clear covers too).
func (m *clearMap) latest(k []byte, v kv.Version) (clearMark, int, bool) {
	i := m.segment(string(k))
	ms := m.marks[i]
	j := sort.Search(len(ms), func(j int) bool { return ms[j].version > v })
	if j == 0 {
		return clearMark{}, i, false
	}
	return ms[j-1], i, true
}

// segmentRange returns the keys of segment i.
func (m *clearMap) segmentRange(i int) kv.KeyRange {
	seg := kv.KeyRange{Begin: []byte(m.starts[i])}
	if i+1 < len(m.starts) {
		seg.End = []byte(m.starts[i+1])
	} else {
		seg.End = []byte("\xff\xff\xff\xff")
	}
	return seg
}

// forget drops the marks at versions up to upTo and merges the segments
// left with the same (no) marks.
func (m *clearMap) forget(upTo kv.Version) {
	starts, marks := m.starts[:0], m.marks[:0]
	for i, ms := range m.marks {
		j := sort.Search(len(ms), func(j int) bool { return ms[j].version > upTo })
		ms = ms[j:]
		if len(ms) == 0 && len(marks) > 0 && len(marks[len(marks)-1]) == 0 {
			continue // extends the previous empty segment
		}
		starts = append(starts, m.starts[i])
		marks = append(marks, ms)
	}
	clear(m.starts[len(starts):])
	clear(m.marks[len(marks):])
	m.starts, m.marks = starts, marks
}

// rollback drops the marks at versions above rv (the newest of each
// segment) and merges the segments left with no marks.
func (m *clearMap) rollback(rv kv.Version) {
	for i, ms := range m.marks {
		j := sort.Search(len(ms), func(j int) bool { return ms[j].version > rv })
		m.marks[i] = ms[:j]
	}
	m.forget(-1) // drops nothing; merges the empty segments
}

// size returns the number of segments, for tests.
func (m *clearMap) size() int { return len(m.starts) }
