package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/strata-db/strata/db/engine"
	"github.com/strata-db/strata/db/kv"
)

// The server keeps its own records in its engine under reservedPrefix,
// after every key a client can write: the durable version, its identity
// (ID and tag), its shards and its byte sample.
var (
	metaPrefix = []byte("\xff\xff\xff/storage/")
	// durableVersionKey holds the version the engine's state is at (8 bytes
	// big-endian).
	durableVersionKey = []byte("\xff\xff\xff/storage/durableVersion")
	idKey             = []byte("\xff\xff\xff/storage/id")
	tagKey            = []byte("\xff\xff\xff/storage/tag")
	// shardPrefix+begin holds a shard's record (encodeShard).
	shardPrefix = []byte("\xff\xff\xff/storage/shard/")
	// samplePrefix+key holds a sampled key's weight (8 bytes big-endian).
	samplePrefix = []byte("\xff\xff\xff/storage/sample/")
)

// ErrNoIdentity is returned by Reopen for an engine no storage server has
// recorded its identity in.
var ErrNoIdentity = errors.New("storage: the engine holds no storage server identity")

func encodeVersion(v kv.Version) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }

func decodeVersion(b []byte) (kv.Version, error) {
	if len(b) != 8 {
		return 0, fmt.Errorf("durable version record has %d bytes, want 8", len(b))
	}
	return kv.Version(binary.BigEndian.Uint64(b)), nil
}

func readDurableVersion(eng engine.Engine) (kv.Version, error) {
	b, found, err := eng.Get(durableVersionKey)
	if err != nil {
		return 0, fmt.Errorf("reading the durable version: %w", err)
	}
	if !found {
		return 0, nil
	}
	return decodeVersion(b)
}

// shardRecordFormat versions the shard records.
const shardRecordFormat = 1

// encodeShard is a shard's record: format, state, end key.
func encodeShard(state ShardState, end []byte) []byte {
	return append([]byte{shardRecordFormat, byte(state)}, end...)
}

// identity is what a server records about itself.
type identity struct {
	id     string
	tag    uint32
	shards []persistedShard
}

type persistedShard struct {
	r     kv.KeyRange
	state ShardState
}

// readIdentity reads the server's records; found is false when the engine
// holds no identity (a new engine, or one written before identities were
// recorded).
func readIdentity(eng engine.Engine) (id identity, found bool, err error) {
	idb, found, err := eng.Get(idKey)
	if err != nil || !found {
		return identity{}, false, err
	}
	tagb, ok, err := eng.Get(tagKey)
	if err != nil {
		return identity{}, false, err
	}
	if !ok || len(tagb) != 4 {
		return identity{}, false, fmt.Errorf("tag record missing or %d bytes", len(tagb))
	}
	id = identity{id: string(idb), tag: binary.BigEndian.Uint32(tagb)}
	recs, _, err := eng.Scan(kv.PrefixRange(shardPrefix), false, 0, 0)
	if err != nil {
		return identity{}, false, fmt.Errorf("reading the shard records: %w", err)
	}
	for _, rec := range recs {
		v := rec.Value
		if len(v) < 2 || v[0] != shardRecordFormat {
			return identity{}, false, fmt.Errorf("shard record %s is malformed", kv.Printable(rec.Key))
		}
		st := ShardState(v[1])
		if st != ShardFetching && st != ShardReadable {
			return identity{}, false, fmt.Errorf("shard record %s has state %d", kv.Printable(rec.Key), v[1])
		}
		r := kv.KeyRange{Begin: bytes.Clone(rec.Key[len(shardPrefix):]), End: bytes.Clone(v[2:])}
		if r.Empty() {
			return identity{}, false, fmt.Errorf("shard record %s is empty", r)
		}
		id.shards = append(id.shards, persistedShard{r: r, state: st})
	}
	return id, true, nil
}

// writeIdentity records the server's identity and its shards as of
// version v into b: a shard that became readable after v is recorded as
// fetching, since the engine does not hold all its data at v yet.
func (s *Server) writeIdentity(b engine.Batch, v kv.Version) {
	b.Set(idKey, []byte(s.id))
	b.Set(tagKey, binary.BigEndian.AppendUint32(nil, s.tag))
	b.DeleteRange(kv.PrefixRange(shardPrefix))
	for _, sh := range s.shards.list {
		st := sh.state
		if st == ShardReadable && sh.readableAt > v {
			st = ShardFetching
		}
		b.Set(append(bytes.Clone(shardPrefix), sh.r.Begin...), encodeShard(st, sh.r.End))
	}
}
