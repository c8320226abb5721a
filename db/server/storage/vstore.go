package storage

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"sort"

	"github.com/strata-db/strata/db/engine"
	"github.com/strata-db/strata/db/kv"
)

// point is one write of a key at a version: a value, or absent (cleared).
// seq orders it against the range clears of the same window.
type point struct {
	version kv.Version
	seq     uint64
	value   []byte
	present bool
}

// opKind is the kind of an effective write destined for the engine.
type opKind uint8

const (
	opSet opKind = iota
	opDelete
	opDeleteRange
)

// effectiveOp is a write as it will reach the engine: atomic operations
// already resolved to a set or a delete.
type effectiveOp struct {
	kind  opKind
	key   []byte
	value []byte // opSet: the value; opDeleteRange: the range's end
}

// versionOps are the effective writes of one version, in order.
type versionOps struct {
	version kv.Version
	ops     []effectiveOp
}

// vstore is the in-memory MVCC window over the engine. The engine holds the
// state at the durable version; the window holds every write of the later
// versions. A read at version v (v >= the durable version) takes a key's
// latest point write or covering range clear at or below v, whichever came
// last, and falls back to the engine when there is neither.
type vstore struct {
	eng engine.Engine
	// keys are the keys with point writes in the window.
	keys keySet
	hist map[string][]point
	// clears indexes the window's range clears.
	clears *clearMap
	// log holds the window's effective writes in version order, for the
	// durability actor.
	log        []versionOps
	seq        uint64
	queueBytes int64
	// floor is the version the engine holds: the window's writes at or
	// below it are on their way out and reads pass over them.
	floor kv.Version
}

func newVStore(eng engine.Engine) *vstore {
	return &vstore{eng: eng, hist: map[string][]point{}, clears: newClearMap()}
}

// latest is a version above every version in the window, for reads of the
// newest state (atomic operations read it).
const latest = kv.Version(1<<63 - 1)

// apply applies m at version, which must not be below any version applied
// before. Atomic operations read the newest state, including the earlier
// mutations of the same version.
func (s *vstore) apply(version kv.Version, m kv.Mutation) error {
	switch {
	case m.Type == kv.SetValue:
		s.setPoint(version, m.Key, m.Param, true)
	case m.Type == kv.ClearRange && bytes.Equal(m.Param, kv.KeyAfter(m.Key)):
		// Clients clear single keys as [k, k+\x00): a point write is
		// cheaper to read past than a range clear.
		s.setPoint(version, m.Key, nil, false)
	case m.Type == kv.ClearRange:
		s.clearRange(version, kv.KeyRange{Begin: m.Key, End: m.Param})
	case m.Type.IsAtomic():
		cur, found, err := s.get(m.Key, latest)
		if err != nil {
			return fmt.Errorf("reading %s for %s: %w", kv.Printable(m.Key), m.Type, err)
		}
		val, keep := kv.ApplyAtomic(m.Type, cur, found, m.Param)
		s.setPoint(version, m.Key, val, keep)
	default:
		return fmt.Errorf("mutation type %s cannot be applied by a storage server", m.Type)
	}
	return nil
}

func (s *vstore) setPoint(version kv.Version, key, value []byte, present bool) {
	key = bytes.Clone(key)
	if present {
		value = bytes.Clone(value)
	} else {
		value = nil
	}
	s.seq++
	p := point{version: version, seq: s.seq, value: value, present: present}
	k := string(key)
	h, ok := s.hist[k]
	if !ok {
		s.keys.insert(k)
	}
	if n := len(h); n > 0 && h[n-1].version == version {
		h[n-1] = p // a later write of the same version hides the earlier one
	} else {
		h = append(h, p)
	}
	s.hist[k] = h
	op := effectiveOp{kind: opDelete, key: key}
	if present {
		op = effectiveOp{kind: opSet, key: key, value: value}
	}
	s.logOp(version, op)
}

func (s *vstore) clearRange(version kv.Version, r kv.KeyRange) {
	if r.Empty() {
		return
	}
	r = kv.KeyRange{Begin: bytes.Clone(r.Begin), End: bytes.Clone(r.End)}
	s.seq++
	s.clears.add(r, clearMark{version: version, seq: s.seq})
	s.logOp(version, effectiveOp{kind: opDeleteRange, key: r.Begin, value: r.End})
}

func (s *vstore) logOp(version kv.Version, op effectiveOp) {
	if n := len(s.log); n == 0 || s.log[n-1].version != version {
		s.log = append(s.log, versionOps{version: version})
	}
	last := &s.log[len(s.log)-1]
	last.ops = append(last.ops, op)
	s.queueBytes += int64(len(op.key) + len(op.value))
}

