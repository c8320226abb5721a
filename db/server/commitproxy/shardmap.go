package commitproxy

import (
	"bytes"
	"slices"
	"sort"

	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/wire"
	"google.golang.org/protobuf/proto"
)

// KeyServersPrefix is where the shard map lives in the system keyspace:
// the key KeyServersPrefix+begin holds a marshalled wire.ShardLocation
// naming the servers of the shard that starts at begin and ends where the
// next such key begins (FoundationDB's key-range map). Only its servers
// field is read.
var KeyServersPrefix = []byte("\xff/keyServers/")

// shardMap is the proxy's in-memory form of \xff/keyServers/: shard
// boundaries in key order, the first at "", each shard ending where the
// next begins and the last at kv.AllKeys.End.
type shardMap struct {
	shards []mapShard
	// removed are the servers the last applied \xff/keyServers/ set took
	// a range from: each gets a PrivateRemoveShard at that version.
	removed []removedShard
}

// removedShard is a range a storage server (by tag) stopped owning.
type removedShard struct {
	tag        uint32
	begin, end []byte
}

type mapShard struct {
	begin   []byte
	servers []*wire.StorageInterface
}

func newShardMap(shards []Shard) *shardMap {
	m := &shardMap{}
	for _, s := range shards {
		m.shards = append(m.shards, mapShard{begin: bytes.Clone(s.Range.Begin), servers: s.Servers})
	}
	return m
}

// index returns the shard containing key.
func (m *shardMap) index(key []byte) int {
	i := sort.Search(len(m.shards), func(i int) bool { return bytes.Compare(m.shards[i].begin, key) > 0 })
	return i - 1 // shards[0].begin is "", so i >= 1
}

func (m *shardMap) end(i int) []byte {
	if i+1 < len(m.shards) {
		return m.shards[i+1].begin
	}
	return kv.AllKeys.End
}

// tagger collects a batch's mutations per storage tag, in commit order.
type tagger struct {
	byTag map[uint32][]*wire.Mutation
}

func newTagger() *tagger { return &tagger{byTag: map[uint32][]*wire.Mutation{}} }

// add routes mu to the tags of every shard it touches; a clear-range is
// clipped to each shard it overlaps.
func (t *tagger) add(m *shardMap, mu *wire.Mutation) {
	if kv.MutationType(mu.GetType()) != kv.ClearRange {
		t.addToShard(m.shards[m.index(mu.GetKey())], mu)
		return
	}
	begin, end := mu.GetKey(), mu.GetParam()
	for i := m.index(begin); i < len(m.shards) && bytes.Compare(m.shards[i].begin, end) < 0; i++ {
		clipped := &wire.Mutation{
			Type:  mu.GetType(),
			Key:   maxKey(begin, m.shards[i].begin),
			Param: minKey(end, m.end(i)),
		}
		t.addToShard(m.shards[i], clipped)
	}
}

func (t *tagger) addToShard(s mapShard, mu *wire.Mutation) {
	var seen []uint32
	for _, srv := range s.servers {
		tag := srv.GetTag()
		if slices.Contains(seen, tag) {
			continue
		}
		seen = append(seen, tag)
		t.byTag[tag] = append(t.byTag[tag], mu)
	}
}

// messages returns the tagged mutations in tag order.
// removeShards tags PrivateRemoveShard mutations for the ranges servers
// stopped owning.
func (t *tagger) removeShards(rs []removedShard) {
	for _, r := range rs {
		t.byTag[r.tag] = append(t.byTag[r.tag], &wire.Mutation{Type: uint32(kv.PrivateRemoveShard), Key: r.begin, Param: r.end})
	}
}

func (t *tagger) messages() []*wire.TaggedMutations {
	tags := make([]uint32, 0, len(t.byTag))
	for tag := range t.byTag {
		tags = append(tags, tag)
	}
	slices.Sort(tags)
	out := make([]*wire.TaggedMutations, len(tags))
	for i, tag := range tags {
		out[i] = &wire.TaggedMutations{Tag: tag, Mutations: t.byTag[tag]}
	}
	return out
}

