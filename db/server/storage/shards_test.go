package storage

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/wire"
)

// readRange reads all of r at v from si.
func readRange(c *flow.Ctx, si *wire.StorageInterface, r kv.KeyRange, v kv.Version) ([]kv.KeyValue, error) {
	rs := flow.NewRequestStream(flow.Endpoint{Addr: flow.Address(si.Address), Token: si.GetKeyValues},
		flow.ProtoCodec[*wire.GetKeyValuesRequest](), flow.ProtoCodec[*wire.GetKeyValuesReply]())
	var out []kv.KeyValue
	for {
		rep, err := flow.Await(c, rs.GetReply(c.Env, &wire.GetKeyValuesRequest{Begin: r.Begin, End: r.End, Version: int64(v)}))
		if err != nil {
			return nil, err
		}
		for _, p := range rep.Data {
			out = append(out, kv.KeyValue{Key: p.Key, Value: p.Value})
		}
		if !rep.More {
			return out, nil
		}
		r.Begin = kv.KeyAfter(rep.Data[len(rep.Data)-1].Key)
	}
}

func getValue(c *flow.Ctx, si *wire.StorageInterface, key []byte, v kv.Version) (*wire.GetValueReply, error) {
	rs := flow.NewRequestStream(flow.Endpoint{Addr: flow.Address(si.Address), Token: si.GetValue},
		flow.ProtoCodec[*wire.GetValueRequest](), flow.ProtoCodec[*wire.GetValueReply]())
	return flow.Await(c, rs.GetReply(c.Env, &wire.GetValueRequest{Key: key, Version: int64(v)}))
}

func shardMetrics(c *flow.Ctx, si *wire.StorageInterface, r kv.KeyRange) (*wire.ShardMetricsReply, error) {
	rs := flow.NewRequestStream(flow.Endpoint{Addr: flow.Address(si.Address), Token: si.ShardMetrics},
		flow.ProtoCodec[*wire.ShardMetricsRequest](), flow.ProtoCodec[*wire.ShardMetricsReply]())
	return flow.Await(c, rs.GetReply(c.Env, &wire.ShardMetricsRequest{Begin: r.Begin, End: r.End}))
}

// engineBytes sums the keys and values the engine holds in r.
func engineBytes(e *fakeEngine, r kv.KeyRange) (n int64, keys int) {
	kvs, _, _ := e.Scan(r, false, 0, 0)
	for _, p := range kvs {
		n += int64(len(p.Key) + len(p.Value))
	}
	return n, len(kvs)
}

// moveCluster is a source server owning the a..z keys (tag 1) and a
// destination server starting with no shards (tag 2), on one fake log fed
// by a writer that tags each mutation for the source, and for the
// destination too once it intersects the moved range from taggedFrom on.
type moveCluster struct {
	t          *testing.T
	s          *sim.Simulation
	log        *fakeLog
	model      *model
	src, dst   *Server
	srcEng     *fakeEngine
	dstEng     *fakeEngine
	client     *sim.Process
	srcProc    *sim.Process
	dstProc    *sim.Process
	moved      kv.KeyRange
	taggedFrom kv.Version // 0: not tagging the destination yet
	v          kv.Version
	seed       uint64
	gen        uint64 // the generation, so a new one writes other data at the same versions
}

const srcTag, dstTag = 1, 2

func newMoveCluster(t *testing.T, seed uint64, moved kv.KeyRange, dstKnobs Knobs) *moveCluster {
	s := sim.New(seed, sim.Options{})
	mc := &moveCluster{t: t, s: s, log: newFakeLog(), model: newModel(), moved: moved, seed: seed,
		srcEng: &fakeEngine{commitDelay: 2 * time.Millisecond}, dstEng: &fakeEngine{commitDelay: 2 * time.Millisecond}}
	var logIf *wire.TLogInterface
	s.AddProcess(s.AddMachine(flow.Locality{}), 1, func(env *flow.Env) { logIf = mc.log.boot(env) })
	srcKnobs := Knobs{MVCCWindow: 100_000, CommitInterval: 10 * time.Millisecond, ByteSampleFactor: 1e-9}
	mc.srcProc = s.AddProcess(s.AddMachine(flow.Locality{}), 1, func(env *flow.Env) {
		var err error
		mc.src, err = New(env, Config{ID: "src", Tag: srcTag, Shard: kv.KeyRange{Begin: []byte("a"), End: []byte("z")},
			Engine: mc.srcEng, Logs: []*wire.TLogInterface{logIf}, Knobs: srcKnobs})
		if err != nil {
			t.Fatal(err)
		}
	})
	mc.dstProc = s.AddProcess(s.AddMachine(flow.Locality{}), 1, func(env *flow.Env) {
		var err error
		mc.dst, err = New(env, Config{ID: "dst", Tag: dstTag, Engine: mc.dstEng, Logs: []*wire.TLogInterface{logIf},
			Knobs: dstKnobs})
		if err != nil {
			t.Fatal(err)
		}
	})
	mc.client = s.AddProcess(s.AddMachine(flow.Locality{}), 1, func(*flow.Env) {})
	return mc
}

