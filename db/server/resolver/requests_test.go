package resolver_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/server/resolver"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/wire"
)

// client is a scripted proxy talking to one resolver in a simulation.
type client struct {
	c      *flow.Ctx
	res    *resolver.Resolver
	resEnv *flow.Env
}

func (cl *client) send(req *wire.ResolveTransactionBatchRequest) flow.Future[*wire.ResolveTransactionBatchReply] {
	return resolveStream(cl.res.Interface()).GetReply(cl.c.Env, req)
}

func (cl *client) call(req *wire.ResolveTransactionBatchRequest) (*wire.ResolveTransactionBatchReply, error) {
	return flow.Timeout(cl.c, cl.send(req), 10*time.Second)
}

// runScript runs script as a proxy against a fresh resolver configured by
// cfg, in a simulation with the given seed.
func runScript(t *testing.T, cfg resolver.Config, script func(cl *client) error) {
	t.Helper()
	for _, seed := range []uint64{1, 7} {
		test := sim.Test{Name: "resolver-" + t.Name(), Run: func(s *sim.Simulation) error {
			cl := &client{}
			s.AddProcess(s.AddMachine(flow.Locality{}), 4500, func(e *flow.Env) {
				cl.resEnv = e
				cl.res = resolver.New(e, cfg)
			})
			var err error
			var done flow.Future[struct{}]
			s.AddProcess(s.AddMachine(flow.Locality{}), 4500, func(e *flow.Env) {
				done = e.Spawn("proxy", func(c *flow.Ctx) error {
					cl.c = c
					err = script(cl)
					return nil
				}).Done()
			})
			if !s.Run(time.Hour, func() bool { return done.IsReady() }) {
				return fmt.Errorf("script did not finish")
			}
			return err
		}}
		if r := sim.RunTest(test, seed, sim.Options{}); r.Err != nil {
			t.Fatalf("%s\n%v", r, r.Err)
		}
	}
}

func txn(rv kv.Version, reads, writes []*wire.KeyRange) *wire.ResolverTransaction {
	return &wire.ResolverTransaction{ReadVersion: int64(rv), ReadConflictRanges: reads, WriteConflictRanges: writes, ReportConflictingKeys: true}
}

func keys(ks ...string) []*wire.KeyRange {
	var out []*wire.KeyRange
	for _, k := range ks {
		out = append(out, &wire.KeyRange{Begin: []byte(k), End: kv.KeyAfter([]byte(k))})
	}
	return out
}

func batch(prev, v kv.Version, txns ...*wire.ResolverTransaction) *wire.ResolveTransactionBatchRequest {
	return &wire.ResolveTransactionBatchRequest{PrevVersion: int64(prev), Version: int64(v), Transactions: txns}
}

// outcomes returns the reply's codes, or the error.
func outcomes(rep *wire.ResolveTransactionBatchReply, err error) string {
	if err != nil {
		return err.Error()
	}
	return fmt.Sprint(rep.Committed)
}

func TestMalformedBatchesAreRejectedAndChangeNothing(t *testing.T) {
	const v0 = 100
	bigKey := strings.Repeat("k", kv.MaxKeySize+2)
	bigSystemKey := "\xff" + strings.Repeat("k", kv.MaxKeySize+2)
	tests := []struct {
		name string
		req  *wire.ResolveTransactionBatchRequest
		want error
	}{
		{"inverted read range", batch(v0, 200, txn(50, []*wire.KeyRange{{Begin: []byte("b"), End: []byte("a")}}, nil)), kv.ErrInvertedRange},
		{"inverted write range", batch(v0, 200, txn(50, nil, []*wire.KeyRange{{Begin: []byte("b"), End: []byte("a")}})), kv.ErrInvertedRange},
		{"key too large", batch(v0, 200, txn(50, keys(bigKey), nil)), kv.ErrKeyTooLarge},
		{"version not above prev", batch(v0, v0, txn(50, nil, nil)), flow.ErrMalformedRequest},
		{"negative prev version", batch(-5, 200), flow.ErrMalformedRequest},
		{"read version at the batch version", batch(v0, 200, txn(200, keys("a"), nil)), flow.ErrMalformedRequest},
		{"negative read version", batch(v0, 200, txn(-1, keys("a"), nil)), flow.ErrMalformedRequest},
	}
	runScript(t, resolver.Config{InitialVersion: v0}, func(cl *client) error {
		for _, tt := range tests {
			if _, err := cl.call(tt.req); !errors.Is(err, tt.want) {
				return fmt.Errorf("%s: got %v, want %v", tt.name, err, tt.want)
			}
		}
		// A key one byte past the limit is the end of a point range of a
		// maximal key, and system keys have their own limit.
		maxKey := strings.Repeat("k", kv.MaxKeySize)
		ok := batch(v0, 200, txn(v0, keys(maxKey, bigSystemKey[:kv.MaxKeySize+3]), keys("a")))
		if got := outcomes(cl.call(ok)); got != "[1]" {
			return fmt.Errorf("valid batch after the malformed ones: %s", got)
		}
		if n := cl.resEnv.Metrics().Counter(resolver.MetricMalformed).Value(); n != uint64(len(tests)) {
			return fmt.Errorf("malformed counter %d, want %d", n, len(tests))
		}
		return nil
	})
}

