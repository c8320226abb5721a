package commitproxy_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/server/commitproxy"
	"github.com/strata-db/strata/db/wire"
)

func TestCommitsChainThroughLogsAndReadVersionsAreCausal(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 4} {
		cl := newCluster(t, seed, 3*time.Millisecond, nil)
		type commit struct {
			key     string
			version int64
		}
		var commits []commit
		var bodies []func(c *flow.Ctx) error
		for w := range 6 {
			bodies = append(bodies, func(c *flow.Ctx) error {
				for i := range 25 {
					rv, err := cl.readVersion(c)
					if err != nil {
						return err
					}
					key := fmt.Sprintf("%c-%d-%d", 'a'+w*4, w, i)
					req := set(key, "v")
					req.ReadVersion = rv
					rep, err := flow.Await(c, cl.commit(req))
					if err != nil {
						return fmt.Errorf("commit %s: %w", key, err)
					}
					if rep.Version <= rv {
						t.Errorf("seed %d: commit version %d not above read version %d", seed, rep.Version, rv)
					}
					commits = append(commits, commit{key, rep.Version})
					after, err := cl.readVersion(c)
					if err != nil {
						return err
					}
					if after < rep.Version {
						t.Errorf("seed %d: read version %d after commit at %d was acknowledged", seed, after, rep.Version)
					}
				}
				return nil
			})
		}
		// Delay the proxy's messages to the sequencer now and then, so that
		// a reply sent before the sequencer knew of the commit would show.
		stop := false
		cl.s.Controller().Spawn("clog", func(c *flow.Ctx) error {
			for !stop {
				cl.s.ClogLink(cl.proxyProc.Addr, cl.seqProc.Addr, time.Duration(1+c.Rand().IntN(5))*time.Millisecond)
				if err := c.Sleep(time.Duration(5+c.Rand().IntN(10)) * time.Millisecond); err != nil {
					return err
				}
			}
			return nil
		})
		cl.run(t, time.Minute, bodies...)
		stop = true

		for i, lg := range cl.logs {
			prev := int64(initialVersion)
			for _, p := range lg.arrivals {
				if p.req.PrevVersion != prev || p.req.Version <= prev {
					t.Fatalf("seed %d: log %d got (prev %d, version %d) after version %d", seed, i, p.req.PrevVersion, p.req.Version, prev)
				}
				prev = p.req.Version
			}
		}
		for _, r := range cl.resolvers {
			prev := int64(initialVersion)
			for _, req := range r.requests {
				if req.PrevVersion != prev {
					t.Fatalf("seed %d: resolver chain broken at %d -> %d", seed, prev, req.PrevVersion)
				}
				prev = req.Version
			}
		}
		// Every acknowledged commit is in both logs at its version, for
		// the tag of its shard.
		for _, cm := range commits {
			tag := map[bool]uint32{true: 1, false: 4}[cm.key < "g"]
			if cm.key >= "g" && cm.key < "p" {
				tag = 2
			}
			for i, lg := range cl.logs {
				if !hasMutation(pushedAt(lg, cm.version, tag), cm.key, "v") {
					t.Fatalf("seed %d: log %d lacks %s at version %d tag %d", seed, i, cm.key, cm.version, tag)
				}
			}
		}
		m := cl.proxyProc.Env().Metrics()
		if got := m.Counter("commitproxy.committed").Value(); got != 150 {
			t.Errorf("seed %d: committed counter %d, want 150", seed, got)
		}
		if h := m.Histogram("commitproxy.latency"); h.Count() != 150 {
			t.Errorf("seed %d: latency histogram has %d observations, want 150", seed, h.Count())
		}
		if b := m.Counter("commitproxy.batches").Value(); b == 0 || b >= 150 {
			t.Errorf("seed %d: %d batches for 150 concurrent commits: not batching", seed, b)
		}
	}
}

