package storage

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
)

// model is the brute-force reference: the whole database's state after
// every version.
type model struct {
	cur    map[string][]byte
	states map[kv.Version]map[string][]byte
}

func newModel() *model {
	return &model{cur: map[string][]byte{}, states: map[kv.Version]map[string][]byte{0: {}}}
}

func (m *model) apply(mu kv.Mutation) {
	switch {
	case mu.Type == kv.SetValue:
		m.cur[string(mu.Key)] = bytes.Clone(mu.Param)
	case mu.Type == kv.ClearRange:
		r := kv.KeyRange{Begin: mu.Key, End: mu.Param}
		for k := range m.cur {
			if r.Contains([]byte(k)) {
				delete(m.cur, k)
			}
		}
	default:
		old, ok := m.cur[string(mu.Key)]
		v, keep := kv.ApplyAtomic(mu.Type, old, ok, mu.Param)
		if keep {
			m.cur[string(mu.Key)] = bytes.Clone(v)
		} else {
			delete(m.cur, string(mu.Key))
		}
	}
}

func (m *model) commit(v kv.Version) { m.states[v] = maps.Clone(m.cur) }

// at returns the state at v: that of the last version at or below it.
func (m *model) at(v kv.Version) map[string][]byte {
	best := kv.Version(-1)
	for w := range m.states {
		if w <= v && w > best {
			best = w
		}
	}
	return m.states[best]
}

func sortedKeys(st map[string][]byte) []string { return slices.Sorted(maps.Keys(st)) }

func modelRange(st map[string][]byte, r kv.KeyRange, reverse bool, limit, byteLimit int) ([]kv.KeyValue, bool) {
	var all []kv.KeyValue
	for _, k := range sortedKeys(st) {
		if r.Contains([]byte(k)) {
			all = append(all, kv.KeyValue{Key: []byte(k), Value: st[k]})
		}
	}
	if reverse {
		slices.Reverse(all)
	}
	n := 0
	for i, p := range all {
		if (limit > 0 && i >= limit) || (byteLimit > 0 && n >= byteLimit) {
			return all[:i], true
		}
		n += len(p.Key) + len(p.Value)
	}
	return all, false
}

// modelSelect resolves sel over every key of st, clamping to "" before the
// first key and to end after the last.
func modelSelect(st map[string][]byte, sel kv.KeySelector, end []byte) []byte {
	keys := sortedKeys(st)
	pos, found := slices.BinarySearch(keys, string(sel.Key))
	if found && sel.OrEqual {
		pos++
	}
	i := pos - 1 + sel.Offset
	switch {
	case i < 0:
		return []byte{}
	case i >= len(keys):
		return end
	}
	return []byte(keys[i])
}

var testAlphabet = []byte("abcdefgh")

func randKey(rng *rand.Rand) []byte {
	k := []byte{testAlphabet[rng.IntN(len(testAlphabet))]}
	if rng.IntN(2) == 0 {
		k = append(k, testAlphabet[rng.IntN(len(testAlphabet))])
	}
	return k
}

func randValue(rng *rand.Rand) []byte {
	v := make([]byte, rng.IntN(4))
	for i := range v {
		v[i] = byte(rng.IntN(4))
	}
	return v
}

var atomicTypes = []kv.MutationType{kv.AddValue, kv.BitAnd, kv.BitOr, kv.BitXor, kv.AppendIfFits,
	kv.Max, kv.Min, kv.ByteMin, kv.ByteMax, kv.CompareAndClear}

func randMutation(rng *rand.Rand) kv.Mutation {
	switch n := rng.IntN(10); {
	case n < 4:
		return kv.Mutation{Type: kv.SetValue, Key: randKey(rng), Param: randValue(rng)}
	case n < 5:
		k := randKey(rng)
		return kv.Mutation{Type: kv.ClearRange, Key: k, Param: kv.KeyAfter(k)}
	case n < 6:
		a, b := randKey(rng), randKey(rng)
		if bytes.Compare(a, b) > 0 {
			a, b = b, a
		}
		return kv.Mutation{Type: kv.ClearRange, Key: a, Param: b}
	default:
		return kv.Mutation{Type: atomicTypes[rng.IntN(len(atomicTypes))], Key: randKey(rng), Param: randValue(rng)}
	}
}

// clipToShard returns the part of mu a storage server owning shard gets,
// or false when none.
func clipToShard(mu kv.Mutation, shard kv.KeyRange) (kv.Mutation, bool) {
	if mu.Type != kv.ClearRange {
		return mu, shard.Contains(mu.Key)
	}
	r := kv.KeyRange{Begin: mu.Key, End: mu.Param}
	if !r.Intersects(shard) {
		return mu, false
	}
	if bytes.Compare(r.Begin, shard.Begin) < 0 {
		r.Begin = shard.Begin
	}
	if bytes.Compare(r.End, shard.End) > 0 {
		r.End = shard.End
	}
	return kv.Mutation{Type: kv.ClearRange, Key: r.Begin, Param: r.End}, true
}

