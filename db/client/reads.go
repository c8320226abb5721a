package client

import (
	"bytes"
	"fmt"
	"math"
	"slices"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/wire"
)

// Get returns key's value as the transaction sees it: its own writes over
// the database at its read version. It returns nil for a missing key and a
// non-nil slice for a present one (possibly empty).
func (tr *Transaction) Get(c *flow.Ctx, key []byte) ([]byte, error) { return tr.get(c, key, false) }

// GetKey resolves a key selector in the transaction's view.
func (tr *Transaction) GetKey(c *flow.Ctx, sel kv.KeySelector) ([]byte, error) {
	return tr.getKey(c, sel, false)
}

// GetRange returns the rows of [begin, end) in the transaction's view.
func (tr *Transaction) GetRange(c *flow.Ctx, begin, end []byte, o RangeOptions) ([]kv.KeyValue, error) {
	return tr.getRange(c, begin, end, o, false)
}

// GetRangeSelectors returns the rows from the key begin selects
// (inclusive) to the key end selects (exclusive).
func (tr *Transaction) GetRangeSelectors(c *flow.Ctx, begin, end kv.KeySelector, o RangeOptions) ([]kv.KeyValue, error) {
	return tr.getRangeSelectors(c, begin, end, o, false)
}

// Snapshot is a view of a transaction whose reads add no read conflict
// ranges. They see the transaction's writes unless SnapshotRYWDisable.
type Snapshot struct{ tr *Transaction }

// Get is Transaction.Get without a read conflict.
func (s Snapshot) Get(c *flow.Ctx, key []byte) ([]byte, error) { return s.tr.get(c, key, true) }

// GetKey is Transaction.GetKey without a read conflict.
func (s Snapshot) GetKey(c *flow.Ctx, sel kv.KeySelector) ([]byte, error) {
	return s.tr.getKey(c, sel, true)
}

// GetRange is Transaction.GetRange without a read conflict.
func (s Snapshot) GetRange(c *flow.Ctx, begin, end []byte, o RangeOptions) ([]kv.KeyValue, error) {
	return s.tr.getRange(c, begin, end, o, true)
}

// GetRangeSelectors is Transaction.GetRangeSelectors without a read
// conflict.
func (s Snapshot) GetRangeSelectors(c *flow.Ctx, begin, end kv.KeySelector, o RangeOptions) ([]kv.KeyValue, error) {
	return s.tr.getRangeSelectors(c, begin, end, o, true)
}

// ryw reports whether a read sees the transaction's own writes.
func (tr *Transaction) ryw(snapshot bool) bool {
	return !tr.opts.ReadYourWritesDisable && !(snapshot && tr.opts.SnapshotRYWDisable)
}

func (tr *Transaction) beginRead() error {
	if err := tr.usable(); err != nil {
		return err
	}
	tr.touched = true
	return nil
}

func (tr *Transaction) get(c *flow.Ctx, key []byte, snapshot bool) ([]byte, error) {
	if err := tr.beginRead(); err != nil {
		return nil, err
	}
	if isSpecialKey(key) {
		return tr.getSpecial(c, key)
	}
	if bytes.Compare(key, tr.maxReadKey()) >= 0 {
		return nil, fmt.Errorf("read of %s: %w", kv.Printable(key), kv.ErrKeyOutsideLegalRange)
	}
	if len(key) > keyLimit(key) {
		return nil, nil // no such key can exist
	}
	var w *pointWrite
	if tr.ryw(snapshot) {
		if tr.writes.unreadableIn(kv.SingleKeyRange(key)) {
			return nil, fmt.Errorf("read of %s: %w", kv.Printable(key), kv.ErrAccessedUnreadable)
		}
		var cleared bool
		w, cleared = tr.writes.lookup(key)
		if cleared {
			return nil, nil
		}
		if w != nil && w.known {
			return present(w.value, w.exists), nil
		}
	}
	rv, err := tr.GetReadVersion(c)
	if err != nil {
		return nil, err
	}
	type value struct {
		v  []byte
		ok bool
	}
	var got value
	v, ok, done, err := tr.getCachedValue(c, key, rv)
	if done {
		got = value{v, ok}
	} else {
		got, err = do(c, tr, "GetValue", func(c *flow.Ctx) (value, error) {
			v, ok, err := tr.db.getValue(c, key, rv)
			return value{v, ok}, err
		})
	}
	if err != nil {
		return nil, err
	}
	if !snapshot {
		tr.readRanges = append(tr.readRanges, kv.SingleKeyRange(bytes.Clone(key)))
	}
	if w != nil {
		got.v, got.ok = w.over(got.v, got.ok)
	}
	return present(got.v, got.ok), nil
}