func TestBatchesArePipelined(t *testing.T) {
	// Logs take up to 20ms to fsync; with commits arriving all the time,
	// later batches must reach the logs before earlier ones are durable.
	cl := newCluster(t, 15, 20*time.Millisecond, nil)
	var bodies []func(c *flow.Ctx) error
	for w := range 8 {
		bodies = append(bodies, func(c *flow.Ctx) error {
			for i := range 10 {
				if _, err := flow.Await(c, cl.commit(set(fmt.Sprintf("k%d-%d", w, i), "v"))); err != nil {
					return err
				}
				if err := c.Sleep(time.Duration(c.Rand().IntN(3000)) * time.Microsecond); err != nil {
					return err
				}
			}
			return nil
		})
	}
	cl.run(t, time.Minute, bodies...)
	pipelined := 0
	for _, p := range cl.logs[0].arrivals {
		if p.pipelined {
			pipelined++
		}
	}
	if pipelined == 0 {
		t.Fatal("no batch reached a log before the previous one was durable: no pipelining")
	}
}

func TestResolverVerdicts(t *testing.T) {
	cl := newCluster(t, 5, time.Millisecond, nil)
	read := func(key string) *wire.CommitTransactionRequest {
		req := set("w-"+key, "v")
		req.ReadConflictRanges = []*wire.KeyRange{{Begin: []byte(key), End: kv.KeyAfter([]byte(key))}}
		return req
	}
	reqs := []*wire.CommitTransactionRequest{
		read("conflict"),  // first resolver says conflict
		read("xconflict"), // second resolver says conflict, first says committed
		read("tooold"),
		read("xtooold"),
		read("fine"),
		{ // conflict on one resolver and too old on the other: too old wins
			ReadConflictRanges: []*wire.KeyRange{{Begin: []byte("conflict"), End: []byte("xtoooldz")}},
			Mutations:          []*wire.Mutation{{Type: uint32(kv.SetValue), Key: []byte("w-both"), Param: []byte("v")}},
		},
	}
	want := []error{kv.ErrNotCommitted, kv.ErrNotCommitted, kv.ErrTransactionTooOld, kv.ErrTransactionTooOld, nil, kv.ErrTransactionTooOld}
	var errs []error
	var fine *wire.CommitTransactionReply
	cl.run(t, time.Minute, func(c *flow.Ctx) error {
		var fs []flow.Future[*wire.CommitTransactionReply]
		for _, r := range reqs {
			fs = append(fs, cl.commit(r))
		}
		for _, f := range fs {
			rep, err := flow.Await(c, f)
			errs = append(errs, err)
			if err == nil {
				fine = rep
			}
		}
		return nil
	})
	for i := range want {
		if !errors.Is(errs[i], want[i]) || (want[i] == nil) != (errs[i] == nil) {
			t.Errorf("transaction %d: got %v, want %v", i, errs[i], want[i])
		}
	}
	// Only the committed transaction's write reached the logs.
	for _, p := range cl.logs[0].arrivals {
		for _, m := range p.req.Messages {
			for _, mu := range m.Mutations {
				if string(mu.Key) != "w-fine" || p.req.Version != fine.GetVersion() {
					t.Errorf("log got %s at version %d; only w-fine at %d committed", mu.Key, p.req.Version, fine.GetVersion())
				}
			}
		}
	}
	m := cl.proxyProc.Env().Metrics()
	if c, o := m.Counter("commitproxy.conflicts").Value(), m.Counter("commitproxy.too_old").Value(); c != 2 || o != 3 {
		t.Errorf("metrics: %d conflicts, %d too old; want 2 and 3", c, o)
	}
}