func testRand(seed uint64) *rand.Rand {
	return flow.NewEnv(flow.NewVirtualLoop(time.Unix(0, 0)), flow.EnvConfig{Seed: seed}).Rand()
}

func randSelector(rng *rand.Rand) kv.KeySelector {
	return kv.KeySelector{Key: randKey(rng), OrEqual: rng.IntN(2) == 0, Offset: rng.IntN(9) - 4}
}

// TestVStoreMatchesModel applies random mutations at increasing versions,
// makes prefixes durable now and then, and checks every kind of read at
// random versions of the window against the brute-force model.
func TestVStoreMatchesModel(t *testing.T) {
	shards := []kv.KeyRange{
		{Begin: []byte{}, End: []byte("\xff\xff")},
		{Begin: []byte("c"), End: []byte("f")},
	}
	for seed := uint64(1); seed <= 12; seed++ {
		shard := shards[seed%2]
		t.Run(fmt.Sprintf("seed%d-shard%s", seed, shard), func(t *testing.T) {
			rng := testRand(seed)
			eng := &fakeEngine{}
			// The server's own key lies in the engine too; reads must not see it.
			eng.applyBatch(&fakeBatch{ops: []fakeOp{{opSet, durableVersionKey, []byte("x")}}})
			st := newVStore(eng)
			m := newModel()
			durable, version := kv.Version(0), kv.Version(0)
			for step := 0; step < 300; step++ {
				version += kv.Version(1 + rng.IntN(3))
				for range rng.IntN(4) {
					mu := randMutation(rng)
					m.apply(mu)
					if clipped, ok := clipToShard(mu, shard); ok {
						if err := st.apply(version, clipped); err != nil {
							t.Fatal(err)
						}
					}
				}
				m.commit(version)
				if rng.IntN(10) == 0 {
					to := durable + kv.Version(rng.IntN(int(version-durable)+1))
					b := eng.NewBatch()
					st.durableBatch(b, to)
					eng.applyBatch(b.(*fakeBatch))
					// Reads come between the slices the durability
					// actor forgets the window in.
					finish := forgetPartly(rng, st, to)
					durable = to
					for range 3 {
						v := durable + kv.Version(rng.IntN(int(version-durable)+1))
						checkReads(t, rng, st, m.at(v), v, shard)
					}
					finish()
				}
				for range 5 {
					v := durable + kv.Version(rng.IntN(int(version-durable)+1))
					checkReads(t, rng, st, m.at(v), v, shard)
				}
			}
		})
	}
}

// forgetPartly records that the engine holds the window's writes up to upTo
// and forgets a random part of them, as the durability actor does before
// it yields; finish forgets the rest.
func forgetPartly(rng *rand.Rand, st *vstore, upTo kv.Version) (finish func()) {
	st.madeDurable(upTo)
	prefix := st.durablePrefix(upTo)
	var ops []effectiveOp
	for _, vo := range prefix {
		ops = append(ops, vo.ops...)
	}
	k := rng.IntN(len(ops) + 1)
	for _, op := range ops[:k] {
		st.forgetOp(op, upTo)
	}
	return func() {
		for _, op := range ops[k:] {
			st.forgetOp(op, upTo)
		}
		st.dropDurable(len(prefix), upTo)
	}
}

func checkReads(t *testing.T, rng *rand.Rand, st *vstore, want map[string][]byte, v kv.Version, shard kv.KeyRange) {
	t.Helper()
	inShard := map[string][]byte{}
	for k, val := range want {
		if shard.Contains([]byte(k)) {
			inShard[k] = val
		}
	}
	key := randKey(rng)
	if shard.Contains(key) {
		got, ok, err := st.get(key, v)
		wv, wok := inShard[string(key)]
		if err != nil || ok != wok || !bytes.Equal(got, wv) {
			t.Fatalf("get(%s)@%d = %q %v %v, want %q %v", key, v, got, ok, err, wv, wok)
		}
	}
	r := kv.KeyRange{Begin: randKey(rng), End: randKey(rng)}
	if rng.IntN(4) == 0 {
		r = shard
	}
	if bytes.Compare(r.Begin, shard.Begin) < 0 {
		r.Begin = shard.Begin
	}
	if bytes.Compare(r.End, shard.End) > 0 {
		r.End = shard.End
	}
	reverse := rng.IntN(2) == 0
	limit, byteLimit := rng.IntN(6), 0
	if rng.IntN(3) == 0 {
		byteLimit = rng.IntN(12)
	}
	got, more, err := st.getRange(r, v, reverse, limit, byteLimit)
	if err != nil {
		t.Fatal(err)
	}
	wantKVs, wantMore := modelRange(inShard, r, reverse, limit, byteLimit)
	if diff := cmp.Diff(wantKVs, got, cmpopts.EquateEmpty()); diff != "" || more != wantMore {
		t.Fatalf("getRange(%s, reverse %v, limit %d, bytes %d)@%d more %v want %v; diff -want +got:\n%s",
			r, reverse, limit, byteLimit, v, more, wantMore, diff)
	}
	sel := randSelector(rng)
	if !selectorInShard(sel, shard) {
		return
	}
	k, off, err := st.findKey(sel, v, shard)
	if err != nil {
		t.Fatal(err)
	}
	// The reply's selector, resolved over the whole database, must select
	// what the request's selector selects.
	reply := partialSelector(k, off)
	end := []byte("\xff\xff")
	if w, g := modelSelect(want, sel, end), modelSelect(want, reply, end); !bytes.Equal(w, g) {
		t.Fatalf("findKey(%s)@%d in %s = %s (%q, %d): selects %q, want %q", sel, v, shard, reply, k, off, g, w)
	}
	if off == 0 && !shard.Contains(k) {
		t.Fatalf("findKey(%s) resolved to %q outside the shard %s", sel, k, shard)
	}
}

