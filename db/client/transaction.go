package client

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
)

// Transaction is a FoundationDB-style transaction on the flow runtime:
// reads at one read version with read-your-writes over buffered writes,
// conflict ranges, atomic operations, versionstamps, watches and the
// retry loop's OnError. It belongs to one process's loop: call it only
// from actors of that loop.
type Transaction struct {
	env      *flow.Env
	db       backend
	defaults Options
	opts     Options

	// Per attempt (cleared by OnError and Reset).
	rv          flow.Future[kv.Version]
	rvSet       bool
	writes      writeMap
	mutations   []kv.Mutation
	readRanges  []kv.KeyRange
	writeRanges []kv.KeyRange
	deferred    error // the first error of a write, returned by later calls
	touched     bool
	committing  bool
	committed   kv.Version
	stamp       flow.Promise[[10]byte]
	watches     []*Watch

	// Across retries (cleared by Reset).
	retries int
	backoff time.Duration
	start   time.Time
	abort   flow.Promise[struct{}] // failed by timeout or Cancel
	timer   *flow.Timer
}

// initialBackoff and the growth rate are FDB's DEFAULT_BACKOFF and
// BACKOFF_GROWTH_RATE; resourceMaxBackoff is RESOURCE_CONSTRAINED_MAX_BACKOFF
// and futureVersionDelay FUTURE_VERSION_RETRY_DELAY.
const (
	initialBackoff     = 10 * time.Millisecond
	resourceMaxBackoff = 30 * time.Second
	futureVersionDelay = 10 * time.Millisecond
)

func newTransaction(env *flow.Env, db backend, defaults Options) *Transaction {
	tr := &Transaction{env: env, db: db, defaults: defaults}
	tr.resetAll()
	return tr
}

// resetAll makes the transaction as new, with its database's options.
func (tr *Transaction) resetAll() {
	tr.resetAttempt(kv.ErrTransactionCancelled)
	if tr.abort.Future() != (flow.Future[struct{}]{}) {
		tr.abort.Fail(kv.ErrTransactionCancelled)
	}
	tr.opts = tr.defaults
	tr.retries, tr.backoff = 0, initialBackoff
	tr.start = tr.env.Now()
	tr.abort = flow.NewPromise[struct{}]()
	tr.armTimeout()
}

// resetAttempt clears what one attempt read and wrote, failing its
// uncommitted versionstamp and watches with err.
func (tr *Transaction) resetAttempt(err error) {
	if tr.stamp != (flow.Promise[[10]byte]{}) {
		tr.stamp.Fail(err)
	}
	for _, w := range tr.watches {
		w.fail(err)
	}
	tr.rv, tr.rvSet = flow.Future[kv.Version]{}, false
	tr.writes = writeMap{}
	tr.mutations, tr.readRanges, tr.writeRanges = nil, nil, nil
	tr.deferred, tr.touched, tr.committing = nil, false, false
	tr.committed = kv.InvalidVersion
	tr.stamp = flow.NewPromise[[10]byte]()
	tr.watches = nil
}

// armTimeout (re)schedules the timeout from the transaction's start.
func (tr *Transaction) armTimeout() {
	tr.timer.Stop()
	tr.timer = nil
	if tr.opts.Timeout <= 0 {
		return
	}
	abort := tr.abort
	at := tr.start.Add(tr.opts.Timeout)
	tr.timer = tr.env.Loop().At(at, func() { abort.Fail(kv.ErrTransactionTimedOut) })
}

// Options returns the setter of the transaction's options.
func (tr *Transaction) Options() TransactionOptions { return TransactionOptions{tr: tr} }

// Snapshot returns a view of the transaction whose reads add no read
// conflict ranges.
func (tr *Transaction) Snapshot() Snapshot { return Snapshot{tr: tr} }

// usable returns why the transaction cannot run an operation now.
func (tr *Transaction) usable() error {
	if tr.abort.IsSet() {
		return tr.abort.Future().Err()
	}
	if tr.committing {
		return kv.ErrUsedDuringCommit
	}
	return tr.deferred
}

// do runs op in its own actor and waits for it, unless the transaction
// times out or is cancelled first, which cancels op.
func do[T any](c *flow.Ctx, tr *Transaction, name string, op func(c *flow.Ctx) (T, error)) (T, error) {
	var zero T
	if tr.abort.IsSet() {
		return zero, tr.abort.Future().Err()
	}
	p := flow.NewPromise[T]()
	a := c.Spawn(name, func(c *flow.Ctx) error {
		v, err := op(c)
		if err != nil {
			p.Fail(err)
		} else {
			p.Send(v)
		}
		return nil
	})
	abort := tr.abort.Future()
	i, err := flow.Select(c, p.Future(), abort)
	if err != nil || i == 1 {
		a.Cancel()
		if err == nil {
			err = abort.Err()
		}
		return zero, err
	}
	return p.Future().Get()
}

