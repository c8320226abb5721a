package directory_test

import (
	"bytes"
	"encoding/binary"
	"maps"
	"math/rand/v2"
	"slices"

	"github.com/strata-db/strata/db/directory"
	"github.com/strata-db/strata/db/kv"
)

// memDB is an in-memory, single-threaded key-value store whose
// transactions see a private copy of the data and publish it whole when
// their function succeeds: enough to run the directory layer without a
// server. Its random choices come from pick, or a seeded source.
type memDB struct {
	data map[string][]byte
	rng  *rand.Rand
	pick func(n int64) int64
}

func newMemDB() *memDB {
	return &memDB{data: map[string][]byte{}, rng: rand.New(rand.NewPCG(1, 2))}
}

// transact runs fn on a copy of the data, keeping the copy if fn succeeds.
func (m *memDB) transact(fn func(tr directory.Tx) error) error {
	tx := &memTx{db: m, data: maps.Clone(m.data)}
	if err := fn(tx); err != nil {
		return err
	}
	m.data = tx.data
	return nil
}

// rows returns every key-value pair in key order.
func (m *memDB) rows() []kv.KeyValue {
	return (&memTx{data: m.data}).GetRangeAll()
}

type memTx struct {
	db   *memDB
	data map[string][]byte
}

func (t *memTx) Get(key []byte) ([]byte, error) {
	v, ok := t.data[string(key)]
	if !ok {
		return nil, nil
	}
	return append([]byte{}, v...), nil
}

func (t *memTx) GetRangeAll() []kv.KeyValue {
	rows, _ := t.GetRange(nil, []byte{0xff, 0xff}, 0, false)
	return rows
}

func (t *memTx) GetRange(begin, end []byte, limit int, reverse bool) ([]kv.KeyValue, error) {
	keys := slices.Sorted(maps.Keys(t.data))
	if reverse {
		slices.Reverse(keys)
	}
	var out []kv.KeyValue
	for _, k := range keys {
		if k < string(begin) || k >= string(end) {
			continue
		}
		out = append(out, kv.KeyValue{Key: []byte(k), Value: bytes.Clone(t.data[k])})
		if limit > 0 && len(out) == limit {
			break
		}
	}
	return out, nil
}

func (t *memTx) Snapshot() directory.ReadTx { return t }
func (t *memTx) Set(key, value []byte)      { t.data[string(key)] = append([]byte{}, value...) }
func (t *memTx) Clear(key []byte)           { delete(t.data, string(key)) }
func (t *memTx) ClearRange(begin, end []byte) {
	for k := range t.data {
		if k >= string(begin) && k < string(end) {
			delete(t.data, k)
		}
	}
}

// Add adds little-endian integers of the stored value's length, as FDB's
// ADD does for the 8-byte counters the allocator keeps.
func (t *memTx) Add(key, param []byte) {
	old := t.data[string(key)]
	var a, b [8]byte
	copy(a[:], old)
	copy(b[:], param)
	sum := binary.LittleEndian.Uint64(a[:]) + binary.LittleEndian.Uint64(b[:])
	t.data[string(key)] = binary.LittleEndian.AppendUint64(nil, sum)[:len(param)]
}
func (t *memTx) AddWriteConflictKey([]byte) error  { return nil }
func (t *memTx) SetNextWriteNoWriteConflictRange() {}

func (t *memTx) Int64N(n int64) int64 {
	if t.db.pick != nil {
		return t.db.pick(n)
	}
	return t.db.rng.Int64N(n)
}
