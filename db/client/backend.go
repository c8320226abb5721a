package client

import (
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
)

// backend is what a transaction reads from and commits to: the cluster's
// proxies and storage servers (Database), or an in-memory model in tests.
// Every call but readVersion and commit blocks the calling actor.
type backend interface {
	// readVersion returns a future for a read version at the priority.
	readVersion(p Priority, lockAware bool) flow.Future[kv.Version]
	// getValue returns key's value at v and whether it exists.
	getValue(c *flow.Ctx, key []byte, v kv.Version) ([]byte, bool, error)
	// getKey resolves sel at v over the whole keyspace; it returns "" when
	// the selector falls before the first key and \xff\xff past the last.
	getKey(c *flow.Ctx, sel kv.KeySelector, v kv.Version) ([]byte, error)
	// getRange reads rows of r at v, in key order or reverse, at most limit
	// (0: any number) and about limitBytes (0: any size). It returns how far
	// it read: forward, every row of [r.Begin, readTo) is in rows; reverse,
	// every row of [readTo, r.End). readTo is r.End (r.Begin in reverse)
	// once r is exhausted.
	getRange(c *flow.Ctx, r kv.KeyRange, v kv.Version, limit, limitBytes int, reverse bool) (rows []kv.KeyValue, readTo []byte, err error)
	// commit commits the transaction and returns a future for its version
	// and its index within the commit batch. Work that has not reached the
	// cluster by the time abort is ready is not sent.
	commit(req commitRequest, abort flow.Future[struct{}]) flow.Future[commitResult]
	// watch waits until key's value differs from value/present at a
	// version >= v.
	watch(c *flow.Ctx, key, value []byte, present bool, v kv.Version) (kv.Version, error)
	// acquireWatch reserves one of the database's outstanding watches;
	// releaseWatch returns it.
	acquireWatch() bool
	releaseWatch()
}

// commitRequest is what a transaction sends to be committed.
type commitRequest struct {
	ReadVersion    kv.Version
	ReadConflicts  []kv.KeyRange
	WriteConflicts []kv.KeyRange
	Mutations      []kv.Mutation
	LockAware      bool
}

// commitResult is where a commit landed: its version and its index within
// the commit batch (the versionstamp's last two bytes).
type commitResult struct {
	version kv.Version
	index   uint16
}
