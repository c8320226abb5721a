package client

import (
	"fmt"
	"testing"
	"time"

	"github.com/strata-db/strata/db/flow"
)

// benchMem runs body as one actor against a memStore on a virtual loop;
// the measured cost is the client's CPU work (and the runtime's actor
// switches), not the store's simulated latency.
func benchMem(b *testing.B, body func(c *flow.Ctx, m *memStore)) {
	loop := flow.NewVirtualLoop(memEpoch)
	env := flow.NewEnv(loop, flow.EnvConfig{Address: "bench:1", Seed: 1})
	m := newMemStore(env)
	a := env.Spawn("bench", func(c *flow.Ctx) error { body(c, m); return nil })
	loop.RunUntil(memEpoch.Add(1000*time.Hour), func() bool { return a.Done().IsReady() })
	env.Kill()
}

// BenchmarkGetFromWriteMap: a read answered by the transaction's own writes.
func BenchmarkGetFromWriteMap(b *testing.B) {
	benchMem(b, func(c *flow.Ctx, m *memStore) {
		tr := m.newTr()
		for i := range 1000 {
			tr.Set([]byte(fmt.Sprintf("k%04d", i)), []byte("v"))
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := tr.Get(c, []byte(fmt.Sprintf("k%04d", i%1000))); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkGetFromStorage: a read that goes to the backend (one actor for
// the read).
func BenchmarkGetFromStorage(b *testing.B) {
	benchMem(b, func(c *flow.Ctx, m *memStore) {
		m.load("k", "v")
		tr := m.newTr()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := tr.Get(c, []byte("k")); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSet: buffering a write (write map, mutation log, conflict range).
func BenchmarkSet(b *testing.B) {
	benchMem(b, func(c *flow.Ctx, m *memStore) {
		tr := m.newTr()
		keys := make([][]byte, 10000)
		for i := range keys {
			keys[i] = []byte(fmt.Sprintf("k%05d", (i*7919)%len(keys)))
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if i%len(keys) == 0 {
				tr.Reset()
			}
			tr.Set(keys[i%len(keys)], []byte("value"))
		}
	})
}

// BenchmarkRangeMerge: a 100-row range read merged with 50 buffered writes
// and a clear.
func BenchmarkRangeMerge(b *testing.B) {
	benchMem(b, func(c *flow.Ctx, m *memStore) {
		var rows []string
		for i := range 100 {
			rows = append(rows, fmt.Sprintf("r%03d", i*2), "v")
		}
		m.load(rows...)
		tr := m.newTr()
		for i := range 50 {
			tr.Set([]byte(fmt.Sprintf("r%03d", i*4+1)), []byte("w"))
		}
		tr.ClearRange([]byte("r050"), []byte("r060"))
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := tr.Snapshot().GetRange(c, []byte("r"), []byte("s"), RangeOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
