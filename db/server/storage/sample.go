package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/fnv"

	"github.com/strata-db/strata/db/engine"
	"github.com/strata-db/strata/db/kv"
)

// sampleOverhead is the per-pair cost the sample assumes on top of the key
// and value (FoundationDB's BYTE_SAMPLING_OVERHEAD).
const sampleOverhead = 100

// byteSample estimates the bytes of the durable state by key range, as
// FoundationDB's storage servers do: a pair is in the sample with a
// probability proportional to its size, decided by a hash of its key (so
// the same pair is always in or out), and weighs its size divided by that
// probability. The sum of the weights in a range estimates the range's
// bytes; a walk over them finds a split point. The sample follows what
// reaches the engine and lives there too (samplePrefix), so a restarted
// server has it at once.
type byteSample struct {
	// factor divides the probability: the sample holds about one pair in
	// factor of unit size (Knobs.ByteSampleFactor).
	factor float64
	keys   keySet
	weight map[string]int64
	total  int64
}

func newByteSample(factor float64) *byteSample {
	return &byteSample{factor: factor, weight: map[string]int64{}}
}

// weightOf returns the weight a pair of key and size bytes has in the
// sample, 0 when it is not in it.
func (bs *byteSample) weightOf(key []byte, size int) int64 {
	p := float64(size) / float64(len(key)+sampleOverhead) / bs.factor
	if p >= 1 {
		return int64(size)
	}
	h := fnv.New64a()
	h.Write(key)
	if float64(h.Sum64()>>11)/(1<<53) >= p {
		return 0
	}
	return int64(float64(size) / p)
}

func (bs *byteSample) put(key string, w int64) {
	if old, ok := bs.weight[key]; ok {
		bs.total -= old
	} else {
		bs.keys.insert(key)
	}
	bs.weight[key] = w
	bs.total += w
}

func (bs *byteSample) drop(key string) bool {
	old, ok := bs.weight[key]
	if !ok {
		return false
	}
	delete(bs.weight, key)
	bs.keys.remove(key)
	bs.total -= old
	return true
}

// keysIn returns the sampled keys in r, in order.
func (bs *byteSample) keysIn(r kv.KeyRange) []string {
	var out []string
	for p := bs.keys.seekGE(string(r.Begin)); bs.keys.valid(p); p = bs.keys.next(p) {
		k := bs.keys.at(p)
		if k >= string(r.End) {
			break
		}
		out = append(out, k)
	}
	return out
}

// bytesIn estimates the bytes in r.
func (bs *byteSample) bytesIn(r kv.KeyRange) int64 {
	var n int64
	for _, k := range bs.keysIn(r) {
		n += bs.weight[k]
	}
	return n
}

// splitKey returns a sampled key strictly inside r after which about half
// of r's bytes lie, or nil when r has no such key.
func (bs *byteSample) splitKey(r kv.KeyRange) []byte {
	keys := bs.keysIn(r)
	var total int64
	for _, k := range keys {
		total += bs.weight[k]
	}
	var sum int64
	for _, k := range keys {
		if sum >= total/2 && k != string(r.Begin) {
			return []byte(k)
		}
		sum += bs.weight[k]
	}
	return nil
}

func sampleKey(key []byte) []byte { return append(bytes.Clone(samplePrefix), key...) }

// record keeps the sample in step with op, a write about to reach the
// engine through b, and writes the sample's change into b as well. w is
// the weight of a set's pair (weightOf).
func (bs *byteSample) record(b engine.Batch, op effectiveOp, w int64) {
	switch op.kind {
	case opSet:
		if w > 0 {
			bs.put(string(op.key), w)
			b.Set(sampleKey(op.key), binary.BigEndian.AppendUint64(nil, uint64(w)))
		} else if bs.drop(string(op.key)) {
			b.Delete(sampleKey(op.key))
		}
	case opDelete:
		if bs.drop(string(op.key)) {
			b.Delete(sampleKey(op.key))
		}
	default:
		r := kv.KeyRange{Begin: op.key, End: op.value}
		keys := bs.keysIn(r)
		for _, k := range keys {
			bs.drop(k)
		}
		if len(keys) > 0 {
			b.DeleteRange(kv.KeyRange{Begin: sampleKey(r.Begin), End: sampleKey(r.End)})
		}
	}
}

// weights returns the sample weight of each of ops (0 for all but sets).
// It reads only the factor, so it may run off the loop.
func (bs *byteSample) weights(ops []effectiveOp) []int64 {
	w := make([]int64, len(ops))
	for i, op := range ops {
		if op.kind == opSet {
			w[i] = bs.weightOf(op.key, len(op.key)+len(op.value))
		}
	}
	return w
}

// loadSample reads the sample the engine holds.
func loadSample(eng engine.Engine, factor float64) (*byteSample, error) {
	bs := newByteSample(factor)
	recs, _, err := eng.Scan(kv.PrefixRange(samplePrefix), false, 0, 0)
	if err != nil {
		return nil, fmt.Errorf("reading the byte sample: %w", err)
	}
	for _, rec := range recs {
		if len(rec.Value) != 8 {
			return nil, fmt.Errorf("byte sample record %s has %d bytes", kv.Printable(rec.Key), len(rec.Value))
		}
		bs.put(string(rec.Key[len(samplePrefix):]), int64(binary.BigEndian.Uint64(rec.Value)))
	}
	return bs, nil
}

// rebuildSample samples every pair the engine holds below reservedPrefix,
// for an engine written before the sample was kept. It returns the sample;
// the caller records it in the engine.
func rebuildSample(eng engine.Engine, factor float64) (*byteSample, error) {
	bs := newByteSample(factor)
	cur := engineCursor{eng: eng, rest: kv.KeyRange{Begin: []byte{}, End: reservedPrefix}, more: true}
	for {
		p, ok, err := cur.peek()
		if err != nil {
			return nil, fmt.Errorf("sampling the engine: %w", err)
		}
		if !ok {
			return bs, nil
		}
		if w := bs.weightOf(p.Key, len(p.Key)+len(p.Value)); w > 0 {
			bs.put(string(p.Key), w)
		}
		cur.advance()
	}
}

// writeAll records the whole sample in b, replacing what the engine had.
func (bs *byteSample) writeAll(b engine.Batch) {
	b.DeleteRange(kv.PrefixRange(samplePrefix))
	for p := bs.keys.seekGE(""); bs.keys.valid(p); p = bs.keys.next(p) {
		k := bs.keys.at(p)
		b.Set(sampleKey([]byte(k)), binary.BigEndian.AppendUint64(nil, uint64(bs.weight[k])))
	}
}
