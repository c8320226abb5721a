package workloads

import (
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
)

// DB is what the database workloads need of a client: FoundationDB's retry
// loop. The client package's Database satisfies it through a small adapter
// (see db/sim/simtests), so workloads depend only on the semantics they
// check.
type DB interface {
	// Transact runs fn in a transaction, retrying retryable errors, and
	// commits it.
	Transact(c *flow.Ctx, fn func(tr Tx) error) error
}

// Tx is one attempt of a transaction.
type Tx interface {
	// Get returns the value of key, nil if it does not exist.
	Get(c *flow.Ctx, key []byte) ([]byte, error)
	// GetKey resolves a key selector.
	GetKey(c *flow.Ctx, sel kv.KeySelector) ([]byte, error)
	// GetRange returns the pairs in [begin, end), at most limit (0: all).
	GetRange(c *flow.Ctx, begin, end []byte, limit int, reverse bool) ([]kv.KeyValue, error)
	Set(key, value []byte)
	Clear(key []byte)
	ClearRange(begin, end []byte)
	Atomic(op kv.MutationType, key, param []byte)
	// AddReadConflictRange adds [begin, end) to the read conflict ranges.
	AddReadConflictRange(begin, end []byte)
	// Watch returns a future set when key's value changes after the
	// transaction commits.
	Watch(c *flow.Ctx, key []byte) (flow.Future[struct{}], error)
	// DisableRYW turns read-your-writes off (before any read or write).
	DisableRYW() error
	// Snapshot returns a view whose reads add no read conflicts.
	Snapshot() SnapshotTx
	// Versionstamp returns a future for the commit's versionstamp.
	Versionstamp() flow.Future[[10]byte]
	// CommittedVersion is the commit version after a successful commit.
	CommittedVersion() kv.Version
	// ReadVersion returns the transaction's read version.
	ReadVersion(c *flow.Ctx) (kv.Version, error)
}

// SnapshotTx is the snapshot-read view of a transaction.
type SnapshotTx interface {
	Get(c *flow.Ctx, key []byte) ([]byte, error)
	GetRange(c *flow.Ctx, begin, end []byte, limit int, reverse bool) ([]kv.KeyValue, error)
}