// awaitOrAbort waits for f unless the transaction times out or is
// cancelled first. Unlike do it needs no actor of its own: waiting on a
// future is all there is to it.
func (tr *Transaction) awaitOrAbort(c *flow.Ctx, f flow.Future[kv.Version]) (kv.Version, error) {
	abort := tr.abort.Future()
	if !f.IsReady() {
		if _, err := flow.Select(c, f, abort); err != nil {
			return kv.InvalidVersion, err
		}
		if !f.IsReady() {
			return kv.InvalidVersion, abort.Err()
		}
	}
	return f.Get()
}

// GetReadVersion returns the transaction's read version, getting one from
// the database on first use.
func (tr *Transaction) GetReadVersion(c *flow.Ctx) (kv.Version, error) {
	if tr.abort.IsSet() {
		return kv.InvalidVersion, tr.abort.Future().Err()
	}
	rv := tr.readVersionFuture()
	v, err := tr.awaitOrAbort(c, rv)
	if err != nil {
		tr.forgetReadVersion(rv)
	}
	return v, err
}

// readVersionFuture returns the attempt's read version, asking the
// database for one on first use.
func (tr *Transaction) readVersionFuture() flow.Future[kv.Version] {
	if !tr.rvSet {
		tr.rvSet = true
		tr.rv = tr.db.readVersion(tr.opts.Priority, tr.opts.LockAware)
	}
	return tr.rv
}

// forgetReadVersion drops rv, which failed, if it is still the attempt's
// read version: the next use asks afresh (after OnError).
func (tr *Transaction) forgetReadVersion(rv flow.Future[kv.Version]) {
	if tr.rvSet && tr.rv == rv {
		tr.rvSet = false
	}
}

// SetReadVersion makes the transaction read at v instead of asking the
// database.
func (tr *Transaction) SetReadVersion(v kv.Version) {
	tr.rv, tr.rvSet = flow.Ready(v), true
}

// GetCommittedVersion returns the version the transaction committed at,
// -1 for a committed read-only transaction, and kv.InvalidVersion before
// a commit.
func (tr *Transaction) GetCommittedVersion() kv.Version { return tr.committed }

// GetVersionstamp returns a future for the transaction's versionstamp:
// its commit version (8 bytes, big-endian) and batch index (2 bytes). It
// fails if the commit fails or the transaction is reset or read-only.
func (tr *Transaction) GetVersionstamp() flow.Future[[10]byte] { return tr.stamp.Future() }

// ApproximateSize is the transaction's size as the size limit counts it:
// its mutations and conflict ranges.
func (tr *Transaction) ApproximateSize() int {
	n := 0
	for _, m := range tr.mutations {
		n += m.Size()
	}
	for _, r := range tr.readRanges {
		n += len(r.Begin) + len(r.End)
	}
	for _, r := range tr.writeRanges {
		n += len(r.Begin) + len(r.End)
	}
	return n
}

// Cancel makes the transaction's pending and later operations fail with
// transaction_cancelled, until Reset.
func (tr *Transaction) Cancel() {
	tr.abort.Fail(kv.ErrTransactionCancelled)
	tr.resetAttempt(kv.ErrTransactionCancelled)
}

// Reset makes the transaction as new: its writes, read version, options,
// retry count and timeout start over.
func (tr *Transaction) Reset() { tr.resetAll() }

// Commit sends the transaction's writes and conflict ranges to the
// database. A transaction with no writes and no write conflict ranges
// commits at once with committed version -1.
func (tr *Transaction) Commit(c *flow.Ctx) error {
	_, err := flow.Await(c, tr.commit())
	return err
}

// commit is Commit made of callbacks: it needs no actor of its own, so
// that a commit through the Go API costs no coroutine. It is ready once the
// outcome is known (after settling an unknown result) or the transaction
// is aborted.
func (tr *Transaction) commit() flow.Future[struct{}] {
	if err := tr.usable(); err != nil {
		return flow.Failed[struct{}](err)
	}
	if len(tr.mutations) == 0 && len(tr.writeRanges) == 0 {
		tr.committed = -1
		tr.stamp.Fail(kv.ErrVersionstampInvalid)
		return tr.startWatches()
	}
	if size := tr.ApproximateSize(); size > tr.opts.SizeLimit {
		return flow.Failed[struct{}](fmt.Errorf("transaction of %d bytes over the limit of %d: %w", size, tr.opts.SizeLimit, kv.ErrTransactionTooLarge))
	}
	tr.committing = true
	done := flow.NewPromise[struct{}]()
	attempt := tr.stamp // a Cancel or Reset replaces it
	rv := tr.readVersionFuture()
	flow.Unless(rv, tr.abort.Future()).OnReady(func(v kv.Version, err error) {
		if tr.stamp != attempt {
			done.Fail(cmp.Or[error](err, kv.ErrTransactionCancelled))
			return
		}
		if err != nil {
			tr.committing = false
			tr.forgetReadVersion(rv)
			done.Fail(err)
			return
		}
		tr.send(v, done)
	})
	return done.Future()
}

