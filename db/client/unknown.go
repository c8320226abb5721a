package client

import (
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
)

// fenceKeyPrefix starts the made-up keys a commit reads so that a later
// transaction can fence it off (FDB's self-conflict keys, \xff/SC/).
var fenceKeyPrefix = []byte("\xff/SC/")

// maxIntersectionChecks bounds the pairs of read and write conflict ranges
// compared to find a key the commit both read and wrote.
const maxIntersectionChecks = 64

// fence is what settleUnknownCommit's transaction reads and writes for one
// commit: it reads a key the commit wrote and writes a key the commit read.
type fence struct {
	read, write kv.KeyRange
}

// prepareFence makes sure a commit can be fenced off after an unknown
// result and returns the fence. The commit must read a key the fence
// writes (so that, resolved after the fence, it conflicts) and write a
// key the fence reads (so that, committed between the fence's read and
// commit versions, it makes the fence retry):
//
//   - a key the commit read and wrote, if a short search finds one, serves
//     as both (nothing is added);
//   - else the commit reads a random key under \xff/SC/, which the fence
//     writes, and the fence reads the commit's first written key. Only a
//     read range is added: the resolver checks it but keeps no write for
//     it, where FoundationDB's makeSelfConflicting adds the random key to
//     both sets (measured: single-key blind writes lost a fifth of their
//     throughput to the resolver that way);
//   - a commit with no write conflict range at all gets the random key in
//     both sets, as in FoundationDB.
func (tr *Transaction) prepareFence(req *commitRequest) fence {
	if len(req.ReadConflicts)*len(req.WriteConflicts) <= maxIntersectionChecks {
		for _, w := range req.WriteConflicts {
			for _, r := range req.ReadConflicts {
				if in := w.Intersect(r); !in.Empty() {
					k := kv.SingleKeyRange(in.Begin)
					return fence{read: k, write: k}
				}
			}
		}
	}
	x := kv.SingleKeyRange(tr.fenceKey())
	req.ReadConflicts = append(req.ReadConflicts[:len(req.ReadConflicts):len(req.ReadConflicts)], x)
	if len(req.WriteConflicts) > 0 {
		return fence{read: kv.SingleKeyRange(req.WriteConflicts[0].Begin), write: x}
	}
	req.WriteConflicts = []kv.KeyRange{x}
	return fence{read: x, write: x}
}

// fenceKey returns a random key under \xff/SC/.
func (tr *Transaction) fenceKey() []byte {
	key := make([]byte, len(fenceKeyPrefix), len(fenceKeyPrefix)+16)
	copy(key, fenceKeyPrefix)
	rng := tr.env.Rand()
	for range 2 {
		v := rng.Uint64()
		for i := range 8 {
			key = append(key, byte(v>>(8*i)))
		}
	}
	return key
}

// settleUnknownCommit makes sure a commit that ended in
// commit_unknown_result can no longer take effect later, as FDB's
// commitDummyTransaction does: it commits, retrying as OnError allows, a
// transaction that reads f.read and writes f.write. Once it commits, the
// original either committed below its read version (or it would have
// conflicted on f.read), so every read version obtained afterwards sees
// it, or never will: still unresolved, it read f.write before the fence's
// write and conflicts. The caller still returns commit_unknown_result; a
// retry that reads the database sees the outcome.
func (tr *Transaction) settleUnknownCommit(c *flow.Ctx, f fence) {
	if f.write.Empty() {
		return
	}
	opts := tr.opts
	opts.AccessSystemKeys, opts.LockAware, opts.CausalWriteRisky = true, true, true
	d := newTransaction(tr.env, tr.db, opts)
	for attempt := 0; ; attempt++ {
		c.Trace(flow.SevInfo, "CommitDummyTransaction", flow.D("Key", kv.Printable(f.write.Begin)), flow.D("Attempt", attempt))
		d.readRanges = append(d.readRanges, cloneRange(f.read))
		d.writeRanges = append(d.writeRanges, cloneRange(f.write))
		err := d.Commit(c)
		if err == nil {
			return
		}
		if d.OnError(c, err) != nil {
			return
		}
	}
}