func TestResolversGetConflictRangesClippedToTheirRange(t *testing.T) {
	cl := newCluster(t, 6, time.Millisecond, func(cfg *commitproxy.Config) { cfg.IdleCommitInterval = -1 })
	req := &wire.CommitTransactionRequest{
		ReadVersion:         initialVersion,
		ReadConflictRanges:  []*wire.KeyRange{{Begin: []byte("h"), End: []byte("s")}, {Begin: []byte("a"), End: []byte("b")}},
		WriteConflictRanges: []*wire.KeyRange{{Begin: []byte("n"), End: []byte("q")}},
		Mutations:           []*wire.Mutation{{Type: uint32(kv.SetValue), Key: []byte("n"), Param: []byte("v")}},
	}
	cl.run(t, time.Minute, func(c *flow.Ctx) error {
		_, err := flow.Await(c, cl.commit(req))
		return err
	})
	rng := func(b, e string) *wire.KeyRange { return &wire.KeyRange{Begin: []byte(b), End: []byte(e)} }
	want := [2]*wire.ResolverTransaction{
		{ReadVersion: initialVersion, ReadConflictRanges: []*wire.KeyRange{rng("h", "m"), rng("a", "b")}},
		{ReadVersion: initialVersion, ReadConflictRanges: []*wire.KeyRange{rng("m", "s")}, WriteConflictRanges: []*wire.KeyRange{rng("n", "q")}},
	}
	for i, r := range cl.resolvers {
		// Besides the generation's first, empty batch.
		var batches []*wire.ResolveTransactionBatchRequest
		for _, b := range r.requests {
			if len(b.Transactions) > 0 {
				batches = append(batches, b)
			}
		}
		if len(batches) != 1 || len(batches[0].Transactions) != 1 {
			t.Fatalf("resolver %d got %d batches with transactions; want the one", i, len(batches))
		}
		if diff := cmp.Diff(want[i], batches[0].Transactions[0], protocmp.Transform()); diff != "" {
			t.Errorf("resolver %d transaction (-want +got):\n%s", i, diff)
		}
	}
}

func TestSizeAndValidityChecks(t *testing.T) {
	cl := newCluster(t, 7, time.Millisecond, nil)
	big := func(n int) []byte { return make([]byte, n) }
	mut := func(t kv.MutationType, key, param []byte) *wire.CommitTransactionRequest {
		return &wire.CommitTransactionRequest{Mutations: []*wire.Mutation{{Type: uint32(t), Key: key, Param: param}}}
	}
	huge := &wire.CommitTransactionRequest{}
	for i := range 101 {
		huge.Mutations = append(huge.Mutations, &wire.Mutation{Type: uint32(kv.SetValue), Key: []byte{byte(i)}, Param: big(99_999)})
	}
	cases := []struct {
		name string
		req  *wire.CommitTransactionRequest
		want error
	}{
		{"key of 10,000 bytes", mut(kv.SetValue, big(10_000), nil), nil},
		{"key of 10,001 bytes", mut(kv.SetValue, big(10_001), nil), kv.ErrKeyTooLarge},
		{"system key of 20,000 bytes", mut(kv.SetValue, append([]byte{0xff}, big(20_000)...), nil), nil},
		{"value of 100,000 bytes", mut(kv.SetValue, []byte("k"), big(100_000)), nil},
		{"value of 100,001 bytes", mut(kv.SetValue, []byte("k"), big(100_001)), kv.ErrValueTooLarge},
		{"atomic operand of 100,001 bytes", mut(kv.AddValue, []byte("k"), big(100_001)), kv.ErrValueTooLarge},
		{"clear bound of 10,001 bytes", mut(kv.ClearRange, []byte("a"), append([]byte("b"), big(10_000)...)), kv.ErrKeyTooLarge},
		{"transaction of 10.1 MB", huge, kv.ErrTransactionTooLarge},
		{"write to a special key", mut(kv.SetValue, []byte("\xff\xff/x"), nil), kv.ErrKeyOutsideLegalRange},
		{"inverted clear", mut(kv.ClearRange, []byte("b"), []byte("a")), kv.ErrInvertedRange},
		{"unknown mutation type", mut(kv.MutationType(99), []byte("k"), nil), kv.ErrInvalidMutationType},
		{"versionstamp without offset", mut(kv.SetVersionstampedKey, []byte("abc"), nil), kv.ErrVersionstampInvalid},
		{"versionstamp past the key", mut(kv.SetVersionstampedKey, append(big(12), 3, 0, 0, 0), nil), kv.ErrVersionstampInvalid},
		{"versionstamp past the value", mut(kv.SetVersionstampedVal, []byte("k"), append(big(10), 1, 0, 0, 0)), kv.ErrVersionstampInvalid},
		{"negative read version", &wire.CommitTransactionRequest{ReadVersion: -5}, kv.ErrInvalidMutationType},
	}
	got := make([]error, len(cases))
	cl.run(t, time.Minute, func(c *flow.Ctx) error {
		for i, tc := range cases {
			_, got[i] = flow.Await(c, cl.commit(tc.req))
		}
		return nil
	})
	for i, tc := range cases {
		if (tc.want == nil) != (got[i] == nil) || !errors.Is(got[i], tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got[i], tc.want)
		}
	}
}

