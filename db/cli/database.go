package cli

import (
	"context"

	"github.com/strata-db/strata/db/kv"
)

// Database is what the interpreter needs from a database: transactions.
type Database interface {
	// CreateTransaction starts a transaction. The interpreter calls
	// Close on it when it is done with it.
	CreateTransaction() (Transaction, error)
}

// Transaction is the part of a client transaction the commands use. The
// calls that wait for the cluster take a context that bounds them: when
// it ends first they return its error, and the transaction need not be
// usable afterwards.
type Transaction interface {
	// Get returns key's value and whether it exists.
	Get(ctx context.Context, key []byte) (value []byte, found bool, err error)
	// GetRange returns up to limit (> 0) rows of [begin, end).
	GetRange(ctx context.Context, begin, end []byte, limit int) ([]kv.KeyValue, error)
	// GetReadVersion returns the transaction's read version.
	GetReadVersion(ctx context.Context) (kv.Version, error)
	Set(key, value []byte)
	Clear(key []byte)
	ClearRange(begin, end []byte)
	// Commit commits the transaction and returns its committed version,
	// or kv.InvalidVersion when there was nothing to commit.
	Commit(ctx context.Context) (kv.Version, error)
	// SetOption sets the transaction option name (one of Options) with
	// its integer parameter, if it takes one.
	SetOption(name string, param int64) error
	// Reset discards the transaction's writes, reads and options.
	Reset()
	// Close releases the transaction.
	Close()
}
