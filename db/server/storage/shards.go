package storage

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/wire"
)

// ShardState is where a shard of a server stands.
type ShardState uint8

const (
	// ShardFetching: the server applies the shard's mutations and copies
	// its older data from other servers; reads of it fail with
	// wrong_shard_server.
	ShardFetching ShardState = 1
	// ShardReadable: the server holds all of the shard's data from its
	// readable version on and serves reads of it.
	ShardReadable ShardState = 2
)

func (s ShardState) String() string {
	switch s {
	case ShardFetching:
		return "fetching"
	case ShardReadable:
		return "readable"
	}
	return fmt.Sprintf("ShardState(%d)", uint8(s))
}

// ShardInfo describes one shard of a server.
type ShardInfo struct {
	Range kv.KeyRange
	State ShardState
	// ReadableVersion is the first version reads of the shard may use
	// (0: any version the server still has).
	ReadableVersion kv.Version
	// Bytes estimates the shard's bytes of keys and values in the engine
	// (from the byte sample; data not yet durable is not counted).
	Bytes int64
}

// shard is a key range the server owns.
type shard struct {
	r          kv.KeyRange
	state      ShardState
	readableAt kv.Version
	// sources and taggedFrom are the move that brought the shard (none for
	// a shard the server was created with); kept so that a rollback can
	// fetch it again.
	sources    []*wire.StorageInterface
	taggedFrom kv.Version
	fetch      *fetchState // while fetching
}

// shardMap holds the server's shards: disjoint, sorted by begin key.
type shardMap struct{ list []*shard }

// containing returns the index of the shard holding key, or -1.
func (m *shardMap) containing(key []byte) int {
	i := m.lastBeginAtOrBefore(key)
	if i >= 0 && m.list[i].r.Contains(key) {
		return i
	}
	return -1
}

// lastBeginAtOrBefore returns the index of the last shard beginning at or
// before key, or -1.
func (m *shardMap) lastBeginAtOrBefore(key []byte) int {
	return sort.Search(len(m.list), func(i int) bool { return bytes.Compare(m.list[i].r.Begin, key) > 0 }) - 1
}

// overlapping returns the indexes [i, j) of the shards intersecting r.
func (m *shardMap) overlapping(r kv.KeyRange) (int, int) {
	i := sort.Search(len(m.list), func(i int) bool { return bytes.Compare(m.list[i].r.End, r.Begin) > 0 })
	j := i
	for j < len(m.list) && bytes.Compare(m.list[j].r.Begin, r.End) < 0 {
		j++
	}
	return i, j
}

func (m *shardMap) insert(sh *shard) {
	i := sort.Search(len(m.list), func(i int) bool { return bytes.Compare(m.list[i].r.Begin, sh.r.Begin) > 0 })
	m.list = slices.Insert(m.list, i, sh)
}

// readableAt reports whether shard i serves reads at version v.
func (m *shardMap) readableAt(i int, v kv.Version) bool {
	sh := m.list[i]
	return sh.state == ShardReadable && sh.readableAt <= v
}

// span returns the run of adjacent shards readable at v around shard i
// (i < 0: none), which reads treat as one range.
func (m *shardMap) span(i int, v kv.Version) (kv.KeyRange, bool) {
	if i < 0 || !m.readableAt(i, v) {
		return kv.KeyRange{}, false
	}
	lo, hi := i, i
	for lo > 0 && bytes.Equal(m.list[lo-1].r.End, m.list[lo].r.Begin) && m.readableAt(lo-1, v) {
		lo--
	}
	for hi+1 < len(m.list) && bytes.Equal(m.list[hi].r.End, m.list[hi+1].r.Begin) && m.readableAt(hi+1, v) {
		hi++
	}
	return kv.KeyRange{Begin: m.list[lo].r.Begin, End: m.list[hi].r.End}, true
}

