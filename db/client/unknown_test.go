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

// After commit_unknown_result the client commits a transaction that reads
// and writes a key the original both read and wrote — a made-up
// \xff/SC/ key for a blind write, or a key it read and wrote — before
// returning the error, so the original cannot commit after it (FDB's
// commitDummyTransaction).
func TestUnknownResultIsSettledBeforeReturning(t *testing.T) {
	for _, tc := range []struct {
		name string
		read bool
	}{{"blind write", false}, {"read-modify-write", true}} {
		t.Run(tc.name, func(t *testing.T) {
			runMem(t, func(c *flow.Ctx, m *memStore) error {
				tr := m.newTr()
				if tc.read {
					if _, err := tr.Get(c, []byte("k")); err != nil {
						return err
					}
				}
				tr.Set([]byte("k"), []byte("v"))
				m.failCommits = []error{kv.ErrCommitUnknownResult, kv.ErrNotCommitted}
				if err := tr.Commit(c); !errors.Is(err, kv.ErrCommitUnknownResult) {
					t.Fatalf("commit = %v, want commit_unknown_result", err)
				}
				// The original, then the settling transaction twice (its
				// first try failed with not_committed and was retried).
				if len(m.requests) != 3 {
					t.Fatalf("%d commit requests, want 3", len(m.requests))
				}
				orig, settle := m.requests[0], m.requests[2]
				self := settle.ReadConflicts[0]
				if len(settle.ReadConflicts) != 1 || len(settle.WriteConflicts) != 1 || !hasRange(settle.WriteConflicts, self) {
					t.Fatalf("settling transaction conflicts on %v / %v, want one range in both", settle.ReadConflicts, settle.WriteConflicts)
				}
				if len(settle.Mutations) != 0 || !settle.LockAware {
					t.Errorf("settling transaction has %d mutations, lock aware %v", len(settle.Mutations), settle.LockAware)
				}
				if !hasRange(orig.ReadConflicts, self) || !hasRange(orig.WriteConflicts, self) {
					t.Errorf("the settled range %v is not in the original's read and write conflicts (%v / %v)",
						self, orig.ReadConflicts, orig.WriteConflicts)
				}
				if want := tc.read; bytes.Equal(self.Begin, []byte("k")) != want {
					t.Errorf("settled on %s; a key read and written is used when there is one (read %v)", kv.Printable(self.Begin), tc.read)
				}
				if !tc.read && !bytes.HasPrefix(self.Begin, selfConflictPrefix) {
					t.Errorf("a blind write settled on %s, want a key under \\xff/SC/", kv.Printable(self.Begin))
				}
				if len(tr.readRanges) != map[bool]int{false: 0, true: 1}[tc.read] {
					t.Errorf("the self-conflict range leaked into the transaction's own read ranges: %v", tr.readRanges)
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
