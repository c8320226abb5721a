package storage

import (
	"fmt"
	"testing"

	"github.com/strata-db/strata/db/kv"
)

// benchStore returns a window of n keys written over n/10 versions (every
// tenth version also clears a small range), over an engine holding n other
// keys.
func benchStore(n int) *vstore {
	eng := &fakeEngine{}
	b := &fakeBatch{}
	for i := range n {
		b.Set([]byte(fmt.Sprintf("key%08d", 2*i+1)), []byte("engine-value"))
	}
	eng.applyBatch(b)
	st := newVStore(eng)
	for i := range n {
		v := kv.Version(1 + i/10)
		_ = st.apply(v, kv.Mutation{Type: kv.SetValue, Key: []byte(fmt.Sprintf("key%08d", 2*i)), Param: []byte("window-value")})
		if i%100 == 0 {
			_ = st.apply(v, kv.Mutation{Type: kv.ClearRange, Key: []byte(fmt.Sprintf("key%08d", 2*i+3)),
				Param: []byte(fmt.Sprintf("key%08d", 2*i+6))})
		}
	}
	return st
}

// BenchmarkApply measures applying mutations (sets and atomic adds) into
// the window: the storage server's write throughput before durability.
func BenchmarkApply(b *testing.B) {
	st := newVStore(&fakeEngine{})
	one := []byte{1, 0, 0, 0}
	i := 0
	for b.Loop() {
		key := []byte(fmt.Sprintf("key%08d", i%100_000))
		typ := kv.SetValue
		if i%2 == 1 {
			typ = kv.AddValue
		}
		if err := st.apply(kv.Version(1+i/100), kv.Mutation{Type: typ, Key: key, Param: one}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkGet measures a point read at a version inside a window of
// 100,000 keys (about 1,000 range clears) over an engine of as many.
func BenchmarkGet(b *testing.B) {
	st := benchStore(100_000)
	i := 0
	for b.Loop() {
		key := []byte(fmt.Sprintf("key%08d", i%200_000))
		if _, _, err := st.get(key, kv.Version(1+(i%10_000))); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkGetRange measures a 100-row range read merging the window with
// the engine.
func BenchmarkGetRange(b *testing.B) {
	st := benchStore(100_000)
	i := 0
	for b.Loop() {
		begin := []byte(fmt.Sprintf("key%08d", (i*97)%190_000))
		kvs, _, err := st.getRange(kv.KeyRange{Begin: begin, End: []byte("l")}, 10_000, i%2 == 0, 100, 0)
		if err != nil || len(kvs) != 100 {
			b.Fatalf("%d rows, %v", len(kvs), err)
		}
		i++
	}
}

// BenchmarkWindowChurn measures the steady state of a storage server under
// one-key writes at random keys: each mutation enters a window of about
// 100,000 keys and, once durable, leaves it (forget). Keys are random, as
// a uniform write load makes them, so inserts land all over the window's
// ordered key set.
func BenchmarkWindowChurn(b *testing.B) {
	const window, perVersion, forgetEvery = 100_000, 20, 1000
	st := newVStore(&fakeEngine{})
	value := []byte("a value of about the 90-10 workload's size")
	i := 0
	apply := func() {
		key := fmt.Appendf(nil, "bench/%010d", splitmix(uint64(i))%1_000_000)
		v := kv.Version(1 + i/perVersion)
		if err := st.apply(v, kv.Mutation{Type: kv.SetValue, Key: key, Param: value}); err != nil {
			b.Fatal(err)
		}
		if i%forgetEvery == 0 {
			st.forget(v - window/perVersion)
		}
		i++
	}
	for range window {
		apply()
	}
	for b.Loop() {
		apply()
	}
}

// splitmix is SplitMix64's output function: a fixed, well-mixed sequence of
// key numbers, the same every run.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