// locations returns the shards intersecting [begin, end) in key order (or
// reverse), at most limit of them (0 = no limit).
func (m *shardMap) locations(begin, end []byte, limit int, reverse bool) []*wire.ShardLocation {
	if bytes.Compare(begin, end) >= 0 {
		return nil
	}
	var idx []int
	for i := m.index(begin); i < len(m.shards) && bytes.Compare(m.shards[i].begin, end) < 0; i++ {
		idx = append(idx, i)
	}
	if reverse {
		slices.Reverse(idx)
	}
	if limit > 0 && len(idx) > limit {
		idx = idx[:limit]
	}
	out := make([]*wire.ShardLocation, len(idx))
	for k, i := range idx {
		out[k] = &wire.ShardLocation{Begin: m.shards[i].begin, End: m.end(i), Servers: m.shards[i].servers}
	}
	return out
}

// apply updates the map with a committed mutation of \xff/keyServers/, and
// reports whether mu was one. Setting KeyServersPrefix+b starts a shard at
// b; clearing keys of that prefix removes boundaries, so the shard before
// them extends over their ranges. The boundary at "" is never removed.
// Values that do not decode leave the map unchanged (and are reported).
func (m *shardMap) apply(mu *wire.Mutation) (touched bool, err error) {
	switch kv.MutationType(mu.GetType()) {
	case kv.SetValue:
		begin, ok := bytes.CutPrefix(mu.GetKey(), KeyServersPrefix)
		if !ok {
			return false, nil
		}
		var loc wire.ShardLocation
		if err := proto.Unmarshal(mu.GetParam(), &loc); err != nil {
			return true, err
		}
		if len(loc.GetServers()) == 0 || bytes.Compare(begin, kv.AllKeys.End) >= 0 {
			return true, errShardValue
		}
		i := m.index(begin)
		old := m.shards[i].servers
		if bytes.Equal(m.shards[i].begin, begin) {
			m.shards[i].servers = loc.GetServers()
		} else {
			i++
			m.shards = slices.Insert(m.shards, i, mapShard{begin: bytes.Clone(begin), servers: loc.GetServers()})
		}
		m.removed = m.removed[:0]
		for _, srv := range old {
			if !slices.ContainsFunc(loc.GetServers(), func(n *wire.StorageInterface) bool { return n.GetTag() == srv.GetTag() }) {
				m.removed = append(m.removed, removedShard{tag: srv.GetTag(), begin: bytes.Clone(begin), end: bytes.Clone(m.end(i))})
			}
		}
		return true, nil
	case kv.ClearRange:
		prefixEnd := kv.PrefixRange(KeyServersPrefix).End
		from := maxKey(mu.GetKey(), KeyServersPrefix)
		to := minKey(mu.GetParam(), prefixEnd)
		if bytes.Compare(from, to) >= 0 {
			return false, nil
		}
		lo, hi := from[len(KeyServersPrefix):], []byte(nil)
		if bytes.Equal(to, prefixEnd) {
			hi = kv.AllKeys.End
		} else {
			hi = to[len(KeyServersPrefix):]
		}
		m.shards = slices.DeleteFunc(m.shards, func(s mapShard) bool {
			return len(s.begin) > 0 && bytes.Compare(s.begin, lo) >= 0 && bytes.Compare(s.begin, hi) < 0
		})
		return true, nil
	default:
		_, ok := bytes.CutPrefix(mu.GetKey(), KeyServersPrefix)
		if ok {
			return true, errShardValue
		}
		return false, nil
	}
}

func maxKey(a, b []byte) []byte {
	if bytes.Compare(a, b) >= 0 {
		return a
	}
	return b
}

func minKey(a, b []byte) []byte {
	if bytes.Compare(a, b) <= 0 {
		return a
	}
	return b
}
