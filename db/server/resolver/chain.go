package resolver

import (
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/wire"
)

// versionChain is the version of the last resolved batch, with futures
// that become ready once it reaches a given version (FDB's NotifiedVersion).
type versionChain struct {
	version kv.Version
	waiting []chainWaiter
}

type chainWaiter struct {
	at   kv.Version
	done flow.Promise[struct{}]
}

// whenAtLeast returns a future that is ready once version >= v.
func (vc *versionChain) whenAtLeast(v kv.Version) flow.Future[struct{}] {
	if vc.version >= v {
		return flow.Ready(struct{}{})
	}
	p := flow.NewPromise[struct{}]()
	vc.waiting = append(vc.waiting, chainWaiter{at: v, done: p})
	return p.Future()
}

// advance records that the batch ending at v is resolved and wakes those
// waiting for it, in the order they started waiting.
func (vc *versionChain) advance(v kv.Version) {
	vc.version = v
	still := vc.waiting[:0]
	var ready []chainWaiter
	for _, w := range vc.waiting {
		if w.at <= v {
			ready = append(ready, w)
		} else {
			still = append(still, w)
		}
	}
	clear(vc.waiting[len(still):])
	vc.waiting = still
	for _, w := range ready {
		w.done.Send(struct{}{})
	}
}

// fail wakes every waiter with err.
func (vc *versionChain) fail(err error) {
	for _, w := range vc.waiting {
		w.done.Fail(err)
	}
	vc.waiting = nil
}

// recentReplies keeps the replies of recently resolved batches so that a
// retried batch gets the same answer. Replies are dropped once their batch
// is older than the MVCC window or more than limit are kept.
type recentReplies struct {
	limit   int
	order   []kv.Version // resolved versions, oldest first
	byVer   map[kv.Version]cachedReply
	evicted kv.Version // the newest version whose reply was dropped
}

type cachedReply struct {
	prev  kv.Version
	reply *wire.ResolveTransactionBatchReply
}

// newRecentReplies returns an empty cache for a chain starting after
// initial, whose batches (from before this resolver) count as forgotten.
func newRecentReplies(limit int, initial kv.Version) *recentReplies {
	return &recentReplies{limit: limit, byVer: map[kv.Version]cachedReply{}, evicted: initial}
}

func (rr *recentReplies) add(prev, v kv.Version, reply *wire.ResolveTransactionBatchReply) {
	rr.byVer[v] = cachedReply{prev: prev, reply: reply}
	rr.order = append(rr.order, v)
	for len(rr.order) > 0 && (len(rr.order) > rr.limit || rr.order[0] < v-kv.MVCCWindow) {
		rr.evicted = rr.order[0]
		delete(rr.byVer, rr.order[0])
		rr.order = rr.order[1:]
	}
}

func (rr *recentReplies) get(v kv.Version) (cachedReply, bool) {
	c, ok := rr.byVer[v]
	return c, ok
}