// keySpan returns the readable span at v holding key.
func (s *Server) keySpan(key []byte, v kv.Version) (kv.KeyRange, bool) {
	return s.shards.span(s.shards.containing(key), v)
}

// rangeOwned reports whether the server serves reads of all of r at v.
func (s *Server) rangeOwned(r kv.KeyRange, v kv.Version) bool {
	if r.Empty() {
		return true
	}
	span, ok := s.keySpan(r.Begin, v)
	return ok && bytes.Compare(r.End, span.End) <= 0
}

// selectorSpan returns the readable span at v that may resolve sel: the
// one holding the key the selector starts from, which for a backward
// selector is the key before sel.Key.
func (s *Server) selectorSpan(sel kv.KeySelector, v kv.Version) (kv.KeyRange, bool) {
	i := s.shards.containing(sel.Key)
	if !sel.OrEqual && sel.Offset <= 0 && len(sel.Key) > 0 {
		i = s.shards.lastBeginAtOrBefore(sel.Key)
		if i >= 0 && bytes.Equal(s.shards.list[i].r.Begin, sel.Key) {
			i--
		}
		if i >= 0 && bytes.Compare(s.shards.list[i].r.End, sel.Key) < 0 {
			i = -1
		}
	}
	span, ok := s.shards.span(i, v)
	if !ok || !selectorInShard(sel, span) {
		return kv.KeyRange{}, false
	}
	return span, true
}

// clipShard returns r with its end clipped below the server's reserved
// keys, and an error when nothing is left.
func clipShard(r kv.KeyRange) (kv.KeyRange, error) {
	out := kv.KeyRange{Begin: bytes.Clone(r.Begin), End: bytes.Clone(r.End)}
	if out.Begin == nil {
		out.Begin = []byte{}
	}
	if bytes.Compare(out.End, reservedPrefix) > 0 {
		out.End = bytes.Clone(reservedPrefix)
	}
	if out.Empty() {
		return kv.KeyRange{}, fmt.Errorf("shard %s is empty", r)
	}
	return out, nil
}

// Shards returns the server's shards in key order.
func (s *Server) Shards() []ShardInfo {
	out := make([]ShardInfo, len(s.shards.list))
	for i, sh := range s.shards.list {
		out[i] = ShardInfo{Range: kv.KeyRange{Begin: bytes.Clone(sh.r.Begin), End: bytes.Clone(sh.r.End)},
			State: sh.state, Bytes: s.sample.bytesIn(sh.r)}
		if sh.state == ShardReadable {
			out[i].ReadableVersion = sh.readableAt
		}
	}
	return out
}

// AddShard makes r one of the server's shards, FoundationDB's fetchKeys:
// from now on the server applies r's mutations from its tag stream (for
// the part of r not copied yet it holds them back), copies r's data from
// sources with paged range reads at versions >= taggedFrom (failing over
// between sources, retrying on future_version and transaction_too_old),
// applies the held-back mutations above each page's version, and then
// serves reads of r at versions from the one it finished at. Until then
// reads of r fail with wrong_shard_server.
//
// taggedFrom is the first version whose mutations in r the proxies tag for
// this server; AddShard may be called before or after the server pulled
// it. With no sources, r holds no data below taggedFrom, which the server
// must not have pulled yet: r is readable at once, from taggedFrom.
func (s *Server) AddShard(r kv.KeyRange, sources []*wire.StorageInterface, taggedFrom kv.Version) error {
	if s.stopped {
		return errors.New("storage: server stopped")
	}
	r, err := clipShard(r)
	if err != nil {
		return fmt.Errorf("storage %s: adding a shard: %w", s.id, err)
	}
	if i, j := s.shards.overlapping(r); i < j {
		return fmt.Errorf("storage %s: shard %s overlaps shard %s", s.id, r, s.shards.list[i].r)
	}
	if len(sources) == 0 && taggedFrom <= s.version {
		return fmt.Errorf("storage %s: shard %s has no sources and its mutations from %d were not kept (server at %d)",
			s.id, r, taggedFrom, s.version)
	}
	sh := &shard{r: r, state: ShardFetching, sources: slices.Clone(sources), taggedFrom: taggedFrom}
	s.shards.insert(sh)
	s.metaDirty = true
	s.env.Trace(flow.SevInfo, "StorageAddShard", flow.D("ID", s.id), flow.D("Shard", r.String()),
		flow.D("Sources", len(sources)), flow.D("TaggedFrom", taggedFrom), flow.D("Version", s.version))
	s.startFetch(sh)
	return nil
}