// getCachedValue is a point read's common case done without an actor of
// its own (which costs a spawn and a hand-off per read): when the key's
// shard location is cached the read is one request to one of its servers,
// awaited together with the transaction's abort. It reports done = false,
// leaving the read to getValue's general path (locating, retrying), when
// the location is not cached, or is stale or its server unreachable (then
// it is dropped from the cache first, as getValue would).
func (tr *Transaction) getCachedValue(c *flow.Ctx, key []byte, rv kv.Version) (v []byte, ok, done bool, err error) {
	d, isDB := tr.db.(*Database)
	if !isDB {
		return nil, false, false, nil
	}
	s, cached := d.locations.find(key, false)
	if !cached {
		return nil, false, false, nil
	}
	si := s.servers[d.env.Rand().IntN(len(s.servers))]
	req := &wire.GetValueRequest{Key: key, Version: int64(rv)}
	f := storageStream(si.Address, si.GetValue, flow.ProtoCodec[*wire.GetValueRequest](), flow.ProtoCodec[*wire.GetValueReply]()).GetReply(d.env, req)
	abort := tr.abort.Future()
	i, err := flow.Select(c, f, abort)
	if err != nil {
		return nil, false, true, err
	}
	if i == 1 {
		return nil, false, true, abort.Err()
	}
	rep, err := f.Get()
	if err != nil && isLocationError(err) {
		d.env.Metrics().Counter("ClientLocationRetries").Inc()
		d.locations.invalidate(s.r)
		return nil, false, false, nil
	}
	if err != nil {
		return nil, false, true, err
	}
	return rep.Value, rep.Present, true, nil
}

// present returns v as Get reports it: nil when missing, non-nil otherwise.
func present(v []byte, ok bool) []byte {
	if !ok {
		return nil
	}
	if v == nil {
		return []byte{}
	}
	return v
}

func (tr *Transaction) getKey(c *flow.Ctx, sel kv.KeySelector, snapshot bool) ([]byte, error) {
	if err := tr.beginRead(); err != nil {
		return nil, err
	}
	if sel.Offset > math.MaxInt32 || sel.Offset < -math.MaxInt32 {
		return nil, fmt.Errorf("key selector offset %d outside 32 bits: %w", sel.Offset, kv.ErrInvalidOptionValue)
	}
	max := tr.maxReadKey()
	if bytes.Compare(sel.Key, max) > 0 {
		sel.Key = max
	}
	if !tr.ryw(snapshot) || tr.writes.empty() {
		return tr.getKeyFromDatabase(c, sel, snapshot)
	}
	// Resolve over the merged view by scanning it: the offset-th key at or
	// after the selector's base going forward, or before it going back.
	base := sel.Key
	if sel.OrEqual {
		base = kv.KeyAfter(sel.Key)
	}
	if sel.Offset >= 1 {
		if bytes.Compare(base, max) >= 0 {
			return bytes.Clone(max), nil
		}
		rows, err := tr.readRange(c, kv.KeyRange{Begin: base, End: max}, RangeOptions{Limit: sel.Offset, Mode: ModeExact}, snapshot)
		if err != nil {
			return nil, err
		}
		if len(rows) < sel.Offset {
			return bytes.Clone(max), nil
		}
		return rows[sel.Offset-1].Key, nil
	}
	if bytes.Compare(base, max) > 0 {
		base = max
	}
	rows, err := tr.readRange(c, kv.KeyRange{Begin: nil, End: base}, RangeOptions{Limit: 1 - sel.Offset, Reverse: true, Mode: ModeExact}, snapshot)
	if err != nil {
		return nil, err
	}
	if len(rows) < 1-sel.Offset {
		return []byte{}, nil
	}
	return rows[-sel.Offset].Key, nil
}

// getKeyFromDatabase resolves sel on the storage servers and adds the
// read conflict range between the selector's key and the resolved key.
func (tr *Transaction) getKeyFromDatabase(c *flow.Ctx, sel kv.KeySelector, snapshot bool) ([]byte, error) {
	rv, err := tr.GetReadVersion(c)
	if err != nil {
		return nil, err
	}
	key, err := do(c, tr, "GetKey", func(c *flow.Ctx) ([]byte, error) { return tr.db.getKey(c, sel, rv) })
	if err != nil {
		return nil, err
	}
	if max := tr.maxReadKey(); bytes.Compare(key, max) > 0 {
		key = bytes.Clone(max)
	}
	if !snapshot {
		ref := sel.Key
		if sel.OrEqual {
			ref = kv.KeyAfter(sel.Key)
		}
		r := kv.KeyRange{Begin: bytes.Clone(ref), End: kv.KeyAfter(key)}
		if bytes.Compare(key, ref) < 0 {
			r = kv.KeyRange{Begin: bytes.Clone(key), End: bytes.Clone(ref)}
		}
		if !r.Empty() {
			tr.readRanges = append(tr.readRanges, r)
		}
	}
	return key, nil
}

func (tr *Transaction) getRangeSelectors(c *flow.Ctx, begin, end kv.KeySelector, o RangeOptions, snapshot bool) ([]kv.KeyValue, error) {
	if err := checkRangeOptions(o); err != nil {
		return nil, err
	}
	b, err := tr.getKey(c, begin, snapshot)
	if err != nil {
		return nil, err
	}
	e, err := tr.getKey(c, end, snapshot)
	if err != nil {
		return nil, err
	}
	if bytes.Compare(b, e) >= 0 {
		return nil, nil
	}
	return tr.readRange(c, kv.KeyRange{Begin: b, End: e}, o, snapshot)
}