// write commits n versions of random mutations, a few ms apart.
func (mc *moveCluster) write(n int) {
	rng := testRand(mc.seed<<32 + mc.gen<<56 + uint64(mc.v))
	mc.s.Controller().Spawn("writer", func(c *flow.Ctx) error {
		for range n {
			if err := c.Sleep(time.Duration(1+rng.IntN(3)) * time.Millisecond); err != nil {
				return err
			}
			mc.v += 1000
			var muts []kv.Mutation
			for range 1 + rng.IntN(3) {
				muts = append(muts, denseMutation(rng))
			}
			byTag := map[uint32][]kv.Mutation{srcTag: muts}
			for _, mu := range muts {
				mc.model.apply(mu)
				if _, ok := clipToShard(mu, mc.moved); ok && mc.taggedFrom > 0 && mc.v >= mc.taggedFrom {
					byTag[dstTag] = append(byTag[dstTag], mu) // the proxies tag whole mutations
				}
			}
			mc.model.commit(mc.v)
			mc.log.commitTagged(mc.v, byTag)
		}
		return nil
	})
	mc.s.Run(time.Duration(4*n+20)*time.Millisecond, nil)
	mc.s.Run(time.Second, func() bool { return mc.src.Stats().Version == mc.v && mc.dst.Stats().Version == mc.v })
}

// denseMutation is mostly sets, so that the key space fills up, with some
// atomic operations, point clears and short range clears.
func denseMutation(rng *rand.Rand) kv.Mutation {
	k := randKey(rng)
	switch n := rng.IntN(20); {
	case n < 14:
		return kv.Mutation{Type: kv.SetValue, Key: k, Param: append(randValue(rng), byte(rng.IntN(256)))}
	case n < 17:
		return kv.Mutation{Type: atomicTypes[rng.IntN(len(atomicTypes))], Key: k, Param: randValue(rng)}
	case n < 19:
		return kv.Mutation{Type: kv.ClearRange, Key: k, Param: kv.KeyAfter(k)}
	}
	return kv.Mutation{Type: kv.ClearRange, Key: k, Param: append(bytes.Clone(k), 'c')}
}

// onClient runs body on the client process to completion.
func (mc *moveCluster) onClient(body func(c *flow.Ctx) error) error {
	var err error
	done := false
	mc.client.Env().Spawn("check", func(c *flow.Ctx) error {
		err = body(c)
		done = true
		return nil
	})
	if !mc.s.Run(10*time.Second, func() bool { return done }) {
		return fmt.Errorf("the check did not finish (loop failure %v); recent: %v", mc.s.Controller().Loop().Failure(), mc.s.RecentEvents()[max(0, len(mc.s.RecentEvents())-15):])
	}
	return err
}

func modelIn(st map[string][]byte, r kv.KeyRange) []kv.KeyValue {
	out, _ := modelRange(st, r, false, 0, 0)
	return out
}

// compareCopies checks that the destination's copy of the moved range
// equals the source's and the model's at versions from `from` to the
// newest both have.
func (mc *moveCluster) compareCopies(from kv.Version, n int) error {
	rng := testRand(uint64(from))
	return mc.onClient(func(c *flow.Ctx) error {
		to := min(mc.src.Stats().Version, mc.dst.Stats().Version)
		from = max(from, mc.src.Stats().OldestVersion, mc.dst.Stats().OldestVersion)
		for i := range n {
			v := from + kv.Version(rng.IntN(int(to-from)+1))
			if i == 0 {
				v = from
			}
			got, err := readRange(c, mc.dst.Interface(), mc.moved, v)
			if err != nil {
				return fmt.Errorf("destination read at %d: %w", v, err)
			}
			src, err := readRange(c, mc.src.Interface(), mc.moved, v)
			if err != nil {
				return fmt.Errorf("source read at %d: %w", v, err)
			}
			want := modelIn(mc.model.at(v), mc.moved)
			if fmt.Sprint(got) != fmt.Sprint(want) || fmt.Sprint(src) != fmt.Sprint(want) {
				return fmt.Errorf("at %d: destination %v, source %v, want %v", v, got, src, want)
			}
		}
		return nil
	})
}

