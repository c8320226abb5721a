package client

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
)

func hasRange(rs []kv.KeyRange, r kv.KeyRange) bool {
	return slices.ContainsFunc(rs, func(x kv.KeyRange) bool {
		return bytes.Equal(x.Begin, r.Begin) && bytes.Equal(x.End, r.End)
	})
}

// After commit_unknown_result the client commits a fencing transaction
// before returning the error, so the original cannot commit after it
// (FDB's commitDummyTransaction): the fence reads a key the original wrote
// and writes a key the original read.
func TestUnknownResultIsSettledBeforeReturning(t *testing.T) {
	for _, tc := range []struct {
		name string
		// read: the original reads k; noConflict: its write adds no
		// write conflict range.
		read, noConflict bool
	}{{name: "blind write"}, {name: "read-modify-write", read: true}, {name: "no write conflict range", noConflict: true}} {
		t.Run(tc.name, func(t *testing.T) {
			runMem(t, func(c *flow.Ctx, m *memStore) error {
				tr := m.newTr()
				if tc.read {
					if _, err := tr.Get(c, []byte("k")); err != nil {
						return err
					}
				}
				if tc.noConflict {
					tr.Options().SetNextWriteNoWriteConflictRange()
				}
				tr.Set([]byte("k"), []byte("v"))
				m.failCommits = []error{kv.ErrCommitUnknownResult, kv.ErrNotCommitted}
				if err := tr.Commit(c); !errors.Is(err, kv.ErrCommitUnknownResult) {
					t.Fatalf("commit = %v, want commit_unknown_result", err)
				}
				// The original, then the fence twice (its first try failed
				// with not_committed and was retried).
				if len(m.requests) != 3 {
					t.Fatalf("%d commit requests, want 3", len(m.requests))
				}
				orig, fence := m.requests[0], m.requests[2]
				if len(fence.ReadConflicts) != 1 || len(fence.WriteConflicts) != 1 || len(fence.Mutations) != 0 || !fence.LockAware {
					t.Fatalf("fence: reads %v, writes %v, %d mutations, lock aware %v; want one read and one write range, no mutations, lock aware",
						fence.ReadConflicts, fence.WriteConflicts, len(fence.Mutations), fence.LockAware)
				}
				fr, fw := fence.ReadConflicts[0], fence.WriteConflicts[0]
				if !hasRange(orig.ReadConflicts, fw) {
					t.Errorf("the fence writes %v, which the original did not read (%v)", fw, orig.ReadConflicts)
				}
				if !slices.ContainsFunc(orig.WriteConflicts, func(w kv.KeyRange) bool { return !w.Intersect(fr).Empty() }) {
					t.Errorf("the fence reads %v, which the original did not write (%v)", fr, orig.WriteConflicts)
				}
				switch {
				case tc.read:
					if !bytes.Equal(fw.Begin, []byte("k")) || len(orig.ReadConflicts) != 1 || len(orig.WriteConflicts) != 1 {
						t.Errorf("read-modify-write: fence on %s with %v / %v; want k, nothing added", kv.Printable(fw.Begin), orig.ReadConflicts, orig.WriteConflicts)
					}
				case tc.noConflict:
					if !bytes.HasPrefix(fw.Begin, fenceKeyPrefix) || !hasRange(orig.WriteConflicts, fw) {
						t.Errorf("without a write conflict range the original should read and write a key under \\xff/SC/: %v / %v", orig.ReadConflicts, orig.WriteConflicts)
					}
				default:
					if !bytes.HasPrefix(fw.Begin, fenceKeyPrefix) || len(orig.WriteConflicts) != 1 {
						t.Errorf("blind write: fence writes %s, original writes %v; want a key under \\xff/SC/ the original only reads", kv.Printable(fw.Begin), orig.WriteConflicts)
					}
				}
				if len(tr.readRanges) != map[bool]int{false: 0, true: 1}[tc.read] {
					t.Errorf("the fence key leaked into the transaction's own read ranges: %v", tr.readRanges)
				}
				return nil
			})
		})
	}
}

// With causal_write_risky a commit is not made self-conflicting and an
// unknown result is returned at once.
func TestCausalWriteRiskySkipsSettling(t *testing.T) {
	runMem(t, func(c *flow.Ctx, m *memStore) error {
		tr := m.newTr()
		tr.Options().SetCausalWriteRisky()
		tr.Set([]byte("k"), []byte("v"))
		m.failCommits = []error{kv.ErrCommitUnknownResult}
		if err := tr.Commit(c); !errors.Is(err, kv.ErrCommitUnknownResult) {
			t.Fatalf("commit = %v, want commit_unknown_result", err)
		}
		if len(m.requests) != 1 || len(m.requests[0].ReadConflicts) != 0 {
			t.Fatalf("%d requests, first with read conflicts %v; want one with none", len(m.requests), m.requests[0].ReadConflicts)
		}
		return nil
	})
}
