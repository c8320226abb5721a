package commitproxy

import (
	"bytes"
	"cmp"
	"slices"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/wire"
)

// The proxies' state — the shard map (\xff/keyServers/) and the lock
// (\xff/dbLocked) — must be the same on every commit proxy at every
// version, or a proxy would tag mutations by an old map or let a
// transaction through a lock another proxy committed. As in FoundationDB,
// each proxy sends the state mutations of its batch's transactions to the
// resolvers, which hand them to the other proxies with their next batch;
// every proxy applies them in version order before tagging its own, with
// the same checks the committing proxy made (lock, versionstamps), so all
// reach the same state.

// stateMutations returns the mutations of muts that change the proxies'
// state, nil when there are none.
func stateMutations(muts []*wire.Mutation) []*wire.Mutation {
	var out []*wire.Mutation
	for _, mu := range muts {
		if touchesState(mu) {
			out = append(out, mu)
		}
	}
	return out
}

// touchesState reports whether mu writes the shard map or the lock.
func touchesState(mu *wire.Mutation) bool {
	if touchesLock(mu) {
		return true
	}
	if kv.MutationType(mu.GetType()) == kv.ClearRange {
		r := kv.KeyRange{Begin: mu.GetKey(), End: mu.GetParam()}
		return !r.Intersect(kv.PrefixRange(KeyServersPrefix)).Empty()
	}
	return bytes.HasPrefix(mu.GetKey(), KeyServersPrefix)
}

// combineState merges the resolvers' state transactions: one committed
// only if every resolver that reported it says so. The result is in
// version and batch order.
func combineState(replies []*wire.ResolveTransactionBatchReply) []*wire.StateTransaction {
	type key struct {
		version int64
		index   uint32
	}
	byKey := map[key]*wire.StateTransaction{}
	for _, rep := range replies {
		for _, st := range rep.GetStateTransactions() {
			k := key{st.GetVersion(), st.GetIndex()}
			if have, ok := byKey[k]; ok {
				if st.GetCommitted() != verdictCommitted {
					have.Committed = st.GetCommitted()
				}
				continue
			}
			byKey[k] = &wire.StateTransaction{Version: st.GetVersion(), Index: st.GetIndex(), Committed: st.GetCommitted(),
				LockAware: st.GetLockAware(), Mutations: st.GetMutations()}
		}
	}
	out := make([]*wire.StateTransaction, 0, len(byKey))
	for _, st := range byKey {
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b *wire.StateTransaction) int {
		if c := cmp.Compare(a.GetVersion(), b.GetVersion()); c != 0 {
			return c
		}
		return cmp.Compare(a.GetIndex(), b.GetIndex())
	})
	return out
}

// applyOthersState applies the other proxies' state transactions this
// proxy has not applied yet, refusing those their proxy refused.
func (p *Proxy) applyOthersState(sts []*wire.StateTransaction) {
	for _, st := range sts {
		v := kv.Version(st.GetVersion())
		if v <= p.stateApplied {
			continue // delivered again with a later batch
		}
		p.stateApplied = v
		if st.GetCommitted() != verdictCommitted {
			continue
		}
		if p.lock.refuses(&wire.CommitTransactionRequest{LockAware: st.GetLockAware()}) != nil {
			continue
		}
		stamp := Versionstamp(v, uint16(st.GetIndex()))
		muts := make([]*wire.Mutation, 0, len(st.GetMutations()))
		for _, mu := range st.GetMutations() {
			out, err := substituteVersionstamp(mu, stamp)
			if err != nil {
				muts = nil // its proxy refused it too
				break
			}
			muts = append(muts, out)
		}
		for _, out := range muts {
			if touched, err := p.shards.apply(out); touched && err != nil {
				p.env.Trace(flow.SevWarnAlw, "CommitProxyBadKeyServers", flow.D("Key", kv.Printable(out.GetKey())), flow.D("Error", err.Error()))
			}
			p.lock.apply(out)
		}
	}
}