func TestDuplicatesAndBrokenChains(t *testing.T) {
	const v0 = 1000
	runScript(t, resolver.Config{InitialVersion: v0, RecentReplies: 2}, func(cl *client) error {
		b1 := batch(v0, 1010, txn(v0, keys("a"), keys("a")), txn(v0, keys("a"), nil))
		b2 := batch(1010, 1020, txn(1005, keys("a"), nil))
		// A retry of a batch still waiting for its predecessor.
		f2, f2again := cl.send(b2), cl.send(b2)
		r1, err := cl.call(b1)
		if err != nil {
			return err
		}
		want1 := &wire.ResolveTransactionBatchReply{Committed: []uint32{1, 0},
			Conflicting: []*wire.ConflictingRanges{{}, {Indexes: []uint32{0}}}}
		if diff := cmp.Diff(want1, r1, protocmp.Transform()); diff != "" {
			return fmt.Errorf("batch 1010 (-want +got):\n%s", diff)
		}
		for _, f := range []flow.Future[*wire.ResolveTransactionBatchReply]{f2, f2again} {
			if got := outcomes(flow.Timeout(cl.c, f, 10*time.Second)); got != "[0]" {
				return fmt.Errorf("batch 1020 and its retry: %s, want [0]", got)
			}
		}
		// A retry after the fact gets the first reply, even though the
		// conflict set has moved on.
		r1again, err := cl.call(b1)
		if err != nil || !cmp.Equal(r1, r1again, protocmp.Transform()) {
			return fmt.Errorf("retry of batch 1010: %v, %v; want %v", r1again, err, r1)
		}
		checks := []struct {
			name string
			req  *wire.ResolveTransactionBatchRequest
			want error
		}{
			{"a batch overlapping the chain", batch(1010, 1030), flow.ErrMalformedRequest},
			{"a fork of a resolved version", batch(1000, 1015), flow.ErrMalformedRequest},
			{"a retry with another prev", batch(1005, 1020, txn(1001, nil, nil)), flow.ErrMalformedRequest},
			{"a retry with other transactions", batch(1010, 1020), flow.ErrMalformedRequest},
			{"a batch from before the resolver", batch(900, 950), kv.ErrCommitUnknownResult},
		}
		for _, c := range checks {
			if _, err := cl.call(c.req); !errors.Is(err, c.want) {
				return fmt.Errorf("%s: got %v, want %v", c.name, err, c.want)
			}
		}
		// Only two replies are kept: 1010's is forgotten after two more.
		for _, b := range []*wire.ResolveTransactionBatchRequest{batch(1020, 1030), batch(1030, 1040)} {
			if _, err := cl.call(b); err != nil {
				return err
			}
		}
		if _, err := cl.call(b1); !errors.Is(err, kv.ErrCommitUnknownResult) {
			return fmt.Errorf("retry of a forgotten batch: got %v, want commit_unknown_result", err)
		}
		if v := cl.res.Version(); v != 1040 {
			return fmt.Errorf("resolver at %d, want 1040", v)
		}
		return nil
	})
}

func TestClippingAndWindow(t *testing.T) {
	const v0 = 10 * kv.MVCCWindow
	owned := kv.KeyRange{Begin: []byte("m"), End: []byte("t")}
	runScript(t, resolver.Config{Keys: owned, InitialVersion: v0}, func(cl *client) error {
		// The writes land well past the resolver's first version, so the
		// window, not the first version, bounds what is too old.
		v1, v2 := v0+2*kv.MVCCWindow, v0+2*kv.MVCCWindow+30
		span := []*wire.KeyRange{{Begin: []byte("a"), End: []byte("z")}}
		rep, err := cl.call(batch(v0, v1,
			txn(v0, nil, keys("a", "n")), // writes a (not owned) and n
		))
		if err != nil || rep.Committed[0] != 1 {
			return fmt.Errorf("write batch: %v %v", rep, err)
		}
		oldest := v2 - kv.MVCCWindow
		before := v1 - 5 // inside the window, before the writes
		rep, err = cl.call(batch(v1, v2,
			txn(before, keys("a"), nil),                  // conflicts outside the owned range: not seen
			txn(before, append(keys("b"), span...), nil), // the span meets n: index 1 reported
			txn(oldest-1, keys("a"), nil),                // too old, but reads nothing owned
			txn(oldest-1, keys("n"), nil),                // too old
			txn(oldest, keys("n"), nil),                  // at the window's edge: checked, conflicts
		))
		want := &wire.ResolveTransactionBatchReply{Committed: []uint32{1, 0, 1, 2, 0},
			Conflicting: []*wire.ConflictingRanges{{}, {Indexes: []uint32{1}}, {}, {}, {Indexes: []uint32{0}}}}
		if err != nil {
			return err
		}
		if diff := cmp.Diff(want, rep, protocmp.Transform()); diff != "" {
			return fmt.Errorf("(-want +got):\n%s", diff)
		}
		return nil
	})
}

