package client

import (
	"bytes"
	"context"
	"fmt"

	"github.com/strata-db/strata/db/clusterfile"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
)

// The Go layer: a goroutine-safe API that honours contexts. A DB runs a
// flow process of its own (its loop on a goroutine) with a Database on it;
// every call posts to that loop and waits, so the flow-layer objects are
// touched only with the loop's baton.

// DefaultOpenDatabaseToken is the token at which Open expects the cluster
// file's addresses to serve ClientDBInfo, until the coordinators' own
// interface replaces it.
const DefaultOpenDatabaseToken = kv.TokenOpenDatabase

// DB is a goroutine-safe database handle.
type DB struct {
	proc *flow.RealProcess
	stop func() error
	db   *Database // used on proc's loop only
}

// Open connects to the cluster named by the cluster file at clusterFile.
func Open(ctx context.Context, clusterFile string) (*DB, error) {
	cf, err := ReadClusterFile(clusterFile)
	if err != nil {
		return nil, err
	}
	info, err := readClusterInfo(clusterFile)
	if err != nil {
		return nil, err
	}
	return OpenCluster(ctx, cf.Coordinators, Config{OpenDatabaseToken: DefaultOpenDatabaseToken, Cluster: info,
		OnCoordinatorsChanged: rewriteClusterFile(clusterFile)})
}

// rewriteClusterFile persists the connection string a database follows to
// the cluster file it was opened with, atomically, as FoundationDB's
// clients do when the coordinators change.
func rewriteClusterFile(path string) func(c *flow.Ctx, cf clusterfile.ClusterFile) error {
	return func(c *flow.Ctx, cf clusterfile.ClusterFile) error {
		return c.Blocking(func() error { return clusterfile.WriteAtomic(path, cf) })
	}
}

// OpenCluster connects to the cluster whose ClientDBInfo entry addresses
// are given, with cfg.
func OpenCluster(ctx context.Context, entry []flow.Address, cfg Config) (*DB, error) {
	// The cluster answers by dialling the client back, so listen on the
	// address that faces it (loopback serves only local clusters).
	listen := "127.0.0.1:0"
	if len(entry) > 0 {
		listen = flow.ListenAddressToward(string(entry[0]))
	}
	proc, err := flow.NewRealProcess(flow.RealConfig{ListenAddress: listen, ProcessID: "client"})
	if err != nil {
		return nil, fmt.Errorf("client process: %w", err)
	}
	d := &DB{proc: proc, stop: proc.Start()}
	_, err = flow.Submit(ctx, proc, func(e *flow.Env) flow.Future[struct{}] {
		db, err := NewDatabase(e, entry, cfg)
		if err != nil {
			return flow.Failed[struct{}](err)
		}
		d.db = db
		return flow.Ready(struct{}{})
	})
	if err != nil {
		_ = d.stop()
		return nil, err
	}
	return d, nil
}

// Close stops the database's process; calls in flight fail.
func (d *DB) Close() error { return d.stop() }

// CreateTransaction returns a new transaction whose blocking calls end
// with ctx's error once ctx is done. It does not wait for the loop: the
// transaction is made there before anything the caller does with it next,
// since the loop runs what is posted to it in order.
func (d *DB) CreateTransaction(ctx context.Context) (*Tx, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t := &Tx{ctx: ctx, proc: d.proc}
	if err := d.proc.Do(func(*flow.Env) { t.tr = d.db.CreateTransaction() }); err != nil {
		return nil, flow.ErrProcessStopped
	}
	return t, nil
}

// Transact runs fn in a transaction and commits it, retrying with FDB's
// retry loop (Tx.OnError) until it commits, fn or the commit returns an
// error that is not retryable, or ctx is done.
func (d *DB) Transact(ctx context.Context, fn func(*Tx) (any, error)) (any, error) {
	return d.run(ctx, fn, true)
}

// ReadTransact runs fn in a transaction without committing, retrying as
// Transact does.
func (d *DB) ReadTransact(ctx context.Context, fn func(*Tx) (any, error)) (any, error) {
	return d.run(ctx, fn, false)
}