// send commits the attempt at read version rv and settles done with the
// outcome.
func (tr *Transaction) send(rv kv.Version, done flow.Promise[struct{}]) {
	req := commitRequest{
		ReadVersion: rv, ReadConflicts: tr.readRanges, WriteConflicts: tr.writeRanges,
		Mutations: tr.mutations, LockAware: tr.opts.LockAware,
	}
	var fence fence
	if !tr.opts.CausalWriteRisky {
		fence = tr.prepareFence(&req)
	}
	attempt := tr.stamp
	abort := tr.abort.Future()
	flow.Unless(tr.db.commit(req, abort), abort).OnReady(func(r commitResult, err error) {
		if tr.stamp != attempt {
			done.Fail(cmp.Or[error](err, kv.ErrTransactionCancelled))
			return
		}
		tr.committing = false
		if err != nil {
			tr.commitFailed(err, fence, done)
			return
		}
		tr.committed = r.version
		var stamp [10]byte
		binary.BigEndian.PutUint64(stamp[:8], uint64(r.version))
		binary.BigEndian.PutUint16(stamp[8:], r.index)
		tr.stamp.Send(stamp)
		tr.startWatches().OnReady(func(struct{}, error) { done.Send(struct{}{}) })
	})
}

// commitFailed fails the attempt's versionstamp, its watches and done with
// err, first settling an unknown result (which takes an actor).
func (tr *Transaction) commitFailed(err error, f fence, done flow.Promise[struct{}]) {
	attempt := tr.stamp
	fail := func() {
		if tr.stamp != attempt { // reset while settling: that failed them
			done.Fail(err)
			return
		}
		tr.stamp.Fail(err)
		for _, w := range tr.watches {
			w.fail(err)
		}
		tr.watches = nil
		done.Fail(err)
	}
	if !errors.Is(err, kv.ErrCommitUnknownResult) || tr.opts.CausalWriteRisky {
		fail()
		return
	}
	tr.env.Spawn("SettleUnknownCommit", func(c *flow.Ctx) error {
		tr.settleUnknownCommit(c, f)
		fail()
		return nil
	})
}

// OnError decides whether err allows the transaction to be retried, as
// FDB's onError: for a retryable error it waits the backoff, resets the
// transaction (keeping its options, retry count and timeout) and returns
// nil; otherwise it returns err.
func (tr *Transaction) OnError(c *flow.Ctx, err error) error {
	if tr.abort.IsSet() {
		return tr.abort.Future().Err()
	}
	delay, ok := tr.retryDelay(err)
	if !ok {
		return err
	}
	if tr.opts.RetryLimit >= 0 && tr.retries >= tr.opts.RetryLimit {
		return err
	}
	tr.retries++
	tr.resetAttempt(err)
	abort := tr.abort.Future()
	if _, serr := flow.Select(c, c.Delay(delay), abort); serr != nil {
		return serr
	}
	if abort.IsReady() {
		return abort.Err()
	}
	return nil
}

// retryDelay classifies err as FDB's onError does and returns how long to
// wait before retrying, advancing the backoff.
func (tr *Transaction) retryDelay(err error) (time.Duration, bool) {
	maxDelay := tr.opts.MaxRetryDelay
	switch {
	case errors.Is(err, kv.ErrTransactionTooOld), errors.Is(err, kv.ErrFutureVersion):
		return min(futureVersionDelay, maxDelay), true
	case errors.Is(err, kv.ErrProxyMemoryLimitExceeded):
		return tr.nextBackoff(resourceMaxBackoff), true
	case errors.Is(err, kv.ErrNotCommitted), errors.Is(err, kv.ErrCommitUnknownResult),
		errors.Is(err, kv.ErrDatabaseLocked), errors.Is(err, kv.ErrProcessBehind),
		errors.Is(err, kv.ErrBatchTransactionThrottled), errors.Is(err, kv.ErrTagThrottled),
		errors.Is(err, kv.ErrClusterVersionChanged):
		return tr.nextBackoff(maxDelay), true
	}
	return 0, false
}

// nextBackoff returns the current backoff (capped) times a random factor
// in [0, 1) and doubles the backoff for next time.
func (tr *Transaction) nextBackoff(cap time.Duration) time.Duration {
	b := min(tr.backoff, cap)
	tr.backoff = min(tr.backoff*2, cap)
	return time.Duration(float64(b) * tr.env.Rand().Float64())
}

// keyLimit is the size limit of key k.
func keyLimit(k []byte) int {
	if bytes.HasPrefix(k, kv.SystemPrefix) {
		return kv.MaxSystemKeySize
	}
	return kv.MaxKeySize
}

// maxReadKey is the end of what the transaction may read.
func (tr *Transaction) maxReadKey() []byte {
	if tr.opts.AccessSystemKeys || tr.opts.ReadSystemKeys {
		return kv.SpecialPrefix
	}
	return kv.SystemPrefix
}

// maxWriteKey is the end of what the transaction may write.
func (tr *Transaction) maxWriteKey() []byte {
	if tr.opts.AccessSystemKeys {
		return kv.SpecialPrefix
	}
	return kv.SystemPrefix
}