func TestStopFailsWaitingBatches(t *testing.T) {
	runScript(t, resolver.Config{InitialVersion: 10}, func(cl *client) error {
		waiting := cl.send(batch(20, 30))
		if err := cl.c.Sleep(time.Second); err != nil {
			return err
		}
		cl.res.Stop()
		if _, err := flow.Timeout(cl.c, waiting, 10*time.Second); !errors.Is(err, flow.ErrBrokenPromise) {
			return fmt.Errorf("waiting batch after Stop: got %v, want broken_promise", err)
		}
		if _, err := cl.call(batch(10, 20)); !errors.Is(err, flow.ErrEndpointNotFound) {
			return fmt.Errorf("batch after Stop: got %v, want endpoint_not_found", err)
		}
		if !cl.res.Done().IsReady() {
			return fmt.Errorf("Done not ready after Stop")
		}
		return nil
	})
}

// A resolver of a new generation knows no write from before its first
// version, so a read from before it cannot be checked: too old.
func TestReadsBeforeTheFirstVersionAreTooOld(t *testing.T) {
	const v0 = 1000
	runScript(t, resolver.Config{InitialVersion: v0}, func(cl *client) error {
		got := outcomes(cl.call(batch(v0, v0+10, txn(v0-1, keys("a"), nil), txn(v0, keys("a"), nil))))
		if got != "[2 1]" {
			return fmt.Errorf("reads before/at the first version: %s, want [2 1]", got)
		}
		return nil
	})
}

// State transactions reach the other proxies, in version order with this
// resolver's verdicts, never their own proxy; a proxy that has not
// received ones the resolver has since forgotten is refused.
func TestStateTransactionsReachTheOtherProxies(t *testing.T) {
	lock := []*wire.Mutation{{Type: uint32(kv.SetValue), Key: kv.DBLockedKey, Param: []byte("uid")}}
	stateTxn := func(rv int64, conflictOn string) *wire.ResolverTransaction {
		tx := &wire.ResolverTransaction{ReadVersion: rv, StateMutations: lock, LockAware: true,
			WriteConflictRanges: []*wire.KeyRange{{Begin: []byte("s"), End: []byte("s\x00")}}}
		if conflictOn != "" {
			tx.ReadConflictRanges = []*wire.KeyRange{{Begin: []byte(conflictOn), End: []byte(conflictOn + "\x00")}}
		}
		return tx
	}
	batch := func(proxy string, prev, v, last int64, txns ...*wire.ResolverTransaction) *wire.ResolveTransactionBatchRequest {
		return &wire.ResolveTransactionBatchRequest{ProxyId: proxy, PrevVersion: prev, Version: v, LastReceivedVersion: last, Transactions: txns}
	}
	runScript(t, resolver.Config{InitialVersion: 100}, func(cl *client) error {
		// cp1 at 200: a state transaction that commits and one that
		// conflicts with it (it read "s", written at 200 before it).
		if _, err := cl.call(batch("cp1", 100, 200, 0, stateTxn(100, ""), stateTxn(150, "s"))); err != nil {
			return err
		}
		rep, err := cl.call(batch("cp2", 200, 300, 0, &wire.ResolverTransaction{ReadVersion: 250}))
		if err != nil {
			return err
		}
		want := []*wire.StateTransaction{
			{Version: 200, Index: 0, Committed: 1, LockAware: true, Mutations: lock},
			{Version: 200, Index: 1, Committed: 0, LockAware: true, Mutations: lock},
		}
		if diff := cmp.Diff(want, rep.StateTransactions, protocmp.Transform()); diff != "" {
			t.Errorf("cp2's state transactions (-want +got):\n%s", diff)
		}
		// cp1 never gets its own back; cp2, having received up to 300, no
		// longer gets those of 200.
		rep, err = cl.call(batch("cp1", 300, 400, 200))
		if err != nil {
			return err
		}
		if len(rep.StateTransactions) != 0 {
			t.Errorf("cp1 got its own state transactions: %v", rep.StateTransactions)
		}
		rep, err = cl.call(batch("cp2", 400, 500, 300))
		if err != nil {
			return err
		}
		if len(rep.StateTransactions) != 0 {
			t.Errorf("cp2 got state transactions again: %v", rep.StateTransactions)
		}
		// Much later, the one of 200 is forgotten: a proxy that last
		// received before it is refused.
		far := int64(500 + 11*kv.MVCCWindow)
		if _, err := cl.call(batch("cp2", 500, far, 500, stateTxn(499, ""))); err != nil {
			return err
		}
		if _, err := cl.call(batch("cp3", far, far+1, 0)); !errors.Is(err, kv.ErrCommitUnknownResult) {
			t.Errorf("a proxy that missed forgotten state transactions: %v, want commit_unknown_result", err)
		}
		return nil
	})
}
