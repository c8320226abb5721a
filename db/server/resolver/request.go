package resolver

import (
	"bytes"
	"fmt"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/server/resolver/conflict"
	"github.com/strata-db/strata/db/wire"
)

// validate rejects a batch the resolver cannot judge. It runs before the
// batch joins the version chain, so a malformed batch changes nothing.
func validate(req *wire.ResolveTransactionBatchRequest) error {
	if req.PrevVersion < 0 || req.Version <= req.PrevVersion {
		return fmt.Errorf("resolver: batch versions (%d, %d) do not increase: %w",
			req.PrevVersion, req.Version, flow.ErrMalformedRequest)
	}
	for i, tx := range req.Transactions {
		if err := validateTxn(tx, kv.Version(req.Version)); err != nil {
			return fmt.Errorf("resolver: transaction %d of batch %d: %w", i, req.Version, err)
		}
	}
	return nil
}

func validateTxn(tx *wire.ResolverTransaction, version kv.Version) error {
	if tx == nil {
		return fmt.Errorf("missing transaction: %w", flow.ErrMalformedRequest)
	}
	// Every read version precedes the batch's: a transaction's own batch's
	// earlier writes must count as newer than what it read.
	if rv := kv.Version(tx.ReadVersion); rv < 0 || rv >= version {
		return fmt.Errorf("read version %d outside [0, %d): %w", rv, version, flow.ErrMalformedRequest)
	}
	for _, ranges := range [][]*wire.KeyRange{tx.ReadConflictRanges, tx.WriteConflictRanges} {
		for _, r := range ranges {
			if err := validateRange(r); err != nil {
				return err
			}
		}
	}
	return nil
}

func validateRange(r *wire.KeyRange) error {
	if r == nil {
		return fmt.Errorf("missing key range: %w", flow.ErrMalformedRequest)
	}
	for _, k := range [][]byte{r.Begin, r.End} {
		if len(k) > maxConflictKeySize(k) {
			return fmt.Errorf("conflict range key of %d bytes: %w", len(k), kv.ErrKeyTooLarge)
		}
	}
	if bytes.Compare(r.Begin, r.End) > 0 {
		return fmt.Errorf("conflict range %v: %w", kv.KeyRange{Begin: r.Begin, End: r.End}, kv.ErrInvertedRange)
	}
	return nil
}

// maxConflictKeySize is the longest a conflict range's key may be: the key
// limit, plus one byte because a range of one key k ends at k+\x00.
func maxConflictKeySize(k []byte) int {
	if bytes.HasPrefix(k, kv.SystemPrefix) {
		return kv.MaxSystemKeySize + 1
	}
	return kv.MaxKeySize + 1
}

// clipped is a batch in the conflict set's terms, restricted to the keys
// this resolver owns. readIndex maps each transaction's clipped read
// ranges back to their indexes in the request.
type clipped struct {
	txns      []conflict.Txn
	readIndex [][]int
}

// clip converts a validated batch, dropping the parts of ranges outside
// owned and the ranges left empty.
func clip(req *wire.ResolveTransactionBatchRequest, owned kv.KeyRange) clipped {
	out := clipped{txns: make([]conflict.Txn, len(req.Transactions)), readIndex: make([][]int, len(req.Transactions))}
	for i, tx := range req.Transactions {
		t := conflict.Txn{ReadVersion: kv.Version(tx.ReadVersion)}
		for j, r := range tx.ReadConflictRanges {
			if c, ok := clipRange(r, owned); ok {
				t.ReadRanges = append(t.ReadRanges, c)
				out.readIndex[i] = append(out.readIndex[i], j)
			}
		}
		for _, r := range tx.WriteConflictRanges {
			if c, ok := clipRange(r, owned); ok {
				t.WriteRanges = append(t.WriteRanges, c)
			}
		}
		out.txns[i] = t
	}
	return out
}

// clipRange returns r ∩ owned, and false if it is empty. An owned range
// with a nil End extends to the end of the keyspace.
func clipRange(r *wire.KeyRange, owned kv.KeyRange) (kv.KeyRange, bool) {
	c := kv.KeyRange{Begin: r.Begin, End: r.End}
	if bytes.Compare(c.Begin, owned.Begin) < 0 {
		c.Begin = owned.Begin
	}
	if owned.End != nil && bytes.Compare(c.End, owned.End) > 0 {
		c.End = owned.End
	}
	return c, !c.Empty()
}

// reply builds the wire reply from the results, reporting conflicting read
// ranges (as request indexes) to the transactions that asked for them.
func (b clipped) reply(req *wire.ResolveTransactionBatchRequest, results []conflict.Result) *wire.ResolveTransactionBatchReply {
	rep := &wire.ResolveTransactionBatchReply{
		Committed:   make([]uint32, len(results)),
		Conflicting: make([]*wire.ConflictingRanges, len(results)),
	}
	for i, res := range results {
		rep.Committed[i] = uint32(res.Outcome)
		cr := &wire.ConflictingRanges{}
		if req.Transactions[i].ReportConflictingKeys {
			for _, j := range res.ConflictingReads {
				cr.Indexes = append(cr.Indexes, uint32(b.readIndex[i][j]))
			}
		}
		rep.Conflicting[i] = cr
	}
	return rep
}
