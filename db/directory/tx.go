package directory

import (
	"math/rand/v2"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
)

// ReadTx is the part of a transaction that directory reads (Open, List,
// Exists) need. Reads through it add read conflicts unless it is a
// transaction's snapshot view.
type ReadTx interface {
	Get(key []byte) ([]byte, error)
	// GetRange returns the rows in [begin, end), at most limit of them
	// (0: no limit), from the end when reverse.
	GetRange(begin, end []byte, limit int, reverse bool) ([]kv.KeyValue, error)
}

// Tx is the transaction the directory layer writes through. FromTx adapts
// the Go client's *client.Tx and FromTransaction the flow client's
// *client.Transaction; anything else with these methods works too.
type Tx interface {
	ReadTx
	// Snapshot returns a view whose reads add no read conflicts.
	Snapshot() ReadTx
	Set(key, value []byte)
	Clear(key []byte)
	ClearRange(begin, end []byte)
	// Add is the atomic add of a little-endian integer.
	Add(key, param []byte)
	AddWriteConflictKey(key []byte) error
	// SetNextWriteNoWriteConflictRange makes the next write add no write
	// conflict range.
	SetNextWriteNoWriteConflictRange()
}

// Randomizer is implemented by a Tx that supplies the prefix allocator's
// random choices (FromTransaction does, from the flow environment's seeded
// source, so simulations replay). Other transactions use math/rand/v2.
type Randomizer interface {
	// Int64N returns a uniformly random integer in [0, n).
	Int64N(n int64) int64
}

func randomIn(tr Tx, n int64) int64 {
	if r, ok := tr.(Randomizer); ok {
		return r.Int64N(n)
	}
	return rand.Int64N(n)
}

// FromTx adapts a Go-client transaction, as (*client.DB).Transact hands it
// to its function.
func FromTx(t *client.Tx) Tx { return goTx{t} }

type goTx struct{ t *client.Tx }

func (g goTx) Get(key []byte) ([]byte, error) { return g.t.Get(key) }
func (g goTx) GetRange(begin, end []byte, limit int, reverse bool) ([]kv.KeyValue, error) {
	return g.t.GetRange(begin, end, client.RangeOptions{Limit: limit, Reverse: reverse})
}
func (g goTx) Snapshot() ReadTx                     { return goSnapshot{g.t.Snapshot()} }
func (g goTx) Set(key, value []byte)                { g.t.Set(key, value) }
func (g goTx) Clear(key []byte)                     { g.t.Clear(key) }
func (g goTx) ClearRange(begin, end []byte)         { g.t.ClearRange(begin, end) }
func (g goTx) Add(key, param []byte)                { g.t.Add(key, param) }
func (g goTx) AddWriteConflictKey(key []byte) error { return g.t.AddWriteConflictKey(key) }
func (g goTx) SetNextWriteNoWriteConflictRange() {
	// The option cannot fail; an error here is the context's, which the
	// next read or the commit reports.
	_ = g.t.Options(func(o client.TransactionOptions) error {
		o.SetNextWriteNoWriteConflictRange()
		return nil
	})
}

type goSnapshot struct{ s client.TxSnapshot }

func (g goSnapshot) Get(key []byte) ([]byte, error) { return g.s.Get(key) }
func (g goSnapshot) GetRange(begin, end []byte, limit int, reverse bool) ([]kv.KeyValue, error) {
	return g.s.GetRange(begin, end, client.RangeOptions{Limit: limit, Reverse: reverse})
}

// FromTransaction adapts a flow-client transaction for use by the actor
// running c, as (*client.Database).Transact hands it to its function. The
// allocator draws from c's environment's random source.
func FromTransaction(c *flow.Ctx, tr *client.Transaction) Tx { return flowTx{c, tr} }

type flowTx struct {
	c  *flow.Ctx
	tr *client.Transaction
}

func (f flowTx) Get(key []byte) ([]byte, error) { return f.tr.Get(f.c, key) }
func (f flowTx) GetRange(begin, end []byte, limit int, reverse bool) ([]kv.KeyValue, error) {
	return f.tr.GetRange(f.c, begin, end, client.RangeOptions{Limit: limit, Reverse: reverse})
}
func (f flowTx) Snapshot() ReadTx                     { return flowSnapshot{f.c, f.tr.Snapshot()} }
func (f flowTx) Set(key, value []byte)                { f.tr.Set(key, value) }
func (f flowTx) Clear(key []byte)                     { f.tr.Clear(key) }
func (f flowTx) ClearRange(begin, end []byte)         { f.tr.ClearRange(begin, end) }
func (f flowTx) Add(key, param []byte)                { f.tr.Add(key, param) }
func (f flowTx) AddWriteConflictKey(key []byte) error { return f.tr.AddWriteConflictKey(key) }
func (f flowTx) SetNextWriteNoWriteConflictRange()    { f.tr.Options().SetNextWriteNoWriteConflictRange() }
func (f flowTx) Int64N(n int64) int64                 { return f.c.Env.Rand().Int64N(n) }

type flowSnapshot struct {
	c *flow.Ctx
	s client.Snapshot
}

func (f flowSnapshot) Get(key []byte) ([]byte, error) { return f.s.Get(f.c, key) }
func (f flowSnapshot) GetRange(begin, end []byte, limit int, reverse bool) ([]kv.KeyValue, error) {
	return f.s.GetRange(f.c, begin, end, client.RangeOptions{Limit: limit, Reverse: reverse})
}
