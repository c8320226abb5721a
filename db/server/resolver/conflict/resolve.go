package conflict

import "github.com/strata-db/strata/db/kv"

// Txn is what the resolver knows of a transaction: the version it read at
// and the key ranges it read and wrote.
type Txn struct {
	ReadVersion kv.Version
	ReadRanges  []kv.KeyRange
	WriteRanges []kv.KeyRange
}

// Outcome is a transaction's fate; the values are the wire codes of
// ResolveTransactionBatchReply.committed.
type Outcome uint8

const (
	// Conflict: a key it read was written after its read version.
	Conflict Outcome = 0
	// Committed: no conflict; its writes are now in the set.
	Committed Outcome = 1
	// TooOld: its read version is older than the window, so conflicts can
	// no longer be checked.
	TooOld Outcome = 2
)

func (o Outcome) String() string {
	switch o {
	case Conflict:
		return "conflict"
	case Committed:
		return "committed"
	case TooOld:
		return "too_old"
	}
	return "outcome(?)"
}

// Result is one transaction's outcome. ConflictingReads lists the indexes
// (into Txn.ReadRanges) of every read range that conflicted.
type Result struct {
	Outcome          Outcome
	ConflictingReads []int
}

// sweepPerWrite and sweepPerBatch size the merge work done after a batch:
// more boundaries are visited than the batch can add (two per write), so
// the sweep outruns the growth and the set stays within a constant factor
// of the boundaries the window's writes need.
const (
	sweepPerWrite = 3
	sweepPerBatch = 10
)

// Resolve decides a batch of transactions committing at commitVersion, in
// order. A transaction conflicts if a key it read was written after its
// read version: by a batch already resolved, or by an earlier transaction
// of this batch that committed (those writes carry commitVersion, above
// every read version of the batch, which must all be below commitVersion).
// A transaction that reads anything at a version below oldestVersion is
// too old; one that reads nothing cannot conflict and is never too old.
// The writes of committed transactions are added at commitVersion.
//
// Batches must come in increasing commitVersion order. oldestVersion never
// moves back: a smaller value than before is taken as the earlier one.
func (s *Set) Resolve(batch []Txn, commitVersion, oldestVersion kv.Version) []Result {
	s.raiseOldest(oldestVersion)
	results := make([]Result, len(batch))
	writes := 0
	for i, tx := range batch {
		results[i] = s.resolveOne(tx, commitVersion)
		if results[i].Outcome == Committed {
			writes += len(tx.WriteRanges)
		}
	}
	s.sweepSome(sweepPerWrite*writes + sweepPerBatch)
	return results
}

func (s *Set) resolveOne(tx Txn, commitVersion kv.Version) Result {
	if tx.ReadVersion < s.oldest && len(tx.ReadRanges) > 0 {
		return Result{Outcome: TooOld}
	}
	var conflicting []int
	for i, r := range tx.ReadRanges {
		if s.CheckRead(r, tx.ReadVersion) {
			conflicting = append(conflicting, i)
		}
	}
	if len(conflicting) > 0 {
		return Result{Outcome: Conflict, ConflictingReads: conflicting}
	}
	for _, w := range tx.WriteRanges {
		s.AddWrite(w, commitVersion)
	}
	return Result{Outcome: Committed}
}
