package resolver

import (
	"fmt"

	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/wire"
)

// stateKeepVersions is how long state transactions are kept for proxies
// that have not yet received them: a proxy that sends no batch for longer
// has missed some and gets errStateForgotten, which ends the generation
// (a recovery gives every proxy the whole state again).
const stateKeepVersions = 10 * kv.MVCCWindow

// errStateForgotten refuses a batch of a proxy whose last received state
// transaction is older than the ones the resolver still keeps.
var errStateForgotten = fmt.Errorf("resolver: state transactions the proxy has not received were forgotten: %w", kv.ErrCommitUnknownResult)

// stateLog keeps the transactions that wrote the commit proxies' state
// (the shard map and the lock), so that each proxy applies every other
// proxy's in version order before it tags its own batch: FoundationDB's
// txnStateStore broadcast through the resolvers. Each proxy runs its
// batches through every resolver in version order, so when batch v is
// resolved, every state transaction before v is known here.
type stateLog struct {
	entries []stateEntry
	// forgotten is the newest version whose entries were dropped.
	forgotten kv.Version
}

type stateEntry struct {
	proxy string
	txn   *wire.StateTransaction
}

// since returns the state transactions of proxies other than proxy with
// versions in (after, before), oldest first.
func (l *stateLog) since(proxy string, after, before kv.Version) ([]*wire.StateTransaction, error) {
	if after < l.forgotten {
		return nil, errStateForgotten
	}
	var out []*wire.StateTransaction
	for _, e := range l.entries {
		v := kv.Version(e.txn.GetVersion())
		if v > after && v < before && e.proxy != proxy {
			out = append(out, e.txn)
		}
	}
	return out, nil
}

// record keeps the batch's state transactions with this resolver's
// verdicts, and drops those older than stateKeepVersions.
func (l *stateLog) record(req *wire.ResolveTransactionBatchRequest, verdicts []uint32) {
	for i, tx := range req.GetTransactions() {
		if len(tx.GetStateMutations()) == 0 {
			continue
		}
		l.entries = append(l.entries, stateEntry{proxy: req.GetProxyId(), txn: &wire.StateTransaction{
			Version: req.GetVersion(), Index: uint32(i), Committed: verdicts[i],
			LockAware: tx.GetLockAware(), Mutations: tx.GetStateMutations(),
		}})
	}
	horizon := kv.Version(req.GetVersion()) - stateKeepVersions
	drop := 0
	for drop < len(l.entries) && kv.Version(l.entries[drop].txn.GetVersion()) < horizon {
		l.forgotten = kv.Version(l.entries[drop].txn.GetVersion())
		drop++
	}
	if drop > 0 {
		clear(l.entries[:drop])
		l.entries = l.entries[drop:]
	}
}