// refusedWhileFetching checks that no read of the moved range is served.
func (mc *moveCluster) refusedWhileFetching(c *flow.Ctx) error {
	v, di := mc.dst.Stats().Version, mc.dst.Interface()
	if _, err := getValue(c, di, []byte("d"), v); !errors.Is(err, kv.ErrWrongShardServer) {
		return fmt.Errorf("get while fetching: %v", err)
	}
	if _, err := readRange(c, di, mc.moved, v); !errors.Is(err, kv.ErrWrongShardServer) {
		return fmt.Errorf("range while fetching: %v", err)
	}
	w := startWatch(c.Env, di, &wire.WatchValueRequest{Key: []byte("d"), Version: int64(v)})
	if _, err := flow.Await(c, c.Delay(10*time.Millisecond)); err != nil {
		return err
	}
	if !w.done || !errors.Is(w.err, kv.ErrWrongShardServer) {
		return fmt.Errorf("watch while fetching: %+v", w)
	}
	return nil
}

// TestAddShardWhileWritesFlow moves a range to an empty server while
// writes to it flow: the copy is paged (a few bytes a page) from a dead
// source and a live one, and AddShard comes before the proxies tag the
// range for the new server (odd seeds) or after (even seeds). Until the
// copy is done reads of the range fail with wrong_shard_server; from the
// version it is readable on, the copy equals the source and the model at
// every version. Then RemoveShard clears it from the engine.
func TestAddShardWhileWritesFlow(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 4} {
		runAddShard(t, seed)
	}
}