func (tr *Transaction) getRange(c *flow.Ctx, begin, end []byte, o RangeOptions, snapshot bool) ([]kv.KeyValue, error) {
	if err := tr.beginRead(); err != nil {
		return nil, err
	}
	if err := checkRangeOptions(o); err != nil {
		return nil, err
	}
	switch cmp := bytes.Compare(begin, end); {
	case cmp > 0:
		return nil, fmt.Errorf("range [%s, %s): %w", kv.Printable(begin), kv.Printable(end), kv.ErrInvertedRange)
	case cmp == 0:
		return nil, nil
	}
	if bytes.Compare(end, tr.maxReadKey()) > 0 {
		return nil, fmt.Errorf("range end %s: %w", kv.Printable(end), kv.ErrKeyOutsideLegalRange)
	}
	return tr.readRange(c, kv.KeyRange{Begin: bytes.Clone(begin), End: bytes.Clone(end)}, o, snapshot)
}

func checkRangeOptions(o RangeOptions) error {
	if o.Limit < 0 {
		return fmt.Errorf("range limit %d: %w", o.Limit, kv.ErrInvalidOptionValue)
	}
	if o.Mode < ModeIterator || o.Mode > ModeSerial {
		return fmt.Errorf("streaming mode %d: %w", o.Mode, kv.ErrInvalidOptionValue)
	}
	if o.Mode == ModeExact && o.Limit == 0 {
		return kv.ErrExactModeWithoutLimits
	}
	return nil
}

// readRange reads r in the transaction's view: storage rows batch by
// batch, merged with the buffered writes, until the limit counted after
// merging is reached or r is exhausted. A non-snapshot read adds the part
// of r it actually read as a read conflict range.
func (tr *Transaction) readRange(c *flow.Ctx, r kv.KeyRange, o RangeOptions, snapshot bool) ([]kv.KeyValue, error) {
	rv, err := tr.GetReadVersion(c)
	if err != nil {
		return nil, err
	}
	ryw := tr.ryw(snapshot)
	var out []kv.KeyValue
	rest := r
	for iteration := 0; !rest.Empty(); iteration++ {
		want := 0
		if o.Limit > 0 {
			want = o.Limit - len(out)
		}
		type batch struct {
			rows   []kv.KeyValue
			readTo []byte
		}
		bytesTarget := o.Mode.batchBytes(iteration)
		b, err := do(c, tr, "GetKeyValues", func(c *flow.Ctx) (batch, error) {
			rows, readTo, err := tr.db.getRange(c, rest, rv, want, bytesTarget, o.Reverse)
			return batch{rows, readTo}, err
		})
		if err != nil {
			return nil, err
		}
		window := kv.KeyRange{Begin: rest.Begin, End: b.readTo}
		if o.Reverse {
			window = kv.KeyRange{Begin: b.readTo, End: rest.End}
		}
		rows := b.rows
		if ryw {
			if tr.writes.unreadableIn(window) {
				return nil, fmt.Errorf("range read of %s: %w", window, kv.ErrAccessedUnreadable)
			}
			rows = tr.merge(rows, window, o.Reverse)
		}
		if want > 0 && len(rows) >= want {
			rows = rows[:want]
			last := rows[len(rows)-1].Key
			if o.Reverse {
				window.Begin = last
			} else {
				window.End = kv.KeyAfter(last)
			}
			rest = kv.KeyRange{}
		} else if o.Reverse {
			rest.End = window.Begin
		} else {
			rest.Begin = window.End
		}
		out = append(out, rows...)
		if !snapshot && !window.Empty() {
			tr.readRanges = append(tr.readRanges, cloneRange(window))
		}
	}
	return out, nil
}

// merge lays the buffered writes within window over the storage rows read
// from it (in key order, or reverse).
func (tr *Transaction) merge(rows []kv.KeyValue, window kv.KeyRange, reverse bool) []kv.KeyValue {
	if reverse {
		rows = slices.Clone(rows)
		slices.Reverse(rows)
	}
	points := tr.writes.pointsIn(window)
	out := make([]kv.KeyValue, 0, len(rows)+len(points))
	emit := func(k, v []byte, ok bool) {
		if ok {
			out = append(out, kv.KeyValue{Key: k, Value: present(v, true)})
		}
	}
	i, j := 0, 0
	for i < len(rows) || j < len(points) {
		var cmp int
		switch {
		case j == len(points):
			cmp = -1
		case i == len(rows):
			cmp = 1
		default:
			cmp = bytes.Compare(rows[i].Key, points[j].key)
		}
		switch {
		case cmp < 0:
			if !tr.writes.cleared(rows[i].Key) {
				emit(rows[i].Key, rows[i].Value, true)
			}
			i++
		case cmp > 0:
			v, ok := points[j].over(nil, false)
			emit(points[j].key, v, ok)
			j++
		default:
			v, ok := points[j].over(rows[i].Value, true)
			emit(points[j].key, v, ok)
			i, j = i+1, j+1
		}
	}
	if reverse {
		slices.Reverse(out)
	}
	return out
}
