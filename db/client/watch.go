package client

import (
	"bytes"
	"fmt"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
)

// Watch reports a change of one key's value relative to the transaction
// that created it. It starts when that transaction commits and outlives
// it; cancel it when no longer needed.
type Watch struct {
	key     []byte
	value   []byte
	present bool
	done    flow.Promise[struct{}]
	actor   *flow.Actor
	db      backend
	holds   bool // holds one of the database's watch slots
}

// Future is set once the key's value has changed, or failed with the
// creating transaction's commit error, transaction_cancelled if that
// transaction was reset, or operation_cancelled after Cancel.
func (w *Watch) Future() flow.Future[struct{}] { return w.done.Future() }

// Cancel stops the watch.
func (w *Watch) Cancel() {
	if w.actor != nil {
		w.actor.Cancel()
	}
	w.fail(flow.ErrOperationCancelled)
}

func (w *Watch) fail(err error) {
	w.done.Fail(err)
	w.release()
}

func (w *Watch) release() {
	if w.holds {
		w.holds = false
		w.db.releaseWatch()
	}
}

// Watch returns a watch on key's value as this transaction sees it. The
// watch fires after the transaction commits, once the database's value
// differs from it.
func (tr *Transaction) Watch(c *flow.Ctx, key []byte) *Watch {
	w := &Watch{key: bytes.Clone(key), done: flow.NewPromise[struct{}](), db: tr.db}
	if tr.opts.ReadYourWritesDisable {
		w.done.Fail(kv.ErrWatchesDisabled)
		return w
	}
	if err := tr.usable(); err != nil {
		w.done.Fail(err)
		return w
	}
	if len(key) > keyLimit(key) {
		w.done.Fail(fmt.Errorf("watch of a %d-byte key: %w", len(key), kv.ErrKeyTooLarge))
		return w
	}
	v, err := tr.get(c, key, true)
	if err != nil {
		w.done.Fail(err)
		return w
	}
	if !tr.db.acquireWatch() {
		w.done.Fail(kv.ErrTooManyWatches)
		return w
	}
	w.holds = true
	w.value, w.present = v, v != nil
	tr.watches = append(tr.watches, w)
	return w
}

// startWatches starts the transaction's watches after its commit, at the
// committed version (or the read version of a read-only transaction). The
// commit succeeded whatever happens to them: a watch that cannot start
// fails on its own.
func (tr *Transaction) startWatches() flow.Future[struct{}] {
	ws := tr.watches
	tr.watches = nil
	if len(ws) == 0 {
		return flow.Ready(struct{}{})
	}
	if tr.committed >= 0 {
		armWatches(tr.env, ws, tr.committed)
		return flow.Ready(struct{}{})
	}
	done := flow.NewPromise[struct{}]()
	rv := tr.readVersionFuture()
	flow.Unless(rv, tr.abort.Future()).OnReady(func(v kv.Version, err error) {
		if err != nil {
			tr.forgetReadVersion(rv)
			for _, w := range ws {
				w.fail(err)
			}
		} else {
			armWatches(tr.env, ws, v)
		}
		done.Send(struct{}{})
	})
	return done.Future()
}

// armWatches starts an actor for each watch of ws not already failed,
// waiting for a change after version v.
func armWatches(env *flow.Env, ws []*Watch, v kv.Version) {
	for _, w := range ws {
		if w.done.IsSet() {
			continue
		}
		w.actor = env.Spawn("Watch", func(c *flow.Ctx) error {
			_, err := w.db.watch(c, w.key, w.value, w.present, v)
			if err != nil {
				w.fail(err)
				return nil
			}
			w.done.Send(struct{}{})
			w.release()
			return nil
		})
	}
}
