package workloads

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
)

// ApiCorrectness runs random transactions of gets, get-keys, get-ranges,
// sets, clears, clear-ranges and atomic ops against the database and an
// in-memory model of it (FoundationDB's ApiCorrectness), with
// read-your-writes on and off, and compares every read. One actor runs it,
// so the model is exact: nothing else writes under its prefix.
type ApiCorrectness struct {
	Prefix []byte
	// Transactions is how many transactions to run.
	Transactions int

	model map[string][]byte
	// Reads and Committed count what was checked.
	Reads, Committed, Unknown int
}

// NewApiCorrectness returns the workload for keys under prefix.
func NewApiCorrectness(prefix string, transactions int) *ApiCorrectness {
	return &ApiCorrectness{Prefix: []byte(prefix), Transactions: transactions, model: map[string][]byte{}}
}

var apiAtomicOps = []kv.MutationType{kv.AddValue, kv.BitAnd, kv.BitOr, kv.BitXor, kv.AppendIfFits,
	kv.Max, kv.Min, kv.ByteMin, kv.ByteMax, kv.CompareAndClear}

func (w *ApiCorrectness) randomKey(c *flow.Ctx) []byte {
	const alphabet = "abcd"
	n := 1 + c.Rand().IntN(3)
	k := append([]byte(nil), w.Prefix...)
	for range n {
		k = append(k, alphabet[c.Rand().IntN(len(alphabet))])
	}
	return k
}

func (w *ApiCorrectness) randomValue(c *flow.Ctx) []byte {
	v := make([]byte, c.Rand().IntN(9))
	for i := range v {
		v[i] = byte(c.Rand().IntN(4))
	}
	return v
}

// view is a transaction's picture of the database: the model plus (with
// read-your-writes) its own writes so far.
type view map[string][]byte

func (v view) clone() view {
	out := make(view, len(v))
	for k, x := range v {
		out[k] = x
	}
	return out
}