func TestOldReadVersionIsRefusedAtOnce(t *testing.T) {
	cl := newCluster(t, 8, time.Millisecond, nil)
	var err error
	cl.run(t, time.Minute, func(c *flow.Ctx) error {
		if err := c.Sleep(6 * time.Second); err != nil { // idle batches move the version on
			return err
		}
		req := set("k", "v")
		req.ReadVersion = initialVersion
		_, err = flow.Await(c, cl.commit(req))
		return nil
	})
	if !errors.Is(err, kv.ErrTransactionTooOld) {
		t.Fatalf("a read version 6s old got %v, want transaction_too_old", err)
	}
	if n := cl.proxyProc.Env().Metrics().Counter("commitproxy.too_old").Value(); n != 1 {
		t.Fatalf("too_old counter %d, want 1", n)
	}
	for _, r := range cl.resolvers {
		for _, req := range r.requests {
			if len(req.Transactions) > 0 {
				t.Fatal("the too-old transaction was sent to a resolver")
			}
		}
	}
}

func TestVersionstampsAreSubstituted(t *testing.T) {
	cl := newCluster(t, 9, time.Millisecond, func(cfg *commitproxy.Config) {
		cfg.BatchWindow, cfg.IdleBatchWindow = 50*time.Millisecond, 50*time.Millisecond
	})
	// Key "vs-" + 10 placeholder bytes + "-end", offset 3; value with the
	// stamp at offset 2 of "ab" + 10 bytes + "cd".
	stampKey := append(append([]byte("vs-"), make([]byte, 10)...), "-end"...)
	stampKey = append(stampKey, 3, 0, 0, 0)
	stampVal := append(append([]byte("ab"), make([]byte, 10)...), "cd"...)
	stampVal = append(stampVal, 2, 0, 0, 0)
	reqs := []*wire.CommitTransactionRequest{
		set("apple", "p"),
		{Mutations: []*wire.Mutation{{Type: uint32(kv.SetVersionstampedKey), Key: stampKey, Param: []byte("value")}}},
		{Mutations: []*wire.Mutation{{Type: uint32(kv.SetVersionstampedVal), Key: []byte("vv"), Param: stampVal}}},
	}
	var reps []*wire.CommitTransactionReply
	cl.run(t, time.Minute, func(c *flow.Ctx) error {
		var fs []flow.Future[*wire.CommitTransactionReply]
		for _, r := range reqs {
			fs = append(fs, cl.commit(r))
		}
		var err error
		reps, err = flow.WaitAll(c, fs)
		return err
	})
	v := reps[0].Version
	for i, r := range reps {
		if r.Version != v || r.BatchIndex != uint32(i) {
			t.Fatalf("reply %d: (version %d, index %d); want one batch with indexes in arrival order", i, r.Version, r.BatchIndex)
		}
	}
	wantKey := append(append([]byte("vs-"), commitproxy.Versionstamp(kv.Version(v), 1)...), "-end"...)
	wantVal := append(append([]byte("ab"), commitproxy.Versionstamp(kv.Version(v), 2)...), "cd"...)
	want := []*wire.Mutation{
		{Type: uint32(kv.SetValue), Key: wantKey, Param: []byte("value")},
		{Type: uint32(kv.SetValue), Key: []byte("vv"), Param: wantVal},
	}
	// "vs-..." and "vv" are both in the last shard (tag 4).
	if diff := cmp.Diff(want, pushedAt(cl.logs[1], v, 4), protocmp.Transform()); diff != "" {
		t.Fatalf("versionstamped mutations in the log (-want +got):\n%s", diff)
	}
	if got := commitproxy.Versionstamp(0x0102030405060708, 0x090a); string(got) != "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a" {
		t.Fatalf("versionstamp bytes %x", got)
	}
}

