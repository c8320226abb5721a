package commitproxy_test

import (
	"errors"
	"testing"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/server/commitproxy"
	"github.com/strata-db/strata/db/wire"
)

var lockUID = []byte("0123456789abcdef")

func lockAware(req *wire.CommitTransactionRequest) *wire.CommitTransactionRequest {
	req.LockAware = true
	return req
}

func clearLock(begin, end []byte) *wire.CommitTransactionRequest {
	return &wire.CommitTransactionRequest{
		WriteConflictRanges: []*wire.KeyRange{{Begin: begin, End: end}},
		Mutations:           []*wire.Mutation{{Type: uint32(kv.ClearRange), Key: begin, Param: end}},
	}
}

// commitErr commits req and returns its error (nil if it committed).
func commitErr(c *flow.Ctx, cl *cluster, req *wire.CommitTransactionRequest) error {
	rv, err := cl.readVersion(c)
	if err != nil {
		return err
	}
	req.ReadVersion = rv
	_, err = flow.Await(c, cl.commit(req))
	return err
}

// A generation that starts locked refuses transactions that are not
// lock_aware with database_locked, and commits lock_aware ones.
func TestLockedAtStart(t *testing.T) {
	cl := newCluster(t, 31, time.Millisecond, func(cfg *commitproxy.Config) { cfg.Locked = lockUID })
	cl.run(t, time.Minute, func(c *flow.Ctx) error {
		if err := commitErr(c, cl, set("a", "1")); !errors.Is(err, kv.ErrDatabaseLocked) {
			t.Errorf("plain commit while locked: %v, want database_locked", err)
		}
		if err := commitErr(c, cl, lockAware(set("a", "1"))); err != nil {
			t.Errorf("lock_aware commit while locked: %v", err)
		}
		return nil
	})
}

// The proxy follows committed writes of \xff/dbLocked: a set locks, a
// clear (or a clear-range over it) unlocks; only lock_aware transactions
// may write it, and not with atomic operations.
func TestLockFollowsCommittedMutations(t *testing.T) {
	cl := newCluster(t, 32, time.Millisecond, nil)
	lockKey := string(kv.DBLockedKey)
	cl.run(t, time.Minute, func(c *flow.Ctx) error {
		steps := []struct {
			name string
			req  *wire.CommitTransactionRequest
			want error
		}{
			{"plain write while unlocked", set("a", "1"), nil},
			{"lock without lock_aware", set(lockKey, string(lockUID)), kv.ErrInvalidMutationType},
			{"lock", lockAware(set(lockKey, string(lockUID))), nil},
			{"plain write while locked", set("a", "2"), kv.ErrDatabaseLocked},
			// Refused at intake, where the lock state may be stale (another
			// proxy's lock): a write of the lock needs lock_aware always.
			{"unlock without lock_aware", clearLock(kv.DBLockedKey, kv.KeyAfter(kv.DBLockedKey)), kv.ErrInvalidMutationType},
			{"lock_aware write while locked", lockAware(set("b", "1")), nil},
			{"unlock", lockAware(clearLock(kv.DBLockedKey, kv.KeyAfter(kv.DBLockedKey))), nil},
			{"plain write after unlock", set("a", "3"), nil},
			{"relock", lockAware(set(lockKey, string(lockUID))), nil},
			{"plain write while relocked", set("a", "4"), kv.ErrDatabaseLocked},
			{"unlock by a wide clear", lockAware(clearLock([]byte("\xff/"), []byte("\xff/z"))), nil},
			{"plain write after the wide clear", set("a", "5"), nil},
			{"atomic op on the lock", lockAware(&wire.CommitTransactionRequest{
				Mutations: []*wire.Mutation{{Type: uint32(kv.AddValue), Key: kv.DBLockedKey, Param: []byte{1}}},
			}), kv.ErrInvalidMutationType},
		}
		for _, s := range steps {
			err := commitErr(c, cl, s.req)
			if (s.want == nil) != (err == nil) || (s.want != nil && !errors.Is(err, s.want)) {
				t.Errorf("%s: %v, want %v", s.name, err, s.want)
			}
		}
		return nil
	})
}

// A lock takes effect inside its batch: a transaction batched after the
// locking one is refused, one before it commits.
func TestLockWithinABatch(t *testing.T) {
	cl := newCluster(t, 33, time.Millisecond, func(cfg *commitproxy.Config) {
		cfg.IdleBatchWindow, cfg.BatchWindow, cfg.IdleCommitInterval = 50*time.Millisecond, 50*time.Millisecond, -1
	})
	cl.run(t, time.Minute, func(c *flow.Ctx) error {
		rv, err := cl.readVersion(c)
		if err != nil {
			return err
		}
		reqs := []*wire.CommitTransactionRequest{set("before", "1"), lockAware(set(string(kv.DBLockedKey), string(lockUID))), set("after", "1")}
		var fs []flow.Future[*wire.CommitTransactionReply]
		for _, r := range reqs {
			r.ReadVersion = rv
			fs = append(fs, cl.commit(r))
		}
		var versions []int64
		for i, f := range fs {
			rep, err := flow.Await(c, f)
			switch {
			case i < 2 && err != nil:
				t.Errorf("transaction %d: %v, want committed", i, err)
			case i == 2 && !errors.Is(err, kv.ErrDatabaseLocked):
				t.Errorf("transaction after the lock in its batch: %v, want database_locked", err)
			}
			if err == nil {
				versions = append(versions, rep.GetVersion())
			}
		}
		if len(versions) == 2 && versions[0] != versions[1] {
			t.Errorf("the transactions were not batched together: versions %v", versions)
		}
		return nil
	})
}