func (d *DB) run(ctx context.Context, fn func(*Tx) (any, error), commit bool) (any, error) {
	tx, err := d.CreateTransaction(ctx)
	if err != nil {
		return nil, err
	}
	for {
		v, err := fn(tx)
		if err == nil && commit {
			err = tx.Commit()
		}
		if err == nil {
			return v, nil
		}
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		if err := tx.OnError(err); err != nil {
			return nil, err
		}
	}
}

// Tx is a goroutine-safe transaction: each method runs the flow-layer
// Transaction's method on the database's loop.
type Tx struct {
	ctx  context.Context
	proc *flow.RealProcess
	tr   *Transaction
}

// call runs a blocking operation as an actor on the loop.
func call[T any](t *Tx, name string, op func(c *flow.Ctx) (T, error)) (T, error) {
	return flow.Go(t.ctx, t.proc, name, op)
}

// do runs an operation that neither blocks nor fails on the loop, without
// waiting for it: the loop runs what is posted to it in order, so the
// transaction's next operation sees it, and a one-key write costs no hand-off
// to the loop and back. Byte slices the caller may reuse must be copied
// before fn is posted.
func (t *Tx) do(fn func()) {
	_ = t.proc.Do(func(*flow.Env) { fn() }) // a stopped process fails the next blocking call
}

// doErr is do for operations that return an error.
func (t *Tx) doErr(fn func() error) error {
	_, err := flow.Submit(t.ctx, t.proc, func(*flow.Env) flow.Future[struct{}] {
		if err := fn(); err != nil {
			return flow.Failed[struct{}](err)
		}
		return flow.Ready(struct{}{})
	})
	return err
}

// Get returns key's value (nil when missing).
func (t *Tx) Get(key []byte) ([]byte, error) {
	return call(t, "Get", func(c *flow.Ctx) ([]byte, error) { return t.tr.Get(c, key) })
}

// GetKey resolves a key selector.
func (t *Tx) GetKey(sel kv.KeySelector) ([]byte, error) {
	return call(t, "GetKey", func(c *flow.Ctx) ([]byte, error) { return t.tr.GetKey(c, sel) })
}

// GetRange returns the rows of [begin, end).
func (t *Tx) GetRange(begin, end []byte, o RangeOptions) ([]kv.KeyValue, error) {
	return call(t, "GetRange", func(c *flow.Ctx) ([]kv.KeyValue, error) { return t.tr.GetRange(c, begin, end, o) })
}

// GetRangeSelectors returns the rows between two key selectors.
func (t *Tx) GetRangeSelectors(begin, end kv.KeySelector, o RangeOptions) ([]kv.KeyValue, error) {
	return call(t, "GetRange", func(c *flow.Ctx) ([]kv.KeyValue, error) {
		return t.tr.GetRangeSelectors(c, begin, end, o)
	})
}

// Snapshot returns the transaction's snapshot-read view.
func (t *Tx) Snapshot() TxSnapshot { return TxSnapshot{t: t} }

// TxSnapshot is Tx's snapshot-read view: reads add no read conflicts.
type TxSnapshot struct{ t *Tx }

// Get is Tx.Get without a read conflict.
func (s TxSnapshot) Get(key []byte) ([]byte, error) {
	return call(s.t, "SnapshotGet", func(c *flow.Ctx) ([]byte, error) { return s.t.tr.Snapshot().Get(c, key) })
}

// GetKey is Tx.GetKey without a read conflict.
func (s TxSnapshot) GetKey(sel kv.KeySelector) ([]byte, error) {
	return call(s.t, "SnapshotGetKey", func(c *flow.Ctx) ([]byte, error) { return s.t.tr.Snapshot().GetKey(c, sel) })
}