func TestMutationsAreTaggedByShard(t *testing.T) {
	cl := newCluster(t, 10, time.Millisecond, nil)
	req := &wire.CommitTransactionRequest{Mutations: []*wire.Mutation{
		{Type: uint32(kv.SetValue), Key: []byte("a"), Param: []byte("1")},
		{Type: uint32(kv.AddValue), Key: []byte("h"), Param: []byte{1}},
		{Type: uint32(kv.ClearRange), Key: []byte("b"), Param: []byte("q")},
		{Type: uint32(kv.SetValue), Key: []byte("\xff/sys"), Param: []byte("s")},
	}}
	var rep *wire.CommitTransactionReply
	cl.run(t, time.Minute, func(c *flow.Ctx) error {
		var err error
		rep, err = flow.Await(c, cl.commit(req))
		return err
	})
	mu := func(t kv.MutationType, k, p string) *wire.Mutation {
		return &wire.Mutation{Type: uint32(t), Key: []byte(k), Param: []byte(p)}
	}
	want := map[uint32][]*wire.Mutation{
		1: {mu(kv.SetValue, "a", "1"), mu(kv.ClearRange, "b", "g")},
		2: {mu(kv.AddValue, "h", "\x01"), mu(kv.ClearRange, "g", "p")},
		3: {mu(kv.AddValue, "h", "\x01"), mu(kv.ClearRange, "g", "p")},
		4: {mu(kv.ClearRange, "p", "q"), mu(kv.SetValue, "\xff/sys", "s")},
	}
	for tag, w := range want {
		if diff := cmp.Diff(w, pushedAt(cl.logs[0], rep.Version, tag), protocmp.Transform()); diff != "" {
			t.Errorf("tag %d (-want +got):\n%s", tag, diff)
		}
	}
}

func TestLogFailureGivesUnknownResultAndStopsCommits(t *testing.T) {
	for _, seed := range []uint64{11, 12, 13} {
		cl := newCluster(t, seed, time.Millisecond, nil)
		var before, during, after, located error
		cl.run(t, time.Minute, func(c *flow.Ctx) error {
			_, before = flow.Await(c, cl.commit(set("before", "v")))
			cl.s.Kill(cl.logProcs[1])
			_, during = flow.Await(c, cl.commit(set("during", "v")))
			_, after = flow.Await(c, cl.commit(set("after", "v")))
			_, located = cl.locations(c, &wire.GetKeyServerLocationsRequest{})
			return nil
		})
		if before != nil {
			t.Fatalf("seed %d: commit with both logs up: %v", seed, before)
		}
		if !errors.Is(during, kv.ErrCommitUnknownResult) {
			t.Fatalf("seed %d: commit while a log died: %v, want commit_unknown_result", seed, during)
		}
		if after == nil || errors.Is(after, kv.ErrCommitUnknownResult) {
			t.Fatalf("seed %d: commit after the generation died: %v, want a refusal", seed, after)
		}
		if err := cl.proxy.Done().Err(); !errors.Is(err, commitproxy.ErrGenerationDead) {
			t.Fatalf("seed %d: Done is %v, want generation dead", seed, err)
		}
		// Nor does it answer for shards from its frozen map.
		if located == nil {
			t.Fatalf("seed %d: a dead generation's proxy answered a location request", seed)
		}
		// No commit after the failure reached the surviving log.
		for _, p := range cl.logs[0].arrivals {
			if hasMutation(pushedAt(cl.logs[0], p.req.Version, 4), "after", "v") {
				t.Fatalf("seed %d: a commit after the failure reached a log", seed)
			}
		}
	}
}

// A proxy stopped because a newer generation exists answers the batches it
// has in flight at once: one waiting for a dead sequencer kept its clients
// waiting out SequencerTimeout while the new generation took commits.
func TestStopAnswersBatchesInFlight(t *testing.T) {
	for _, seed := range []uint64{21, 22} {
		cl := newCluster(t, seed, time.Millisecond, nil)
		var err error
		var waited time.Duration
		cl.run(t, time.Minute, func(c *flow.Ctx) error {
			if _, err := flow.Await(c, cl.commit(set("before", "v"))); err != nil {
				return err
			}
			cl.s.Kill(cl.seqProc)
			f := cl.commit(set("during", "v"))
			if err := c.Sleep(500 * time.Millisecond); err != nil {
				return err
			}
			if f.IsReady() {
				return fmt.Errorf("the commit was answered before the stop: %v", f.Err())
			}
			stopped := c.Now()
			cl.proxy.Stop()
			_, err = flow.Await(c, f)
			waited = c.Now().Sub(stopped)
			return nil
		})
		if !errors.Is(err, kv.ErrCommitUnknownResult) {
			t.Fatalf("seed %d: commit in flight when the proxy stopped: %v, want commit_unknown_result", seed, err)
		}
		if waited > 100*time.Millisecond {
			t.Fatalf("seed %d: the commit was answered %v after the stop", seed, waited)
		}
	}
}

