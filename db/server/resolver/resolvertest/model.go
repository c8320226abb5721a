package resolvertest

import (
	"bytes"
	"fmt"
	"math/rand/v2"

	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/wire"
)

// model is a brute-force resolver: every write it ever accepted, scanned in
// full, with the owned range applied to each intersection.
type model struct {
	owned kv.KeyRange
	// initial is the resolver's first version: reads before it are too
	// old, since a resolver of a new generation knows no earlier write.
	initial           kv.Version
	writes            []write
	conflicts, tooOld uint64
}

type write struct {
	r kv.KeyRange
	v kv.Version
}

// meets reports whether a, b and the owned range share a key.
func (m *model) meets(a, b kv.KeyRange) bool {
	begin := maxKey(maxKey(a.Begin, b.Begin), m.owned.Begin)
	end := minKey(a.End, b.End)
	if m.owned.End != nil {
		end = minKey(end, m.owned.End)
	}
	return bytes.Compare(begin, end) < 0
}

func maxKey(a, b []byte) []byte {
	if bytes.Compare(a, b) > 0 {
		return a
	}
	return b
}

func minKey(a, b []byte) []byte {
	if bytes.Compare(a, b) < 0 {
		return a
	}
	return b
}

func wireRange(r *wire.KeyRange) kv.KeyRange { return kv.KeyRange{Begin: r.Begin, End: r.End} }

func (m *model) resolve(req *wire.ResolveTransactionBatchRequest) *wire.ResolveTransactionBatchReply {
	v := kv.Version(req.Version)
	oldest := max(m.initial, v-kv.MVCCWindow)
	all := kv.KeyRange{Begin: nil, End: []byte{0xff, 0xff}}
	rep := &wire.ResolveTransactionBatchReply{}
	for _, tx := range req.Transactions {
		rv := kv.Version(tx.ReadVersion)
		readsOwned := false
		var bad []uint32
		for j, r := range tx.ReadConflictRanges {
			readsOwned = readsOwned || m.meets(wireRange(r), all)
			for _, w := range m.writes {
				if w.v > rv && m.meets(wireRange(r), w.r) {
					bad = append(bad, uint32(j))
					break
				}
			}
		}
		cr := &wire.ConflictingRanges{}
		switch {
		case rv < oldest && readsOwned:
			rep.Committed = append(rep.Committed, 2)
			m.tooOld++
		case bad != nil:
			rep.Committed = append(rep.Committed, 0)
			m.conflicts++
			if tx.ReportConflictingKeys {
				cr.Indexes = bad
			}
		default:
			rep.Committed = append(rep.Committed, 1)
			for _, w := range tx.WriteConflictRanges {
				m.writes = append(m.writes, write{wireRange(w), v})
			}
		}
		rep.Conflicting = append(rep.Conflicting, cr)
	}
	return rep
}

// randomKey draws from five letters, so that ranges of different
// transactions overlap often, and the owned range [b, d) cuts through them.
func randomKey(rng *rand.Rand) []byte {
	k := []byte{"abcde"[rng.IntN(5)]}
	if rng.IntN(2) == 0 {
		k = append(k, "abcde"[rng.IntN(5)])
	}
	return k
}

func randomRange(rng *rand.Rand) *wire.KeyRange {
	a, b := randomKey(rng), randomKey(rng)
	switch {
	case rng.IntN(3) == 0:
		return &wire.KeyRange{Begin: a, End: kv.KeyAfter(a)}
	case bytes.Compare(a, b) > 0:
		return &wire.KeyRange{Begin: b, End: a}
	default:
		return &wire.KeyRange{Begin: a, End: b} // possibly empty
	}
}

// randomChain builds n batches chained from initial. Versions advance by up
// to 2 s, so the 5 s window covers a few batches and older read versions
// are too old.
func randomChain(rng *rand.Rand, n int, initial kv.Version) []*wire.ResolveTransactionBatchRequest {
	var out []*wire.ResolveTransactionBatchRequest
	prev := initial
	for i := range n {
		v := prev + 1 + kv.Version(rng.Int64N(int64(2*kv.VersionsPerSecond)))
		req := &wire.ResolveTransactionBatchRequest{PrevVersion: int64(prev), Version: int64(v), ProxyId: fmt.Sprint("proxy", i%2)}
		for range rng.IntN(6) {
			tx := &wire.ResolverTransaction{
				ReadVersion:           max(0, int64(prev)-rng.Int64N(int64(7*kv.VersionsPerSecond))),
				ReportConflictingKeys: rng.IntN(2) == 0,
			}
			for range rng.IntN(4) {
				tx.ReadConflictRanges = append(tx.ReadConflictRanges, randomRange(rng))
			}
			for range rng.IntN(3) {
				tx.WriteConflictRanges = append(tx.WriteConflictRanges, randomRange(rng))
			}
			req.Transactions = append(req.Transactions, tx)
		}
		out = append(out, req)
		prev = v
	}
	return out
}
