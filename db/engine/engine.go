package engine

import (
	"errors"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
)

// Engine is a storage server's durable ordered key-value store. A storage
// server is its only user and calls it with its process's baton held, one
// call at a time, except that Get and Scan may run while a Commit is in
// flight (Commit may release the baton while it waits for the disk).
type Engine interface {
	// Get returns the value of key, and whether it exists.
	Get(key []byte) (value []byte, found bool, err error)
	// Scan returns the pairs in r in key order (or reverse order), at most
	// limit pairs (limit <= 0: no limit) and stopping once byteLimit bytes
	// of keys and values have been returned (byteLimit <= 0: no limit; at
	// least one pair is always returned if any exists). more reports whether
	// pairs in r were left out.
	Scan(r kv.KeyRange, reverse bool, limit, byteLimit int) (kvs []kv.KeyValue, more bool, err error)
	// NewBatch returns an empty batch of writes.
	NewBatch() Batch
	// Commit applies b atomically and makes it durable before returning:
	// after a crash, either all of b is there or none of it. It blocks the
	// calling actor, not the process.
	Commit(c *flow.Ctx, b Batch) error
	// Stats describes the engine's size.
	Stats() Stats
	// Close releases the engine's resources; unsynced state is not lost
	// because Commit syncs.
	Close() error
}

// Batch is a set of writes applied atomically by Engine.Commit, in the
// order they were added.
type Batch interface {
	Set(key, value []byte)
	Delete(key []byte)
	// DeleteRange deletes every key in r.
	DeleteRange(r kv.KeyRange)
	// Len returns the number of writes in the batch.
	Len() int
}

// Stats describes an engine's size.
type Stats struct {
	// KeyValueBytes estimates the bytes of live keys and values.
	KeyValueBytes int64
	// DiskBytes is the space the engine's files take.
	DiskBytes int64
}

// ErrClosed is returned by an engine after Close.
var ErrClosed = errors.New("engine: closed")