// resolve decides key's state at version v from the window alone; decided
// false means the window has no say and the engine's value stands. Writes
// at or below the floor have no say: the engine holds them, and the window
// may have forgotten some of them and not others.
func (s *vstore) resolve(key []byte, v kv.Version) (value []byte, present, decided bool) {
	var p *point
	if h := s.hist[string(key)]; len(h) > 0 {
		i := sort.Search(len(h), func(i int) bool { return h[i].version > v })
		if i > 0 && h[i-1].version > s.floor {
			p = &h[i-1]
		}
	}
	if c, _, ok := s.clears.latest(key, v); ok && c.version > s.floor && (p == nil || c.seq > p.seq) {
		return nil, false, true
	}
	if p != nil {
		return p.value, p.present, true
	}
	return nil, false, false
}

// coveringClear returns a range around key that a range clear at or below
// v covers, for a key with no point writes at or below v.
func (s *vstore) coveringClear(key []byte, v kv.Version) (kv.KeyRange, bool) {
	c, i, ok := s.clears.latest(key, v)
	if !ok || c.version <= s.floor {
		return kv.KeyRange{}, false
	}
	return s.clears.segmentRange(i), true
}

// get returns key's value at version v.
func (s *vstore) get(key []byte, v kv.Version) ([]byte, bool, error) {
	if val, present, decided := s.resolve(key, v); decided {
		return val, present, nil
	}
	val, found, err := s.eng.Get(key)
	if err != nil {
		return nil, false, fmt.Errorf("engine get: %w", err)
	}
	return val, found, nil
}

// getRange returns the pairs of r at version v in key order (or reverse),
// at most limit pairs (<= 0: no limit), stopping once byteLimit bytes of
// keys and values were returned (<= 0: no limit; at least one pair is
// returned if any exists). more reports whether pairs of r were left out.
func (s *vstore) getRange(r kv.KeyRange, v kv.Version, reverse bool, limit, byteLimit int) (out []kv.KeyValue, more bool, err error) {
	if r.Empty() {
		return nil, false, nil
	}
	it := s.newMergeIter(r, v, reverse)
	bytesOut := 0
	for {
		if (limit > 0 && len(out) >= limit) || (byteLimit > 0 && bytesOut >= byteLimit) {
			_, ok, err := it.next()
			return out, ok, err
		}
		kvp, ok, err := it.next()
		if err != nil || !ok {
			return out, false, err
		}
		out = append(out, kvp)
		bytesOut += len(kvp.Key) + len(kvp.Value)
	}
}

// mergeIter walks the visible pairs of a range at a version, merging the
// window's keys with the engine's.
type mergeIter struct {
	s       *vstore
	v       kv.Version
	reverse bool
	mem     keyPos // the next window key
	r       kv.KeyRange
	eng     engineCursor
}

func (s *vstore) newMergeIter(r kv.KeyRange, v kv.Version, reverse bool) *mergeIter {
	it := &mergeIter{s: s, v: v, reverse: reverse, r: r,
		eng: engineCursor{eng: s.eng, rest: r, reverse: reverse, more: true}}
	if reverse {
		it.mem = s.keys.seekLT(string(r.End))
	} else {
		it.mem = s.keys.seekGE(string(r.Begin))
	}
	return it
}

// memKey returns the next window key inside the range.
func (it *mergeIter) memKey() ([]byte, bool) {
	if !it.s.keys.valid(it.mem) {
		return nil, false
	}
	k := []byte(it.s.keys.at(it.mem))
	if !it.r.Contains(k) {
		return nil, false
	}
	return k, true
}

func (it *mergeIter) advanceMem() {
	if it.reverse {
		it.mem = it.s.keys.prev(it.mem)
	} else {
		it.mem = it.s.keys.next(it.mem)
	}
}

// before reports whether a comes before b in the walk's direction.
func (it *mergeIter) before(a, b []byte) bool {
	if it.reverse {
		return bytes.Compare(a, b) > 0
	}
	return bytes.Compare(a, b) < 0
}

// next returns the next visible pair.
func (it *mergeIter) next() (kv.KeyValue, bool, error) {
	for {
		mk, mok := it.memKey()
		ekv, eok, err := it.eng.peek()
		if err != nil {
			return kv.KeyValue{}, false, err
		}
		switch {
		case !mok && !eok:
			return kv.KeyValue{}, false, nil
		case mok && (!eok || !it.before(ekv.Key, mk)):
			// A window key, possibly also in the engine.
			inEngine := eok && bytes.Equal(ekv.Key, mk)
			it.advanceMem()
			if inEngine {
				it.eng.advance()
			}
			val, present, decided := it.s.resolve(mk, it.v)
			if !decided {
				if !inEngine {
					continue
				}
				val, present = ekv.Value, true
			}
			if present {
				return kv.KeyValue{Key: mk, Value: val}, true, nil
			}
		default:
			// An engine key with no point writes in the window: only a
			// range clear can hide it, and then it hides its whole range.
			if c, hidden := it.s.coveringClear(ekv.Key, it.v); hidden {
				it.eng.skipPast(c)
				continue
			}
			it.eng.advance()
			return ekv, true, nil
		}
	}
}