// rollback makes the model forget every version above rv.
func (m *model) rollback(rv kv.Version) {
	m.cur = maps.Clone(m.at(rv))
	for v := range m.states {
		if v > rv {
			delete(m.states, v)
		}
	}
}

// TestVStoreRollbackMatchesModel interleaves random writes, durability and
// rollbacks (never below the durable version) and checks every kind of read
// against the model, which forgets the rolled-back versions.
func TestVStoreRollbackMatchesModel(t *testing.T) {
	for seed := uint64(1); seed <= 12; seed++ {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			rng := testRand(seed)
			shard := kv.KeyRange{Begin: []byte{}, End: []byte("\xff\xff")}
			eng := &fakeEngine{}
			st := newVStore(eng)
			m := newModel()
			durable, version := kv.Version(0), kv.Version(0)
			rollbacks := 0
			for step := 0; step < 400; step++ {
				version += kv.Version(1 + rng.IntN(3))
				for range rng.IntN(4) {
					mu := randMutation(rng)
					m.apply(mu)
					if err := st.apply(version, mu); err != nil {
						t.Fatal(err)
					}
				}
				m.commit(version)
				switch rng.IntN(12) {
				case 0:
					to := durable + kv.Version(rng.IntN(int(version-durable)+1))
					b := eng.NewBatch()
					st.durableBatch(b, to)
					eng.applyBatch(b.(*fakeBatch))
					st.forget(to)
					durable = to
				case 1:
					rv := durable + kv.Version(rng.IntN(int(version-durable)+1))
					st.rollback(rv)
					m.rollback(rv)
					version = rv
					rollbacks++
				}
				for range 5 {
					v := durable + kv.Version(rng.IntN(int(version-durable)+1))
					checkReads(t, rng, st, m.at(v), v, shard)
				}
			}
			if rollbacks == 0 {
				t.Fatal("no rollback exercised")
			}
			// What reaches the engine is the model's final state.
			b := eng.NewBatch()
			st.durableBatch(b, version)
			eng.applyBatch(b.(*fakeBatch))
			st.forget(version)
			if st.queueBytes != 0 || len(st.hist) != 0 || st.keys.n != 0 || st.clears.size() != 1 {
				t.Fatalf("window not empty after forgetting everything: %d bytes, %d keys, %d clear segments",
					st.queueBytes, len(st.hist), st.clears.size())
			}
			got, _, err := eng.Scan(shard, false, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := modelRange(m.at(version), shard, false, 0, 0)
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("engine after the last commit (-want +got):\n%s", diff)
			}
		})
	}
}

// Point writes reach the engine in key order between range clears (a key's
// own writes in their order); a range clear stays between the writes
// before and after it.
func TestDurableBatchOrdersPointWritesBetweenClears(t *testing.T) {
	st := newVStore(&fakeEngine{})
	set := func(v kv.Version, k, val string) {
		if err := st.apply(v, kv.Mutation{Type: kv.SetValue, Key: []byte(k), Param: []byte(val)}); err != nil {
			t.Fatal(err)
		}
	}
	set(1, "c", "1")
	set(1, "a", "1")
	set(2, "b", "1")
	set(2, "a", "2")
	if err := st.apply(3, kv.Mutation{Type: kv.ClearRange, Key: []byte("a"), Param: []byte("c")}); err != nil {
		t.Fatal(err)
	}
	set(4, "b", "2")
	set(4, "a", "3")
	b := &fakeBatch{}
	st.durableBatch(b, 4)
	var got []string
	for _, op := range b.ops {
		switch op.kind {
		case opSet:
			got = append(got, fmt.Sprintf("%s=%s", op.key, op.value))
		case opDeleteRange:
			got = append(got, fmt.Sprintf("clear[%s,%s)", op.key, op.value))
		default:
			got = append(got, fmt.Sprintf("delete %s", op.key))
		}
	}
	want := []string{"a=1", "a=2", "b=1", "c=1", "clear[a,c)", "a=3", "b=2"}
	if !slices.Equal(got, want) {
		t.Fatalf("batch %q, want %q", got, want)
	}
}