func runAddShard(t *testing.T, seed uint64) {
	moved := kv.KeyRange{Begin: []byte("c"), End: []byte("f")}
	mc := newMoveCluster(t, seed, moved, Knobs{MVCCWindow: 100_000, CommitInterval: 10 * time.Millisecond,
		FetchPageBytes: 4, FetchTimeout: 100 * time.Millisecond, FutureVersionDelay: 100 * time.Millisecond,
		ByteSampleFactor: 1e-9})
	dead := mc.s.AddProcess(mc.s.AddMachine(flow.Locality{}), 1, func(*flow.Env) {})
	mc.s.Kill(dead)
	mc.write(200)
	// Slow pages: the copy spans many versions, whose mutations are held
	// back and applied over the pages.
	mc.s.Controller().Spawn("clog", func(c *flow.Ctx) error {
		rng := testRand(seed)
		for sh := mc.dst.Shards(); len(sh) == 0 || sh[0].State != ShardReadable; sh = mc.dst.Shards() {
			mc.s.ClogPair(mc.srcProc.Addr, mc.dstProc.Addr, time.Duration(2+rng.IntN(8))*time.Millisecond)
			if err := c.Sleep(time.Duration(1+rng.IntN(5)) * time.Millisecond); err != nil {
				return err
			}
		}
		return nil
	})
	t.Logf("seed %d: %d pairs in the moved range at %d", seed, len(modelIn(mc.model.at(mc.v), moved)), mc.v)
	sources := []*wire.StorageInterface{{Address: string(dead.Addr), Id: "dead", GetKeyValues: 99}, mc.src.Interface()}
	before := seed%2 == 1
	if before {
		mc.taggedFrom = mc.v + 3000
		if err := mc.dst.AddShard(moved, sources, mc.taggedFrom); err != nil {
			t.Fatal(err)
		}
	} else {
		mc.taggedFrom = mc.v + 1000
		mc.write(30)
		if err := mc.dst.AddShard(moved, sources, mc.taggedFrom); err != nil {
			t.Fatal(err)
		}
	}
	if sh := mc.dst.Shards(); len(sh) != 1 || sh[0].State != ShardFetching {
		t.Fatalf("seed %d: shards after AddShard: %+v", seed, sh)
	}
	// While fetching, nothing of the range is readable. (With AddShard
	// before the tagging, the copy waits for the tagging's first version,
	// which the writer, paused, holds back; after, the writes must flow at
	// once so that the copy runs while they do.)
	err := error(nil)
	if before {
		err = mc.onClient(mc.refusedWhileFetching)
	}
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	if err := mc.dst.AddShard(kv.KeyRange{Begin: []byte("e"), End: []byte("g")}, sources, mc.v); err == nil {
		t.Fatalf("seed %d: an overlapping AddShard succeeded", seed)
	}
	for range 20 {
		mc.write(20)
		if sh := mc.dst.Shards(); sh[0].State == ShardReadable {
			break
		}
	}
	sh := mc.dst.Shards()
	if sh[0].State != ShardReadable {
		t.Fatalf("seed %d: the shard never became readable: %+v", seed, sh)
	}
	readable := sh[0].ReadableVersion

	if readable < mc.taggedFrom {
		t.Fatalf("seed %d: readable at %d, before the tagging began at %d", seed, readable, mc.taggedFrom)
	}
	mc.write(50)
	if err := mc.compareCopies(readable, 100); err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	// Reads below the readable version, or outside the range, are refused.
	err = mc.onClient(func(c *flow.Ctx) error {
		di := mc.dst.Interface()
		if st := mc.dst.Stats(); st.OldestVersion < readable {
			if _, err := getValue(c, di, []byte("d"), readable-1); !errors.Is(err, kv.ErrWrongShardServer) {
				return fmt.Errorf("get below the readable version: %v", err)
			}
		}
		v := mc.dst.Stats().Version
		if _, err := getValue(c, di, []byte("g"), v); !errors.Is(err, kv.ErrWrongShardServer) {
			return fmt.Errorf("get outside the range: %v", err)
		}
		if _, err := readRange(c, di, kv.KeyRange{Begin: []byte("c"), End: []byte("g")}, v); !errors.Is(err, kv.ErrWrongShardServer) {
			return fmt.Errorf("range past the shard: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	mc.write(300)
	if err := mc.compareCopies(readable, 100); err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}

	// Sizes: with every pair sampled, the estimates are exact.
	wantSrc, _ := engineBytes(mc.srcEng, kv.KeyRange{Begin: []byte("a"), End: []byte("z")})
	wantDst, _ := engineBytes(mc.dstEng, moved)
	if st := mc.src.Stats(); st.BytesStored != wantSrc || st.Shards[0].Bytes != wantSrc {
		t.Errorf("seed %d: source stores %d bytes by its sample (%+v), the engine %d", seed, st.BytesStored, st.Shards, wantSrc)
	}
	if got := mc.dst.Shards()[0].Bytes; got != wantDst || got == 0 {
		t.Errorf("seed %d: destination shard of %d bytes by its sample, the engine %d", seed, got, wantDst)
	}
	err = mc.onClient(func(c *flow.Ctx) error {
		all := kv.KeyRange{Begin: []byte("a"), End: []byte("z")}
		rep, err := shardMetrics(c, mc.src.Interface(), all)
		if err != nil {
			return err
		}
		if rep.Bytes != wantSrc || len(rep.Shards) != 1 || rep.Shards[0].State != uint32(ShardReadable) {
			return fmt.Errorf("source metrics %+v, engine bytes %d", rep, wantSrc)
		}
		split := kv.KeyRange{Begin: all.Begin, End: rep.SplitKey}
		if !all.Contains(rep.SplitKey) || bytes.Equal(rep.SplitKey, all.Begin) {
			return fmt.Errorf("split key %q outside %s", rep.SplitKey, all)
		}
		if left, _ := engineBytes(mc.srcEng, split); left < wantSrc/4 || left > wantSrc*3/4 {
			return fmt.Errorf("split key %q leaves %d of %d bytes on its left", rep.SplitKey, left, wantSrc)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}

	// RemoveShard: refused at once, and gone from the engine once durable.
	if err := mc.dst.RemoveShard(moved); err != nil {
		t.Fatal(err)
	}
	synced := mc.dst.MetadataDurable()
	err = mc.onClient(func(c *flow.Ctx) error {
		if _, err := getValue(c, mc.dst.Interface(), []byte("d"), mc.dst.Stats().Version); !errors.Is(err, kv.ErrWrongShardServer) {
			return fmt.Errorf("get after RemoveShard: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	mc.write(200)
	if !synced.IsReady() || len(mc.dst.Shards()) != 0 {
		t.Fatalf("seed %d: after RemoveShard: synced %v, shards %+v", seed, synced.IsReady(), mc.dst.Shards())
	}
	if n, keys := engineBytes(mc.dstEng, kv.KeyRange{Begin: []byte{}, End: reservedPrefix}); keys != 0 {
		t.Fatalf("seed %d: the destination's engine still holds %d keys (%d bytes) after RemoveShard", seed, keys, n)
	}
	if st := mc.dst.Stats(); st.BytesStored != 0 {
		t.Fatalf("seed %d: the destination's sample still counts %d bytes", seed, st.BytesStored)
	}
	if id, _, _ := readIdentity(mc.dstEng); len(id.shards) != 0 || id.id != "dst" {
		t.Fatalf("seed %d: recorded identity after RemoveShard: %+v", seed, id)
	}
	if mc.log.failure != nil {
		t.Fatal(mc.log.failure)
	}
	m := mc.dstProc.Env().Metrics()
	if pages, held := m.Counter("storage.fetch_pages").Value(), m.Counter("storage.fetch_held_applied").Value(); pages < 5 || held == 0 {
		t.Fatalf("seed %d: the copy took %d pages and applied %d held-back mutations", seed, pages, held)
	}
	t.Logf("seed %d: before %v, tagged from %d, readable at %d, pages %d, held applied %d", seed, before, mc.taggedFrom,
		readable, m.Counter("storage.fetch_pages").Value(), m.Counter("storage.fetch_held_applied").Value())
}

// TestRollbackRefetchesShardsReadableAboveIt moves a range while the
// versions above the coming recovery version flow, so that the copy
// becomes readable above it; the recovery rolls both servers back, and the
// destination must fetch the range again, from the new generation's state,
// before it serves it: afterwards its copy equals the source and the model.
func TestRollbackRefetchesShardsReadableAboveIt(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		runRollbackRefetch(t, seed)
	}
}

func runRollbackRefetch(t *testing.T, seed uint64) {
	moved := kv.KeyRange{Begin: []byte("b"), End: []byte("e")}
	mc := newMoveCluster(t, seed, moved, Knobs{MVCCWindow: 100_000, CommitInterval: 10 * time.Millisecond,
		FetchPageBytes: 16, ByteSampleFactor: 1e-9})
	mc.write(100)
	rv := mc.v
	mc.log.kcvFrozen, mc.log.knownCommitted = true, rv
	mc.taggedFrom = rv + 1000
	if err := mc.dst.AddShard(moved, []*wire.StorageInterface{mc.src.Interface()}, mc.taggedFrom); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		mc.write(20)
		if mc.dst.Shards()[0].State == ShardReadable {
			break
		}
	}
	if sh := mc.dst.Shards()[0]; sh.State != ShardReadable || sh.ReadableVersion <= rv {
		t.Fatalf("seed %d: before the recovery the shard is %+v, recovery version %d", seed, sh, rv)
	}
	// The recovery: a new log with the versions up to rv.
	next := newFakeLog()
	next.seed(mc.log, rv)
	var nextIf *wire.TLogInterface
	mc.s.AddProcess(mc.s.AddMachine(flow.Locality{}), 1, func(env *flow.Env) { nextIf = next.boot(env) })
	mc.log, mc.v = next, rv
	mc.gen++
	mc.model.rollback(rv)
	for _, srv := range []*Server{mc.src, mc.dst} {
		if err := srv.SetLogs([]*wire.TLogInterface{nextIf}, rv); err != nil {
			t.Fatalf("seed %d: SetLogs: %v", seed, err)
		}
	}
	if sh := mc.dst.Shards()[0]; sh.State != ShardFetching {
		t.Fatalf("seed %d: after the rollback the shard is %+v, want fetching again", seed, sh)
	}
	for range 10 {
		mc.write(20)
		if mc.dst.Shards()[0].State == ShardReadable {
			break
		}
	}
	sh := mc.dst.Shards()[0]
	if sh.State != ShardReadable {
		t.Fatalf("seed %d: the shard never became readable again: %+v", seed, sh)
	}
	mc.write(50)
	if err := mc.compareCopies(sh.ReadableVersion, 60); err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	if next.failure != nil {
		t.Fatal(next.failure)
	}
}