// engineCursor reads an engine range in chunks.
type engineCursor struct {
	eng     engine.Engine
	rest    kv.KeyRange // the part not yet fetched
	reverse bool
	buf     []kv.KeyValue
	i       int
	more    bool
}

// engineChunk is how many pairs the cursor fetches at a time.
const engineChunk = 64

// reservedPrefix starts the keys a storage server keeps for itself in its
// engine; reads never reach them.
var reservedPrefix = []byte("\xff\xff\xff")

func (c *engineCursor) peek() (kv.KeyValue, bool, error) {
	for c.i >= len(c.buf) {
		if !c.more || c.rest.Empty() {
			return kv.KeyValue{}, false, nil
		}
		r := c.rest
		if bytes.Compare(r.End, reservedPrefix) > 0 {
			r.End = reservedPrefix
		}
		if r.Empty() {
			c.more = false
			continue
		}
		kvs, more, err := c.eng.Scan(r, c.reverse, engineChunk, 0)
		if err != nil {
			return kv.KeyValue{}, false, fmt.Errorf("engine scan %s: %w", r, err)
		}
		c.buf, c.i, c.more = kvs, 0, more
		if len(kvs) > 0 {
			last := kvs[len(kvs)-1].Key
			if c.reverse {
				c.rest.End = bytes.Clone(last)
			} else {
				c.rest.Begin = kv.KeyAfter(last)
			}
		}
	}
	return c.buf[c.i], true, nil
}

func (c *engineCursor) advance() { c.i++ }

// skipPast moves the cursor beyond the range cl in its direction.
func (c *engineCursor) skipPast(cl kv.KeyRange) {
	for c.i < len(c.buf) && cl.Contains(c.buf[c.i].Key) {
		c.i++
	}
	if c.i < len(c.buf) {
		return
	}
	if c.reverse {
		if bytes.Compare(cl.Begin, c.rest.End) < 0 {
			c.rest.End = cl.Begin
		}
	} else if bytes.Compare(cl.End, c.rest.Begin) > 0 {
		c.rest.Begin = cl.End
	}
}

// durablePrefix returns the window's versions up to upTo. Nothing changes
// them until dropDurable removes them (applies and rollbacks only touch
// later versions), so they may be read off the loop meanwhile.
func (s *vstore) durablePrefix(upTo kv.Version) []versionOps {
	n := sort.Search(len(s.log), func(i int) bool { return s.log[i].version > upTo })
	return s.log[:n:n]
}

// engineOrder returns the writes of vs in the order the engine is to take
// them, and how many bytes they hold. Between range clears, point writes go
// in key order (a key's own writes keep their order): the engine inserts
// them into a skip list far faster in order, each search starting where the
// last ended, than in commit order, which is random across keys. A range
// clear stays between the writes before and after it, as it must. It reads
// vs alone, so it may run off the loop.
func engineOrder(vs []versionOps) ([]effectiveOp, int64) {
	type pointOp struct {
		effectiveOp
		seq int // position in the log, which orders a key's own writes
	}
	count := 0
	for _, vo := range vs {
		count += len(vo.ops)
	}
	out := make([]effectiveOp, 0, count)
	points := make([]pointOp, 0, count)
	flush := func() {
		slices.SortFunc(points, func(x, y pointOp) int {
			return cmp.Or(bytes.Compare(x.key, y.key), cmp.Compare(x.seq, y.seq))
		})
		for _, p := range points {
			out = append(out, p.effectiveOp)
		}
		points = points[:0]
	}
	var n int64
	for _, vo := range vs {
		for _, op := range vo.ops {
			n += int64(len(op.key) + len(op.value))
			if op.kind != opDeleteRange {
				points = append(points, pointOp{op, len(points)})
				continue
			}
			flush()
			out = append(out, op)
		}
	}
	flush()
	return out, n
}

// writeOps writes ops into b, in order.
func writeOps(b engine.Batch, ops []effectiveOp) {
	for _, op := range ops {
		switch op.kind {
		case opSet:
			b.Set(op.key, op.value)
		case opDelete:
			b.Delete(op.key)
		default:
			b.DeleteRange(kv.KeyRange{Begin: op.key, End: op.value})
		}
	}
}