// GetRange is Tx.GetRange without a read conflict.
func (s TxSnapshot) GetRange(begin, end []byte, o RangeOptions) ([]kv.KeyValue, error) {
	return call(s.t, "SnapshotGetRange", func(c *flow.Ctx) ([]kv.KeyValue, error) {
		return s.t.tr.Snapshot().GetRange(c, begin, end, o)
	})
}

// Set writes value to key.
func (t *Tx) Set(key, value []byte) {
	key, value = bytes.Clone(key), bytes.Clone(value)
	t.do(func() { t.tr.Set(key, value) })
}

// Clear removes key.
func (t *Tx) Clear(key []byte) {
	key = bytes.Clone(key)
	t.do(func() { t.tr.Clear(key) })
}

// ClearRange removes [begin, end).
func (t *Tx) ClearRange(begin, end []byte) {
	begin, end = bytes.Clone(begin), bytes.Clone(end)
	t.do(func() { t.tr.ClearRange(begin, end) })
}

// Atomic applies an atomic operation (see Transaction.Atomic).
func (t *Tx) Atomic(op kv.MutationType, key, param []byte) {
	key, param = bytes.Clone(key), bytes.Clone(param)
	t.do(func() { t.tr.Atomic(op, key, param) })
}

// Add adds param to the little-endian integer at key.
func (t *Tx) Add(key, param []byte) { t.Atomic(kv.AddValue, key, param) }

// BitAnd ands param into key's value.
func (t *Tx) BitAnd(key, param []byte) { t.Atomic(kv.BitAnd, key, param) }

// BitOr ors param into key's value.
func (t *Tx) BitOr(key, param []byte) { t.Atomic(kv.BitOr, key, param) }

// BitXor xors param into key's value.
func (t *Tx) BitXor(key, param []byte) { t.Atomic(kv.BitXor, key, param) }

// Max stores the larger of key's value and param.
func (t *Tx) Max(key, param []byte) { t.Atomic(kv.Max, key, param) }

// Min stores the smaller of key's value and param.
func (t *Tx) Min(key, param []byte) { t.Atomic(kv.Min, key, param) }

// ByteMin stores the lexicographically smaller of key's value and param.
func (t *Tx) ByteMin(key, param []byte) { t.Atomic(kv.ByteMin, key, param) }

// ByteMax stores the lexicographically larger of key's value and param.
func (t *Tx) ByteMax(key, param []byte) { t.Atomic(kv.ByteMax, key, param) }

// AppendIfFits appends param to key's value if the result fits.
func (t *Tx) AppendIfFits(key, param []byte) { t.Atomic(kv.AppendIfFits, key, param) }

// CompareAndClear clears key if its value equals param.
func (t *Tx) CompareAndClear(key, param []byte) { t.Atomic(kv.CompareAndClear, key, param) }

// SetVersionstampedKey: see Transaction.SetVersionstampedKey.
func (t *Tx) SetVersionstampedKey(key, value []byte) {
	key, value = bytes.Clone(key), bytes.Clone(value)
	t.do(func() { t.tr.SetVersionstampedKey(key, value) })
}

// SetVersionstampedValue: see Transaction.SetVersionstampedValue.
func (t *Tx) SetVersionstampedValue(key, value []byte) {
	key, value = bytes.Clone(key), bytes.Clone(value)
	t.do(func() { t.tr.SetVersionstampedValue(key, value) })
}

// AddReadConflictRange adds a read conflict range.
func (t *Tx) AddReadConflictRange(r kv.KeyRange) error {
	return t.doErr(func() error { return t.tr.AddReadConflictRange(r) })
}

// AddReadConflictKey adds a read conflict on key.
func (t *Tx) AddReadConflictKey(key []byte) error {
	return t.doErr(func() error { return t.tr.AddReadConflictKey(key) })
}

// AddWriteConflictRange adds a write conflict range.
func (t *Tx) AddWriteConflictRange(r kv.KeyRange) error {
	return t.doErr(func() error { return t.tr.AddWriteConflictRange(r) })
}