func (v view) rangeOf(begin, end []byte, limit int, reverse bool) []kv.KeyValue {
	var out []kv.KeyValue
	for k, x := range v {
		if k >= string(begin) && k < string(end) {
			out = append(out, kv.KeyValue{Key: []byte(k), Value: x})
		}
	}
	slices.SortFunc(out, func(a, b kv.KeyValue) int { return bytes.Compare(a.Key, b.Key) })
	if reverse {
		slices.Reverse(out)
	}
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

// Run runs the transactions and checks every read.
func (w *ApiCorrectness) Run(c *flow.Ctx, db DB) error {
	for i := 0; i < w.Transactions; i++ {
		if err := w.transaction(c, db); err != nil {
			return fmt.Errorf("api correctness, transaction %d: %w", i, err)
		}
	}
	return w.checkAll(c, db)
}

func (w *ApiCorrectness) transaction(c *flow.Ctx, db DB) error {
	ryw := c.Rand().IntN(3) != 0
	var final view
	attempts := 0
	err := db.Transact(c, func(tr Tx) error {
		attempts++
		if !ryw {
			if err := tr.DisableRYW(); err != nil {
				return err
			}
		}
		if attempts > 1 {
			// A retry, perhaps after an unknown result: the model may be
			// stale.
			if err := w.resync(c, tr); err != nil {
				return err
			}
		}
		base := view(w.model)
		local := base.clone()
		for range 1 + c.Rand().IntN(12) {
			if err := w.operation(c, tr, base, local, ryw); err != nil {
				return err
			}
		}
		final = local
		return nil
	})
	if err != nil {
		return err
	}
	w.model = final
	w.Committed++
	return nil
}

// resync reloads the model from the database inside tr.
func (w *ApiCorrectness) resync(c *flow.Ctx, tr Tx) error {
	r := kv.PrefixRange(w.Prefix)
	kvs, err := tr.Snapshot().GetRange(c, r.Begin, r.End, 0, false)
	if err != nil {
		return err
	}
	w.model = map[string][]byte{}
	for _, p := range kvs {
		w.model[string(p.Key)] = p.Value
	}
	w.Unknown++
	return nil
}

// operation does one random read or write and checks reads against the
// view the transaction must see.
func (w *ApiCorrectness) operation(c *flow.Ctx, tr Tx, base, local view, ryw bool) error {
	seen := local
	if !ryw {
		seen = base
	}
	switch op := c.Rand().IntN(11); {
	case op == 10:
		return w.getKey(c, tr, seen, ryw)
	case op < 2:
		k := w.randomKey(c)
		got, err := tr.Get(c, k)
		if err != nil {
			return err
		}
		w.Reads++
		if want := seen[string(k)]; !bytes.Equal(got, want) || (got == nil) != (want == nil) {
			return fmt.Errorf("get %s = %q, want %q (ryw %v)", kv.Printable(k), got, want, ryw)
		}
	case op < 4:
		a, b := w.randomKey(c), w.randomKey(c)
		if bytes.Compare(a, b) > 0 {
			a, b = b, a
		}
		limit, reverse := c.Rand().IntN(5), c.Rand().IntN(2) == 0
		got, err := tr.GetRange(c, a, b, limit, reverse)
		if err != nil {
			return err
		}
		w.Reads++
		if want := seen.rangeOf(a, b, limit, reverse); !sameKVs(got, want) {
			return fmt.Errorf("getrange [%s, %s) limit %d reverse %v = %s, want %s (ryw %v)",
				kv.Printable(a), kv.Printable(b), limit, reverse, showKVs(got), showKVs(want), ryw)
		}
	case op < 6:
		k, v := w.randomKey(c), w.randomValue(c)
		tr.Set(k, v)
		local[string(k)] = v
	case op < 7:
		k := w.randomKey(c)
		tr.Clear(k)
		delete(local, string(k))
	case op < 8:
		a, b := w.randomKey(c), w.randomKey(c)
		if bytes.Compare(a, b) > 0 {
			a, b = b, a
		}
		tr.ClearRange(a, b)
		for k := range local {
			if k >= string(a) && k < string(b) {
				delete(local, k)
			}
		}
	default:
		k, param := w.randomKey(c), w.randomValue(c)
		op := apiAtomicOps[c.Rand().IntN(len(apiAtomicOps))]
		tr.Atomic(op, k, param)
		old, exists := local[string(k)]
		if v, keep := kv.ApplyAtomic(op, old, exists, param); keep {
			local[string(k)] = v
		} else {
			delete(local, string(k))
		}
	}
	return nil
}

// getKey resolves a random selector and checks it against the view. When
// the selected key lies outside the workload's prefix (other workloads own
// those keys), it only checks that the result is outside the prefix too.
func (w *ApiCorrectness) getKey(c *flow.Ctx, tr Tx, seen view, ryw bool) error {
	sel := kv.KeySelector{Key: w.randomKey(c), OrEqual: c.Rand().IntN(2) == 0, Offset: c.Rand().IntN(5) - 2}
	got, err := tr.GetKey(c, sel)
	if err != nil {
		return err
	}
	w.Reads++
	r := kv.PrefixRange(w.Prefix)
	keys := seen.rangeOf(r.Begin, r.End, 0, false)
	base := 0
	for _, p := range keys {
		if c := bytes.Compare(p.Key, sel.Key); c < 0 || (c == 0 && sel.OrEqual) {
			base++
		}
	}
	idx := base - 1 + sel.Offset
	if idx >= 0 && idx < len(keys) {
		if !bytes.Equal(got, keys[idx].Key) {
			return fmt.Errorf("getkey %s = %s, want %s (ryw %v)", sel, kv.Printable(got), kv.Printable(keys[idx].Key), ryw)
		}
		return nil
	}
	if r.Contains(got) {
		return fmt.Errorf("getkey %s = %s inside the prefix, want a key outside it (ryw %v)", sel, kv.Printable(got), ryw)
	}
	return nil
}

// checkAll compares the whole prefix with the model.
func (w *ApiCorrectness) checkAll(c *flow.Ctx, db DB) error {
	return db.Transact(c, func(tr Tx) error {
		r := kv.PrefixRange(w.Prefix)
		got, err := tr.GetRange(c, r.Begin, r.End, 0, false)
		if err != nil {
			return err
		}
		if want := view(w.model).rangeOf(r.Begin, r.End, 0, false); !sameKVs(got, want) {
			return fmt.Errorf("api correctness: database %s, model %s", showKVs(got), showKVs(want))
		}
		return nil
	})
}

func sameKVs(a, b []kv.KeyValue) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i].Key, b[i].Key) || !bytes.Equal(a[i].Value, b[i].Value) {
			return false
		}
	}
	return true
}

func showKVs(kvs []kv.KeyValue) string {
	parts := make([]string, len(kvs))
	for i, p := range kvs {
		parts[i] = kv.Printable(p.Key) + "=" + kv.Printable(p.Value)
	}
	return "[" + strings.Join(parts, " ") + "]"
}
