package tlog

import (
	"slices"
	"sort"

	"github.com/strata-db/strata/db/wire"
)

// tagLog is the in-memory index of one tag: its unpopped mutations by
// version.
type tagLog struct {
	// popped is the version below which the tag's data is gone.
	popped int64
	// pushed records that the log ever held mutations for the tag; only
	// such tags hold back the queue's reclaiming.
	pushed  bool
	entries []tagEntry // ascending versions
}

type tagEntry struct {
	version   int64
	mutations []*wire.Mutation
	bytes     int
}

// mutationBytes is the size a mutation counts for in memory and in peek
// replies.
func mutationBytes(m *wire.Mutation) int { return len(m.Key) + len(m.Param) + 8 }

func (t *TLog) tag(tag uint32) *tagLog {
	tl := t.tags[tag]
	if tl == nil {
		tl = &tagLog{}
		t.tags[tag] = tl
	}
	return tl
}

// index adds a commit's mutations to the tags' indexes.
func (t *TLog) index(req *wire.TLogCommitRequest) {
	for _, tm := range req.Messages {
		if len(tm.Mutations) == 0 {
			continue
		}
		tl := t.tag(tm.Tag)
		tl.pushed = true
		if req.Version < tl.popped {
			continue
		}
		size := 0
		for _, m := range tm.Mutations {
			size += mutationBytes(m)
		}
		t.memoryBytes += int64(size)
		if n := len(tl.entries); n > 0 && tl.entries[n-1].version == req.Version {
			// The tag appears twice in one commit: one entry per version.
			last := &tl.entries[n-1]
			last.mutations = append(last.mutations, tm.Mutations...)
			last.bytes += size
			continue
		}
		tl.entries = append(tl.entries, tagEntry{version: req.Version, mutations: tm.Mutations, bytes: size})
	}
}

// collect returns the tag's mutations at durable versions >= begin, up to
// about limit bytes (at least one version), and the version to continue
// from.
func (t *TLog) collect(tag uint32, begin int64, limit int) ([]*wire.VersionedMutations, int64, int) {
	end := max(begin, t.durable+1)
	tl := t.tags[tag]
	if tl == nil {
		return nil, end, 0
	}
	i := sort.Search(len(tl.entries), func(i int) bool { return tl.entries[i].version >= begin })
	var out []*wire.VersionedMutations
	bytes := 0
	for ; i < len(tl.entries) && tl.entries[i].version <= t.durable; i++ {
		e := tl.entries[i]
		if len(out) > 0 && bytes+e.bytes > limit {
			return out, e.version, bytes
		}
		out = append(out, &wire.VersionedMutations{Version: e.version, Mutations: e.mutations})
		bytes += e.bytes
	}
	return out, end, bytes
}

// dropBelow forgets the tag's mutations below version to.
func (t *TLog) dropBelow(tl *tagLog, to int64) {
	i := sort.Search(len(tl.entries), func(i int) bool { return tl.entries[i].version >= to })
	for _, e := range tl.entries[:i] {
		t.memoryBytes -= int64(e.bytes)
	}
	// Clearing lets the popped mutations be collected now; the array's
	// dead front goes when append next reallocates it.
	clear(tl.entries[:i])
	tl.entries = tl.entries[i:]
}

// raisePopped moves the tag's popped point up to popped (never down) and
// forgets what is below it.
func (t *TLog) raisePopped(tl *tagLog, popped int64) {
	if popped > tl.popped {
		tl.popped = popped
	}
	t.dropBelow(tl, tl.popped)
}

// tagStates lists every tag the log has data or a pop for, in tag order,
// with its popped point in TLogTagState's terms: the last version that may
// be gone (one below the first version the log still holds).
func (t *TLog) tagStates() []*wire.TLogTagState {
	tags := make([]uint32, 0, len(t.tags))
	for tag := range t.tags {
		tags = append(tags, tag)
	}
	slices.Sort(tags)
	out := make([]*wire.TLogTagState, len(tags))
	for i, tag := range tags {
		out[i] = &wire.TLogTagState{Tag: tag, Popped: max(t.tags[tag].popped-1, 0)}
	}
	return out
}

// reclaimPoint is the version below which no tag needs the queue: the
// smallest popped point of the tags ever pushed, and never above the next
// version (later commits may bring any tag).
func (t *TLog) reclaimPoint() int64 {
	point, _, _ := t.minPopped()
	return point
}

// minPopped is the reclaim point and the tag that sets it: the pushed tag
// with the smallest popped point, lowest tag first on ties. held is false
// when no tag holds the point below the next version.
func (t *TLog) minPopped() (point int64, tag uint32, held bool) {
	end := t.durable + 1
	point = end
	for id, tl := range t.tags {
		if !tl.pushed || tl.popped >= end {
			continue // never held data, or popped to the end: holds nothing back
		}
		if !held || tl.popped < point || (tl.popped == point && id < tag) {
			point, tag, held = tl.popped, id, true
		}
	}
	return point, tag, held
}

// encodeRecord is the queue record of a commit: the request itself.
func encodeRecord(req *wire.TLogCommitRequest) ([]byte, error) {
	return req.MarshalVT()
}

func decodeRecord(b []byte) (*wire.TLogCommitRequest, error) {
	req := &wire.TLogCommitRequest{}
	if err := req.UnmarshalVT(b); err != nil {
		return nil, err
	}
	return req, nil
}
