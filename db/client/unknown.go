package client

import (
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
)

// selfConflictPrefix starts the keys of the conflict ranges a commit adds
// when it reads nothing it writes (FDB's \xff/SC/).
var selfConflictPrefix = []byte("\xff/SC/")

// maxIntersectionChecks bounds the pairs of read and write conflict ranges
// compared to find one key in both; past it a self-conflict key is added
// instead, which costs the resolver two small ranges.
const maxIntersectionChecks = 64

// makeSelfConflicting makes sure the commit both reads and writes some key
// and returns a single-key range of it: a key it read and wrote if a short
// search finds one, else a random key under \xff/SC/ added to both sets.
// A transaction that commits later than another that reads and writes
// that key then conflicts, which is what settleUnknownCommit relies on
// (FDB's makeSelfConflicting).
func (tr *Transaction) makeSelfConflicting(req *commitRequest) kv.KeyRange {
	if len(req.ReadConflicts)*len(req.WriteConflicts) <= maxIntersectionChecks {
		for _, w := range req.WriteConflicts {
			for _, r := range req.ReadConflicts {
				if in := w.Intersect(r); !in.Empty() {
					return kv.SingleKeyRange(in.Begin)
				}
			}
		}
	}
	key := make([]byte, len(selfConflictPrefix), len(selfConflictPrefix)+16)
	copy(key, selfConflictPrefix)
	rng := tr.env.Rand()
	for range 2 {
		v := rng.Uint64()
		for i := range 8 {
			key = append(key, byte(v>>(8*i)))
		}
	}
	r := kv.SingleKeyRange(key)
	req.ReadConflicts = append(req.ReadConflicts[:len(req.ReadConflicts):len(req.ReadConflicts)], r)
	req.WriteConflicts = append(req.WriteConflicts[:len(req.WriteConflicts):len(req.WriteConflicts)], r)
	return r
}

// settleUnknownCommit makes sure a commit that ended in
// commit_unknown_result can no longer take effect later, as FDB's
// commitDummyTransaction does: it commits, retrying as OnError allows, a
// transaction that reads and writes the original's self-conflicting key.
// Once it commits, the original either committed below its read version,
// so every read version obtained afterwards sees it, or never will: still
// unresolved, it read that key before the settling write and conflicts.
// The caller still returns commit_unknown_result; a retry that reads the
// database sees the outcome.
func (tr *Transaction) settleUnknownCommit(c *flow.Ctx, self kv.KeyRange) {
	if len(self.Begin) == 0 && len(self.End) == 0 {
		return
	}
	opts := tr.opts
	opts.AccessSystemKeys, opts.LockAware, opts.CausalWriteRisky = true, true, true
	d := newTransaction(tr.env, tr.db, opts)
	for attempt := 0; ; attempt++ {
		c.Trace(flow.SevInfo, "CommitDummyTransaction", flow.D("Key", kv.Printable(self.Begin)), flow.D("Attempt", attempt))
		d.readRanges = append(d.readRanges, cloneRange(self))
		d.writeRanges = append(d.writeRanges, cloneRange(self))
		err := d.Commit(c)
		if err == nil {
			return
		}
		c.Trace(flow.SevInfo, "CommitDummyTransactionError", flow.D("Key", kv.Printable(self.Begin)),
			flow.D("Attempt", attempt), flow.D("Error", err.Error()))
		if d.OnError(c, err) != nil {
			return
		}
	}
}
