package cli

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/kv"
)

// ClientDatabase adapts a Go client database to the interpreter. Its
// transactions end when ctx does.
func ClientDatabase(ctx context.Context, db *client.DB) Database {
	return clientDB{ctx: ctx, db: db}
}

type clientDB struct {
	ctx context.Context
	db  *client.DB
}

func (d clientDB) CreateTransaction() (Transaction, error) {
	// A client.Tx is bound to one context for its life; each call's own
	// context cancels that one when it ends first (see bounded).
	ctx, cancel := context.WithCancel(d.ctx)
	tx, err := d.db.CreateTransaction(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	return &clientTx{tx: tx, cancel: cancel}, nil
}

type clientTx struct {
	tx     *client.Tx
	cancel context.CancelFunc
}

// bounded runs op, cancelling the transaction if ctx ends first; it then
// returns ctx's error.
func bounded[T any](t *clientTx, ctx context.Context, op func() (T, error)) (T, error) {
	stop := context.AfterFunc(ctx, t.cancel)
	v, err := op()
	stop()
	if err != nil && ctx.Err() != nil {
		return v, fmt.Errorf("%v: %w", err, ctx.Err())
	}
	return v, err
}

func (t *clientTx) Get(ctx context.Context, key []byte) ([]byte, bool, error) {
	v, err := bounded(t, ctx, func() ([]byte, error) { return t.tx.Get(key) })
	return v, v != nil, err
}

func (t *clientTx) GetRange(ctx context.Context, begin, end []byte, limit int) ([]kv.KeyValue, error) {
	return bounded(t, ctx, func() ([]kv.KeyValue, error) {
		return t.tx.GetRange(begin, end, client.RangeOptions{Limit: limit})
	})
}

func (t *clientTx) GetReadVersion(ctx context.Context) (kv.Version, error) {
	return bounded(t, ctx, t.tx.GetReadVersion)
}

func (t *clientTx) Set(key, value []byte)        { t.tx.Set(key, value) }
func (t *clientTx) Clear(key []byte)             { t.tx.Clear(key) }
func (t *clientTx) ClearRange(begin, end []byte) { t.tx.ClearRange(begin, end) }
func (t *clientTx) Reset()                       { t.tx.Reset() }
func (t *clientTx) Close()                       { t.cancel() }

func (t *clientTx) Commit(ctx context.Context) (kv.Version, error) {
	return bounded(t, ctx, func() (kv.Version, error) {
		if err := t.tx.Commit(); err != nil {
			return kv.InvalidVersion, err
		}
		return t.tx.GetCommittedVersion(), nil
	})
}

func (t *clientTx) SetOption(name string, param int64) error {
	return t.tx.Options(func(o client.TransactionOptions) error {
		if param > math.MaxInt64/int64(time.Millisecond) {
			return fmt.Errorf("option %s value %d is too large: %w", name, param, kv.ErrInvalidOptionValue)
		}
		ms := time.Duration(param) * time.Millisecond
		switch name {
		case "access_system_keys":
			o.SetAccessSystemKeys()
		case "lock_aware":
			o.SetLockAware()
		case "max_retry_delay":
			return o.SetMaxRetryDelay(ms)
		case "next_write_no_write_conflict_range":
			o.SetNextWriteNoWriteConflictRange()
		case "priority_batch":
			o.SetPriorityBatch()
		case "priority_system_immediate":
			o.SetPrioritySystemImmediate()
		case "read_system_keys":
			o.SetReadSystemKeys()
		case "read_your_writes_disable":
			return o.SetReadYourWritesDisable()
		case "retry_limit":
			return o.SetRetryLimit(int(param))
		case "size_limit":
			return o.SetSizeLimit(int(param))
		case "snapshot_ryw_disable":
			o.SetSnapshotRYWDisable()
		case "snapshot_ryw_enable":
			o.SetSnapshotRYWEnable()
		case "timeout":
			return o.SetTimeout(ms)
		default:
			return fmt.Errorf("option %q: %w", name, kv.ErrInvalidOptionValue)
		}
		return nil
	})
}