// AddWriteConflictKey adds a write conflict on key.
func (t *Tx) AddWriteConflictKey(key []byte) error {
	return t.doErr(func() error { return t.tr.AddWriteConflictKey(key) })
}

// Options runs fn with the transaction's option setter on the loop.
func (t *Tx) Options(fn func(o TransactionOptions) error) error {
	return t.doErr(func() error { return fn(t.tr.Options()) })
}

// GetReadVersion returns the transaction's read version.
func (t *Tx) GetReadVersion() (kv.Version, error) {
	return call(t, "GetReadVersion", func(c *flow.Ctx) (kv.Version, error) { return t.tr.GetReadVersion(c) })
}

// SetReadVersion makes the transaction read at v.
func (t *Tx) SetReadVersion(v kv.Version) { t.do(func() { t.tr.SetReadVersion(v) }) }

// Commit commits the transaction.
func (t *Tx) Commit() error {
	_, err := flow.Submit(t.ctx, t.proc, func(*flow.Env) flow.Future[struct{}] { return t.tr.commit() })
	return err
}

// GetCommittedVersion returns the committed version (-1 read-only).
func (t *Tx) GetCommittedVersion() kv.Version {
	v, err := flow.Submit(t.ctx, t.proc, func(*flow.Env) flow.Future[kv.Version] {
		return flow.Ready(t.tr.GetCommittedVersion())
	})
	if err != nil {
		return kv.InvalidVersion
	}
	return v
}

// GetVersionstamp waits for the transaction's versionstamp (after a
// successful commit) or its error.
func (t *Tx) GetVersionstamp() (*Versionstamp, error) {
	f, err := flow.Submit(t.ctx, t.proc, func(*flow.Env) flow.Future[flow.Future[[10]byte]] {
		return flow.Ready(t.tr.GetVersionstamp())
	})
	if err != nil {
		return nil, err
	}
	return &Versionstamp{proc: t.proc, f: f}, nil
}

// Versionstamp is a goroutine-safe handle on a transaction's versionstamp.
type Versionstamp struct {
	proc *flow.RealProcess
	f    flow.Future[[10]byte]
}

// Get waits for the versionstamp, or ctx.
func (v *Versionstamp) Get(ctx context.Context) ([10]byte, error) {
	return flow.Submit(ctx, v.proc, func(*flow.Env) flow.Future[[10]byte] { return v.f })
}

// Watch starts a watch of key (see Transaction.Watch); it begins when the
// transaction commits.
func (t *Tx) Watch(key []byte) (*TxWatch, error) {
	w, err := call(t, "Watch", func(c *flow.Ctx) (*Watch, error) { return t.tr.Watch(c, key), nil })
	if err != nil {
		return nil, err
	}
	return &TxWatch{proc: t.proc, w: w}, nil
}

// TxWatch is a goroutine-safe handle on a watch.
type TxWatch struct {
	proc *flow.RealProcess
	w    *Watch
}

// Wait blocks until the watched value changes, the watch fails, or ctx is
// done.
func (w *TxWatch) Wait(ctx context.Context) error {
	_, err := flow.Submit(ctx, w.proc, func(*flow.Env) flow.Future[struct{}] { return w.w.Future() })
	return err
}

// Cancel stops the watch.
func (w *TxWatch) Cancel() {
	_, _ = flow.Submit(context.Background(), w.proc, func(*flow.Env) flow.Future[struct{}] {
		w.w.Cancel()
		return flow.Ready(struct{}{})
	})
}

// OnError waits the retry backoff and resets the transaction if err is
// retryable, or returns err (see Transaction.OnError).
func (t *Tx) OnError(err error) error {
	_, rerr := call(t, "OnError", func(c *flow.Ctx) (struct{}, error) { return struct{}{}, t.tr.OnError(c, err) })
	return rerr
}

// Reset makes the transaction as new.
func (t *Tx) Reset() { t.do(func() { t.tr.Reset() }) }

// Cancel cancels the transaction's pending and later operations.
func (t *Tx) Cancel() { t.do(func() { t.tr.Cancel() }) }