// madeDurable records that the engine holds every write up to upTo: reads
// pass over the window's writes at or below it from now on, so the window
// may forget them a few at a time.
func (s *vstore) madeDurable(upTo kv.Version) { s.floor = max(s.floor, upTo) }

// forgetOp drops what op left in the window, at versions up to upTo.
func (s *vstore) forgetOp(op effectiveOp, upTo kv.Version) {
	s.queueBytes -= int64(len(op.key) + len(op.value))
	if op.kind != opDeleteRange {
		s.forgetKey(op.key, upTo)
	}
}

// dropDurable ends a forget: it drops the first n versions of the log (the
// durablePrefix up to upTo, their ops forgotten) and the range clears up to
// upTo.
func (s *vstore) dropDurable(n int, upTo kv.Version) {
	s.log = slices.Delete(s.log, 0, n)
	s.clears.forget(upTo)
}

// forgetKey drops key's point writes at versions up to upTo. A key written
// more than once comes here more than once; the later calls find nothing
// left to drop.
func (s *vstore) forgetKey(key []byte, upTo kv.Version) {
	h, ok := s.hist[string(key)]
	if !ok {
		return
	}
	i := sort.Search(len(h), func(i int) bool { return h[i].version > upTo })
	switch {
	case i == len(h):
		delete(s.hist, string(key))
		s.keys.remove(string(key))
	case i > 0:
		s.hist[string(key)] = slices.Delete(h, 0, i)
	}
}

// rollback drops the window's writes at versions above rv, as if they had
// never been applied.
func (s *vstore) rollback(rv kv.Version) {
	n := sort.Search(len(s.log), func(i int) bool { return s.log[i].version > rv })
	touched := map[string]bool{}
	for _, vo := range s.log[n:] {
		for _, op := range vo.ops {
			s.queueBytes -= int64(len(op.key) + len(op.value))
			if op.kind != opDeleteRange {
				touched[string(op.key)] = true
			}
		}
	}
	clear(s.log[n:])
	s.log = s.log[:n]
	s.clears.rollback(rv)
	for k := range touched {
		h := s.hist[k]
		i := sort.Search(len(h), func(i int) bool { return h[i].version > rv })
		if i == 0 {
			delete(s.hist, k)
			s.keys.remove(k)
			continue
		}
		s.hist[k] = h[:i]
	}
}

// selectorInShard reports whether shard may resolve sel: the shard must
// hold the key the selector starts from, which for a backward selector
// (last key < Key, or before) is the key before sel.Key.
func selectorInShard(sel kv.KeySelector, shard kv.KeyRange) bool {
	if !sel.OrEqual && sel.Offset <= 0 {
		afterBegin := bytes.Compare(sel.Key, shard.Begin) > 0 || len(shard.Begin) == 0
		return afterBegin && bytes.Compare(sel.Key, shard.End) <= 0
	}
	return shard.Contains(sel.Key)
}

// findKey resolves sel at version v within shard (which selectorInShard
// accepted). It returns the selected key and 0, or, when the selection
// runs off the shard, the shard's edge and the offset still to go: > 0
// forward past shard.End, < 0 backward before shard.Begin.
func (s *vstore) findKey(sel kv.KeySelector, v kv.Version, shard kv.KeyRange) ([]byte, int, error) {
	forward := sel.Offset > 0
	skipEqual := sel.OrEqual == forward
	distance := sel.Offset
	if !forward {
		distance = 1 - sel.Offset
	}
	r := shard
	if forward {
		if bytes.Compare(sel.Key, r.Begin) > 0 {
			r.Begin = sel.Key
		}
	} else if after := kv.KeyAfter(sel.Key); bytes.Compare(after, r.End) < 0 {
		r.End = after
	}
	limit := distance
	if skipEqual {
		limit++
	}
	kvs, _, err := s.getRange(r, v, !forward, limit, 0)
	if err != nil {
		return nil, 0, err
	}
	index := distance - 1
	if skipEqual && len(kvs) > 0 && bytes.Equal(kvs[0].Key, sel.Key) {
		index++
	}
	if index < len(kvs) {
		return kvs[index].Key, 0, nil
	}
	rest := index - len(kvs) + 1
	if forward {
		return shard.End, rest, nil
	}
	return shard.Begin, -rest, nil
}

// partialSelector turns findKey's result into the selector a reply carries:
// resolved (key, true, 0), or one the client continues on the next shard.
func partialSelector(key []byte, offset int) kv.KeySelector {
	switch {
	case offset < 0:
		return kv.KeySelector{Key: key, OrEqual: false, Offset: 1 + offset}
	case offset > 0:
		return kv.KeySelector{Key: key, OrEqual: false, Offset: offset}
	}
	return kv.KeySelector{Key: key, OrEqual: true, Offset: 0}
}
