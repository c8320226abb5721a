package engine

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
)

// realProc is one process on the real runtime (no network) whose actors
// tests and benchmarks run their engine calls in.
type realProc struct {
	env    *flow.Env
	loop   *flow.Loop
	cancel context.CancelFunc
	done   chan error
}

func startReal(tb testing.TB) *realProc {
	tb.Helper()
	loop := flow.NewRealLoop()
	p := &realProc{loop: loop, env: flow.NewEnv(loop, flow.EnvConfig{Seed: 1}), done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go func() { p.done <- loop.Run(ctx) }()
	tb.Cleanup(func() {
		_ = loop.Post(p.env.Kill)
		cancel()
		<-p.done
	})
	return p
}

// run runs body as an actor and waits for it. body must not call t.Fatal
// (it would stop the actor's goroutine, not the test): it returns errors.
func (p *realProc) run(tb testing.TB, body func(c *flow.Ctx) error) error {
	tb.Helper()
	res := make(chan error, 1)
	if err := p.loop.Post(func() {
		p.env.Spawn("test", body).Done().OnReady(func(_ struct{}, err error) { res <- err })
	}); err != nil {
		return err
	}
	select {
	case err := <-res:
		return err
	case <-time.After(2 * time.Minute):
		return fmt.Errorf("actor still running after 2 minutes")
	}
}

// commit commits b in an actor. Tests call the engine's other methods
// from the test goroutine while no actor runs, so t.Fatal stays on it.
func (p *realProc) commit(tb testing.TB, e Engine, b Batch) error {
	return p.run(tb, func(c *flow.Ctx) error { return e.Commit(c, b) })
}

// opener opens an engine over a store that outlives it.
type opener func(c *flow.Ctx) (Engine, error)

// quietLogger keeps Pebble's informational lines out of test output.
type quietLogger struct{ tb testing.TB }

func (quietLogger) Infof(string, ...any)           {}
func (l quietLogger) Errorf(f string, args ...any) { l.tb.Logf("pebble: "+f, args...) }
func (quietLogger) Fatalf(f string, args ...any)   { panic(fmt.Sprintf("pebble: "+f, args...)) }

// engineKind opens one kind of engine over a store that survives Close,
// so tests can reopen it.
type engineKind struct {
	name     string
	newStore func(tb testing.TB) opener
}

// smallMemoryOptions makes the memory engine snapshot often, so suites
// cover snapshots and log rotation.
var smallMemoryOptions = memoryOptions{logRatio: 2, minLogBytes: 4 << 10}

var engineKinds = []engineKind{
	{name: "ssd", newStore: func(tb testing.TB) opener {
		fs := vfs.NewMem()
		return func(*flow.Ctx) (Engine, error) {
			return OpenPebble("db", PebbleOptions{FS: fs, CacheBytes: 8 << 20, MemTableBytes: 4 << 20, Logger: quietLogger{tb}})
		}
	}},
	{name: "memory", newStore: func(tb testing.TB) opener {
		fs, err := flow.NewOSFS(tb.TempDir())
		if err != nil {
			tb.Fatal(err)
		}
		return func(c *flow.Ctx) (Engine, error) { return openMemory(c, fs, "mem", smallMemoryOptions) }
	}},
}

// model is the reference the engines are checked against: a plain map,
// with Scan's rules implemented independently from the engines.
type model map[string]string

func (m model) apply(ops []testOp) {
	for _, op := range ops {
		switch op.kind {
		case opSet:
			m[op.a] = op.b
		case opDelete:
			delete(m, op.a)
		case opDeleteRange:
			for k := range m {
				if k >= op.a && k < op.b {
					delete(m, k)
				}
			}
		}
	}
}

func (m model) scan(r kv.KeyRange, reverse bool, limit, byteLimit int) ([]kv.KeyValue, bool) {
	var keys []string
	for k := range m {
		if r.Contains([]byte(k)) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if reverse {
		slices.Reverse(keys)
	}
	var out []kv.KeyValue
	total := 0
	for i, k := range keys {
		if (limit > 0 && len(out) == limit) || (byteLimit > 0 && total >= byteLimit) {
			return out, i < len(keys)
		}
		out = append(out, kv.KeyValue{Key: []byte(k), Value: []byte(m[k])})
		total += len(k) + len(m[k])
	}
	return out, false
}

// testOp is one write, kept in a form the model and both engines accept.
type testOp struct {
	kind byte
	a, b string
}

func toBatch(e Engine, ops []testOp) Batch {
	b := e.NewBatch()
	for _, op := range ops {
		switch op.kind {
		case opSet:
			b.Set([]byte(op.a), []byte(op.b))
		case opDelete:
			b.Delete([]byte(op.a))
		case opDeleteRange:
			b.DeleteRange(kv.KeyRange{Begin: []byte(op.a), End: []byte(op.b)})
		}
	}
	return b
}

// testKeys is a small key space with the awkward bytes: the empty key,
// 0x00 and 0xff runs, and prefixes of one another.
var testKeys = awkwardKeys()

func awkwardKeys() []string {
	keys := []string{"\x00", "\x00\x00", "\x00\xff", "a", "a\x00", "ab", "b", "b\xff", "c", "\xfe", "\xff", "\xff\x00", "\xff\xff", "\xff\xff\xff"}
	if raceBuild {
		return keys // see race_on_test.go
	}
	return append([]string{""}, keys...)
}

// randomOps returns a batch of up to n random writes over testKeys and a
// few generated keys, with values sized 0 to maxValue.
func randomOps(rng *rand.Rand, n, maxValue int) []testOp {
	key := func() string {
		if rng.IntN(3) == 0 {
			return fmt.Sprintf("k%03d", rng.IntN(200))
		}
		return testKeys[rng.IntN(len(testKeys))]
	}
	ops := make([]testOp, 1+rng.IntN(n))
	for i := range ops {
		switch r := rng.IntN(10); {
		case r < 7:
			v := make([]byte, rng.IntN(maxValue+1))
			for j := range v {
				v[j] = byte(rng.IntN(256))
			}
			ops[i] = testOp{kind: opSet, a: key(), b: string(v)}
		case r < 9:
			ops[i] = testOp{kind: opDelete, a: key()}
		default:
			a, b := key(), key()
			if a > b && rng.IntN(4) != 0 { // sometimes keep an empty (inverted) range
				a, b = b, a
			}
			ops[i] = testOp{kind: opDeleteRange, a: a, b: b}
		}
	}
	return ops
}

// everything covers every key the tests write.
var everything = kv.KeyRange{Begin: nil, End: bytes.Repeat([]byte{0xff}, 8)}

// dump reads all of e.
func dump(e Engine) (model, error) {
	kvs, more, err := e.Scan(everything, false, 0, 0)
	if err != nil {
		return nil, err
	}
	if more {
		return nil, fmt.Errorf("unlimited scan reported more")
	}
	m := model{}
	for i, p := range kvs {
		if i > 0 && bytes.Compare(kvs[i-1].Key, p.Key) >= 0 {
			return nil, fmt.Errorf("scan out of order at %q", p.Key)
		}
		m[string(p.Key)] = string(p.Value)
	}
	return m, nil
}

func cloneModel(m model) model { return maps.Clone(m) }