func TestKeyServerLocations(t *testing.T) {
	cl := newCluster(t, 14, time.Millisecond, nil)
	bounds := func(locs []*wire.ShardLocation) []string {
		var out []string
		for _, l := range locs {
			var tags []uint32
			for _, s := range l.Servers {
				tags = append(tags, s.Tag)
			}
			out = append(out, fmt.Sprintf("[%s,%s)%v", kv.Printable(l.Begin), kv.Printable(l.End), tags))
		}
		return out
	}
	loc := func(b, e string, limit int32, reverse bool) *wire.GetKeyServerLocationsRequest {
		return &wire.GetKeyServerLocationsRequest{Begin: []byte(b), End: []byte(e), Limit: limit, Reverse: reverse}
	}
	encoded := func(tags ...uint32) []byte {
		var l wire.ShardLocation
		for _, tg := range tags {
			l.Servers = append(l.Servers, &wire.StorageInterface{Address: "10.9.9.9:1", Tag: tg})
		}
		b, err := proto.Marshal(&l)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var got [][]string
	cl.run(t, time.Minute, func(c *flow.Ctx) error {
		for _, q := range []*wire.GetKeyServerLocationsRequest{
			loc("h", "h\x00", 0, false),
			loc("a", "q", 0, false),
			loc("a", "q", 2, true),
			loc("g", "", 0, false),
		} {
			locs, err := cl.locations(c, q)
			if err != nil {
				return err
			}
			got = append(got, bounds(locs))
		}
		// Move [k, p) to tag 7 and merge [p, \xff\xff) into it.
		split := &wire.CommitTransactionRequest{Mutations: []*wire.Mutation{
			{Type: uint32(kv.SetValue), Key: append(commitproxy.KeyServersPrefix, 'k'), Param: encoded(7)},
			{Type: uint32(kv.ClearRange), Key: append(commitproxy.KeyServersPrefix, 'p'), Param: append(commitproxy.KeyServersPrefix, 'q')},
		}}
		if _, err := flow.Await(c, cl.commit(split)); err != nil {
			return err
		}
		locs, err := cl.locations(c, loc("", "", 0, false))
		got = append(got, bounds(locs))
		if err != nil {
			return err
		}
		// The new map tags later writes.
		rep, err := flow.Await(c, cl.commit(set("x", "1")))
		if err != nil {
			return err
		}
		if m := pushedAt(cl.logs[0], rep.Version, 7); !hasMutation(m, "x", "1") {
			t.Errorf("write to x after the move went to %v, not tag 7", m)
		}
		return nil
	})
	want := [][]string{
		{"[g,p)[2 3]"},
		{"[,g)[1]", "[g,p)[2 3]", "[p,\\xff\\xff)[4]"},
		{"[p,\\xff\\xff)[4]", "[g,p)[2 3]"},
		{"[g,p)[2 3]", "[p,\\xff\\xff)[4]"},
		{"[,g)[1]", "[g,k)[2 3]", "[k,\\xff\\xff)[7]"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("locations (-want +got):\n%s", diff)
	}
}

func TestSequencerPartitionIsRiddenOutByRetrying(t *testing.T) {
	for _, seed := range []uint64{16, 17} {
		cl := newCluster(t, seed, time.Millisecond, nil)
		var bodies []func(c *flow.Ctx) error
		for w := range 4 {
			bodies = append(bodies, func(c *flow.Ctx) error {
				for i := range 40 {
					rv, err := cl.readVersion(c)
					if err != nil {
						return err
					}
					req := set(fmt.Sprintf("k%d-%d", w, i), "v")
					req.ReadVersion = rv
					if _, err := flow.Await(c, cl.commit(req)); err != nil {
						return fmt.Errorf("commit %d of writer %d: %w", i, w, err)
					}
					if err := c.Sleep(100 * time.Millisecond); err != nil {
						return err
					}
				}
				return nil
			})
		}
		cl.s.Controller().Spawn("partition", func(c *flow.Ctx) error {
			if err := c.Sleep(time.Second); err != nil {
				return err
			}
			cl.s.ClogPair(cl.proxyProc.Addr, cl.seqProc.Addr, 3*time.Second)
			return nil
		})
		cl.run(t, time.Minute, bodies...)
		if cl.proxy.Done().IsReady() {
			t.Fatalf("seed %d: the generation died over a 3s partition: %v", seed, cl.proxy.Done().Err())
		}
		if n := cl.seqProc.Env().Metrics().Counter("sequencer.retried_requests").Value(); n == 0 {
			t.Errorf("seed %d: the sequencer saw no retried request", seed)
		}
		for i, lg := range cl.logs {
			prev := int64(initialVersion)
			for _, p := range lg.arrivals {
				if p.req.PrevVersion != prev {
					t.Fatalf("seed %d: log %d chain broken at %d -> %d", seed, i, prev, p.req.PrevVersion)
				}
				prev = p.req.Version
			}
		}
	}
}

func TestSameSeedSameRun(t *testing.T) {
	run := func() (uint64, []int64) {
		cl := newCluster(t, 21, 5*time.Millisecond, nil)
		var versions []int64
		var bodies []func(c *flow.Ctx) error
		for w := range 4 {
			bodies = append(bodies, func(c *flow.Ctx) error {
				for i := range 10 {
					rep, err := flow.Await(c, cl.commit(set(fmt.Sprintf("k%d-%d", w, i), "v")))
					if err != nil {
						return err
					}
					versions = append(versions, rep.Version)
				}
				return nil
			})
		}
		cl.run(t, time.Minute, bodies...)
		return cl.s.TraceHash(), versions
	}
	h1, v1 := run()
	h2, v2 := run()
	if h1 != h2 {
		t.Fatalf("same seed, different trace hashes %016x and %016x", h1, h2)
	}
	if diff := cmp.Diff(v1, v2); diff != "" {
		t.Fatalf("same seed, different commit versions (-first +second):\n%s", diff)
	}
}

func TestTwoProxiesShareOneVersionChain(t *testing.T) {
	for _, seed := range []uint64{31, 32, 33} {
		cl := newClusterN(t, seed, 2*time.Millisecond, 2, false, nil)
		committed := map[int64]int{} // version -> transactions acknowledged at it
		var bodies []func(c *flow.Ctx) error
		for w := range 8 {
			cp := cl.cps[w%2]
			bodies = append(bodies, func(c *flow.Ctx) error {
				for i := range 15 {
					rv, err := cl.readVersion(c)
					if err != nil {
						return err
					}
					req := set(fmt.Sprintf("k%d-%d", w, i), "v")
					req.ReadVersion = rv
					rep, err := flow.Await(c, cl.commitVia(cp, req))
					if err != nil {
						return err
					}
					committed[rep.Version]++
					after, err := cl.readVersion(c)
					if err != nil {
						return err
					}
					if after < rep.Version {
						t.Errorf("seed %d: read version %d after commit at %d", seed, after, rep.Version)
					}
				}
				return nil
			})
		}
		cl.run(t, time.Minute, bodies...)
		for i, lg := range cl.logs {
			prev := int64(initialVersion)
			seen := map[int64]bool{}
			for _, req := range lg.appended {
				if req.PrevVersion != prev {
					t.Fatalf("seed %d: log %d chain broken at %d -> %d", seed, i, prev, req.PrevVersion)
				}
				prev = req.Version
				seen[req.Version] = true
			}
			if len(lg.arrivals) != len(lg.appended) {
				t.Fatalf("seed %d: log %d has %d pushes waiting for a predecessor that never came", seed, i, len(lg.arrivals)-len(lg.appended))
			}
			for v := range committed {
				if !seen[v] {
					t.Fatalf("seed %d: log %d never appended acknowledged version %d", seed, i, v)
				}
			}
		}
		for i, r := range cl.resolvers {
			// Every logged batch was resolved by every resolver (a batch may
			// still be between the two when the run stops).
			if len(r.requests) < len(cl.logs[0].appended) {
				t.Fatalf("seed %d: resolver %d resolved %d batches, the logs have %d", seed, i, len(r.requests), len(cl.logs[0].appended))
			}
		}
	}
}