// RemoveShard stops serving r at once (reads of it fail with
// wrong_shard_server, and so do the watches on it), drops any fetch of it
// and clears its data; the engine loses it with the next commits (see
// MetadataDurable). r may cut shards: the parts outside it stay (a fetching
// one starts its fetch again).
func (s *Server) RemoveShard(r kv.KeyRange) error {
	if s.stopped {
		return errors.New("storage: server stopped")
	}
	r, err := clipShard(r)
	if err != nil {
		return fmt.Errorf("storage %s: removing a shard: %w", s.id, err)
	}
	i, j := s.shards.overlapping(r)
	var keep []*shard
	for _, sh := range s.shards.list[i:j] {
		s.stopFetch(sh)
		for _, part := range []kv.KeyRange{{Begin: sh.r.Begin, End: r.Begin}, {Begin: r.End, End: sh.r.End}} {
			if part.Empty() {
				continue
			}
			rest := *sh
			rest.r = part
			keep = append(keep, &rest)
		}
	}
	s.shards.list = slices.Replace(s.shards.list, i, j, keep...)
	for _, sh := range keep {
		if sh.state == ShardFetching {
			s.startFetch(sh)
		}
	}
	s.clearUnowned(r)
	s.watches.failRange(r, kv.ErrWrongShardServer)
	s.metaDirty = true
	s.env.Trace(flow.SevInfo, "StorageRemoveShard", flow.D("ID", s.id), flow.D("Shard", r.String()),
		flow.D("Version", s.version))
	return nil
}

// removal is a range cleared because the server stopped owning it, and the
// version the clear was written at.
type removal struct {
	r       kv.KeyRange
	version kv.Version
}

// clearUnowned clears r, which the server no longer owns, in the window
// (after the server's version: it is no version's state to read) and
// remembers it until the clear is durable, so that a rollback that drops
// the clear can write it again.
func (s *Server) clearUnowned(r kv.KeyRange) {
	v := s.version + 1
	s.store.clearRange(v, r)
	s.removals = append(s.removals, removal{r: r, version: v})
}

// MetadataDurable returns a future set once the engine holds the server's
// identity and shard set as of now (a shard made readable very recently may
// still be recorded as fetching, until the durable version passes its
// readable version). The durability actor writes them with its next
// commit.
func (s *Server) MetadataDurable() flow.Future[struct{}] {
	s.metaDirty = true
	return s.metaSynced.Future()
}

// removeAssigned handles a PrivateRemoveShard at version v: the server
// stops serving the parts of r it owned before v. A shard added from a
// version after v (data distribution moved it back) is kept.
func (s *Server) removeAssigned(v kv.Version, r kv.KeyRange) {
	r, err := clipShard(r)
	if err != nil {
		return
	}
	i, j := s.shards.overlapping(r)
	var drop []kv.KeyRange
	for _, sh := range s.shards.list[i:j] {
		if sh.taggedFrom > v {
			continue
		}
		drop = append(drop, sh.r.Intersect(r))
	}
	for _, part := range drop {
		if err := s.RemoveShard(part); err != nil {
			s.env.Trace(flow.SevWarn, "StoragePrivateRemoveFailed", flow.D("ID", s.id), flow.D("Shard", part.String()), flow.D("Error", err.Error()))
		}
	}
}
