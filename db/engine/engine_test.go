package engine

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
)

// engineTests is the suite every engine passes.
var engineTests = []struct {
	name string
	run  func(t *testing.T, p *realProc, open opener)
}{
	{"GetSetDelete", testGetSetDelete},
	{"DeleteRange", testDeleteRange},
	{"ScanLimits", testScanLimits},
	{"AwkwardKeys", testAwkwardKeys},
	{"BatchOrder", testBatchOrder},
	{"LargeValues", testLargeValues},
	{"Stats", testStats},
	{"ReopenKeepsData", testReopen},
	{"RandomAgainstModel", testRandomAgainstModel},
	{"ReadsDuringCommit", testReadsDuringCommit},
}

func TestEngines(t *testing.T) {
	for _, kind := range engineKinds {
		for _, tc := range engineTests {
			t.Run(kind.name+"/"+tc.name, func(t *testing.T) {
				tc.run(t, startReal(t), kind.newStore(t))
			})
		}
	}
}

func mustOpen(t *testing.T, p *realProc, open opener) Engine {
	t.Helper()
	var e Engine
	err := p.run(t, func(c *flow.Ctx) (err error) {
		e, err = open(c)
		return err
	})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return e
}

func commit(t *testing.T, p *realProc, e Engine, ops ...testOp) {
	t.Helper()
	if err := p.commit(t, e, toBatch(e, ops)); err != nil {
		t.Fatalf("commit: %v", err)
	}
}

func set(k, v string) testOp      { return testOp{kind: opSet, a: k, b: v} }
func del(k string) testOp         { return testOp{kind: opDelete, a: k} }
func delRange(a, b string) testOp { return testOp{kind: opDeleteRange, a: a, b: b} }

func checkGet(t *testing.T, e Engine, key string, want string, wantFound bool) {
	t.Helper()
	v, found, err := e.Get([]byte(key))
	if err != nil {
		t.Fatalf("get %q: %v", key, err)
	}
	if found != wantFound || string(v) != want {
		t.Fatalf("get %q = %q, %v; want %q, %v", key, v, found, want, wantFound)
	}
}

func checkContents(t *testing.T, e Engine, want model) {
	t.Helper()
	got, err := dump(e)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("contents differ (-want +got):\n%s", diff)
	}
}

func testGetSetDelete(t *testing.T, p *realProc, open opener) {
	e := mustOpen(t, p, open)
	defer e.Close()
	checkGet(t, e, "a", "", false)
	commit(t, p, e, set("a", "1"), set("b", "2"))
	checkGet(t, e, "a", "1", true)
	checkGet(t, e, "b", "2", true)
	commit(t, p, e, set("a", "3"), del("b"), del("never-set"))
	checkGet(t, e, "a", "3", true)
	checkGet(t, e, "b", "", false)
	commit(t, p, e, set("empty", ""))
	checkGet(t, e, "empty", "", true)
	if err := p.commit(t, e, e.NewBatch()); err != nil {
		t.Fatalf("empty batch: %v", err)
	}
	// Returned values belong to the caller.
	v, _, _ := e.Get([]byte("a"))
	v[0] = 'x'
	checkGet(t, e, "a", "3", true)
}

func testDeleteRange(t *testing.T, p *realProc, open opener) {
	e := mustOpen(t, p, open)
	defer e.Close()
	commit(t, p, e, set("a", "1"), set("b", "2"), set("b\x00", "3"), set("c", "4"), set("d", "5"))
	commit(t, p, e, delRange("b", "c"))
	checkContents(t, e, model{"a": "1", "c": "4", "d": "5"})
	commit(t, p, e, delRange("d", "a"), delRange("c", "c")) // empty ranges delete nothing
	checkContents(t, e, model{"a": "1", "c": "4", "d": "5"})
	commit(t, p, e, delRange("", "\xff"))
	checkContents(t, e, model{})
}

func testScanLimits(t *testing.T, p *realProc, open opener) {
	e := mustOpen(t, p, open)
	defer e.Close()
	// Five pairs of two bytes each.
	commit(t, p, e, set("a", "1"), set("b", "2"), set("c", "3"), set("d", "4"), set("e", "5"))
	r := func(b, e string) kv.KeyRange { return kv.KeyRange{Begin: []byte(b), End: []byte(e)} }
	cases := []struct {
		name             string
		r                kv.KeyRange
		reverse          bool
		limit, byteLimit int
		want             string
		more             bool
	}{
		{"all", r("", "z"), false, 0, 0, "abcde", false},
		{"all reverse", r("", "z"), true, 0, 0, "edcba", false},
		{"limit", r("", "z"), false, 2, 0, "ab", true},
		{"limit reverse", r("", "z"), true, 2, 0, "ed", true},
		{"limit exactly all", r("", "z"), false, 5, 0, "abcde", false},
		{"limit above all", r("", "z"), true, 9, 0, "edcba", false},
		{"byte limit crossed by a pair", r("", "z"), false, 0, 3, "ab", true},
		{"byte limit met exactly", r("", "z"), false, 0, 4, "ab", true},
		{"byte limit below one pair", r("", "z"), true, 0, 1, "e", true},
		{"byte limit ends at the last pair", r("", "z"), false, 0, 10, "abcde", false},
		{"both limits, count first", r("", "z"), false, 1, 100, "a", true},
		{"both limits, bytes first", r("", "z"), true, 4, 3, "ed", true},
		{"end is exclusive", r("b", "d"), false, 0, 0, "bc", false},
		{"end is exclusive reverse", r("b", "d"), true, 0, 0, "cb", false},
		{"sub-range limit", r("b", "e"), true, 3, 0, "dcb", false},
		{"no keys inside", r("c\x00", "d"), false, 0, 0, "", false},
		{"empty range", r("c", "c"), false, 0, 0, "", false},
		{"inverted range", r("d", "b"), true, 0, 0, "", false},
	}
	for _, tc := range cases {
		kvs, more, err := e.Scan(tc.r, tc.reverse, tc.limit, tc.byteLimit)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var keys string
		for _, p := range kvs {
			keys += string(p.Key)
			if want := string(rune('1' + p.Key[0] - 'a')); string(p.Value) != want {
				t.Errorf("%s: value of %q = %q, want %q", tc.name, p.Key, p.Value, want)
			}
		}
		if keys != tc.want || more != tc.more {
			t.Errorf("%s: got %q more=%v, want %q more=%v", tc.name, keys, more, tc.want, tc.more)
		}
	}
}

func testAwkwardKeys(t *testing.T, p *realProc, open opener) {
	e := mustOpen(t, p, open)
	defer e.Close()
	want := model{}
	var ops []testOp
	for i, k := range testKeys {
		v := fmt.Sprintf("\x00v%d\xff", i)
		ops = append(ops, set(k, v))
		want[k] = v
	}
	commit(t, p, e, ops...)
	checkContents(t, e, want)
	for _, k := range testKeys {
		checkGet(t, e, k, want[k], true)
	}
	checkGet(t, e, "\x00\x00\x00", "", false)
	// Ranges bounded by the awkward keys.
	for _, reverse := range []bool{false, true} {
		for _, lo := range testKeys {
			for _, hi := range testKeys {
				r := kv.KeyRange{Begin: []byte(lo), End: []byte(hi)}
				got, more, err := e.Scan(r, reverse, 3, 0)
				if err != nil {
					t.Fatal(err)
				}
				wantKVs, wantMore := want.scan(r, reverse, 3, 0)
				if diff := cmp.Diff(wantKVs, got, cmpKVs); diff != "" || more != wantMore {
					t.Fatalf("scan %v reverse=%v: more=%v want %v; diff:\n%s", r, reverse, more, wantMore, diff)
				}
			}
		}
	}
}

// cmpKVs treats nil and empty slices alike.
var cmpKVs = cmp.Comparer(func(a, b []byte) bool { return bytes.Equal(a, b) })

func testBatchOrder(t *testing.T, p *realProc, open opener) {
	e := mustOpen(t, p, open)
	defer e.Close()
	commit(t, p, e, set("k", "1"), set("k", "2"))
	checkGet(t, e, "k", "2", true)
	commit(t, p, e, set("k", "3"), del("k"))
	checkGet(t, e, "k", "", false)
	commit(t, p, e, del("k"), set("k", "4"))
	checkGet(t, e, "k", "4", true)
	commit(t, p, e, delRange("a", "z"), set("k", "5"))
	checkGet(t, e, "k", "5", true)
	commit(t, p, e, set("k", "6"), set("l", "7"), delRange("a", "z"), set("m", "8"))
	checkContents(t, e, model{"m": "8"})
	b := e.NewBatch()
	b.Set([]byte("x"), []byte("1"))
	b.Delete([]byte("x"))
	b.DeleteRange(kv.KeyRange{Begin: []byte("a"), End: []byte("b")})
	if b.Len() != 3 {
		t.Fatalf("batch Len = %d, want 3", b.Len())
	}
}

func testLargeValues(t *testing.T, p *realProc, open opener) {
	e := mustOpen(t, p, open)
	rng := rand.New(rand.NewPCG(1, 2))
	want := model{}
	for i := range 12 {
		v := make([]byte, 100<<10+i)
		for j := range v {
			v[j] = byte(rng.IntN(256))
		}
		k := fmt.Sprintf("big%02d", i)
		commit(t, p, e, set(k, string(v)))
		want[k] = string(v)
	}
	huge := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	commit(t, p, e, set("huge", string(huge)))
	want["huge"] = string(huge)
	checkGet(t, e, "huge", string(huge), true)
	checkContents(t, e, want)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e = mustOpen(t, p, open)
	defer e.Close()
	checkContents(t, e, want)
}

func testStats(t *testing.T, p *realProc, open opener) {
	e := mustOpen(t, p, open)
	defer e.Close()
	before := e.Stats()
	value := bytes.Repeat([]byte{7}, 1000)
	for i := range 200 {
		commit(t, p, e, set(fmt.Sprintf("key%04d", i), string(value)))
	}
	after := e.Stats()
	if after.KeyValueBytes < before.KeyValueBytes+150_000 || after.DiskBytes < before.DiskBytes+150_000 {
		t.Fatalf("stats after writing ~200 KB: %+v, before %+v", after, before)
	}
	if _, isMemory := e.(*memoryEngine); !isMemory {
		return // Pebble's estimate counts deletions as more WAL until compaction
	}
	commit(t, p, e, delRange("key0100", "key0200"))
	deleted := e.Stats()
	if want := after.KeyValueBytes - 100*int64(len("key0000")+len(value)); deleted.KeyValueBytes != want {
		t.Fatalf("memory engine KeyValueBytes after deleting half = %d, want %d", deleted.KeyValueBytes, want)
	}
}

func testReopen(t *testing.T, p *realProc, open opener) {
	e := mustOpen(t, p, open)
	commit(t, p, e, set("a", "1"), set("b", "2"))
	commit(t, p, e, del("a"), set("c", "3"))
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Get([]byte("b")); !errors.Is(err, ErrClosed) {
		t.Fatalf("get after close: %v, want ErrClosed", err)
	}
	if err := p.commit(t, e, e.NewBatch()); !errors.Is(err, ErrClosed) {
		t.Fatalf("commit after close: %v, want ErrClosed", err)
	}
	e = mustOpen(t, p, open)
	checkContents(t, e, model{"b": "2", "c": "3"})
	commit(t, p, e, set("d", "4"))
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e = mustOpen(t, p, open)
	defer e.Close()
	checkContents(t, e, model{"b": "2", "c": "3", "d": "4"})
}

// testRandomAgainstModel commits random batches and compares random scans
// with the model, reopening now and then.
func testRandomAgainstModel(t *testing.T, p *realProc, open opener) {
	for seed := uint64(1); seed <= 4; seed++ {
		rng := rand.New(rand.NewPCG(seed, 99))
		e := mustOpen(t, p, open)
		want := model{}
		if seed > 1 {
			got, err := dump(e)
			if err != nil {
				t.Fatal(err)
			}
			want = got // continue from the previous seed's data, checked below it
		}
		for range 150 {
			ops := randomOps(rng, 8, 40)
			commit(t, p, e, ops...)
			want.apply(ops)
			r := kv.KeyRange{Begin: []byte(testKeys[rng.IntN(len(testKeys))]), End: []byte(testKeys[rng.IntN(len(testKeys))])}
			if rng.IntN(4) == 0 {
				r = everything
			}
			reverse, limit, byteLimit := rng.IntN(2) == 0, rng.IntN(6), rng.IntN(120)
			got, more, err := e.Scan(r, reverse, limit, byteLimit)
			if err != nil {
				t.Fatal(err)
			}
			wantKVs, wantMore := want.scan(r, reverse, limit, byteLimit)
			if diff := cmp.Diff(wantKVs, got, cmpKVs); diff != "" || more != wantMore {
				t.Fatalf("seed %d: scan %v reverse=%v limit=%d byteLimit=%d: more=%v want %v; diff:\n%s",
					seed, r, reverse, limit, byteLimit, more, wantMore, diff)
			}
		}
		checkContents(t, e, want)
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		e = mustOpen(t, p, open)
		checkContents(t, e, want)
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// testReadsDuringCommit reads while commits are in flight (the engine
// contract lets a storage server serve reads meanwhile) and checks every
// read sees whole batches: each batch sets all keys to one generation.
func testReadsDuringCommit(t *testing.T, p *realProc, open opener) {
	e := mustOpen(t, p, open)
	defer e.Close()
	const keys, generations = 50, 30
	setAll := func(gen int) []testOp {
		ops := make([]testOp, keys)
		for i := range ops {
			ops[i] = set(fmt.Sprintf("k%02d", i), fmt.Sprintf("gen%03d-%s", gen, bytes.Repeat([]byte{'x'}, 500)))
		}
		return ops
	}
	commit(t, p, e, setAll(0)...)
	var readsInFlight int
	err := p.run(t, func(c *flow.Ctx) error {
		inFlight, done := false, false
		writer := c.Spawn("writer", func(c *flow.Ctx) error {
			defer func() { done = true }()
			for gen := 1; gen <= generations; gen++ {
				inFlight = true
				err := e.Commit(c, toBatch(e, setAll(gen)))
				inFlight = false
				if err != nil {
					return err
				}
			}
			return nil
		})
		for !done {
			kvs, _, err := e.Scan(everything, false, 0, 0)
			if err != nil {
				return err
			}
			if len(kvs) != keys {
				return fmt.Errorf("read %d keys, want %d", len(kvs), keys)
			}
			for _, kv := range kvs[1:] {
				if !bytes.Equal(kv.Value[:6], kvs[0].Value[:6]) {
					return fmt.Errorf("read a partial batch: %q has %.6s, %q has %.6s", kvs[0].Key, kvs[0].Value, kv.Key, kv.Value)
				}
			}
			if inFlight {
				readsInFlight++
			}
			// Sleep, not Yield: on the real loop a Yield loop keeps the
			// loop from taking the commit's completion off its inbox.
			if err := c.Sleep(50 * time.Microsecond); err != nil {
				return err
			}
		}
		_, err := flow.Await(c, writer.Done())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if readsInFlight == 0 {
		t.Fatal("no read ran while a commit was in flight: Commit blocks the process")
	}
	v, _, _ := e.Get([]byte("k00"))
	if want := fmt.Sprintf("gen%03d", generations); string(v[:6]) != want {
		t.Fatalf("k00 = %.6s after all commits, want %s", v, want)
	}
}

func TestMemoryRejectsConcurrentCommit(t *testing.T) {
	p := startReal(t)
	open := engineKinds[1].newStore(t)
	e := mustOpen(t, p, open)
	defer e.Close()
	err := p.run(t, func(c *flow.Ctx) error {
		first := c.Spawn("first", func(c *flow.Ctx) error { return e.Commit(c, toBatch(e, []testOp{set("a", "1")})) })
		if err := c.Yield(); err != nil { // let first reach its sync
			return err
		}
		if err := e.Commit(c, toBatch(e, []testOp{set("b", "2")})); !errors.Is(err, ErrConcurrentCommit) {
			return fmt.Errorf("second concurrent commit: %v, want ErrConcurrentCommit", err)
		}
		_, err := flow.Await(c, first.Done())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	checkContents(t, e, model{"a": "1"})
}

func TestPebbleConcurrentCommits(t *testing.T) {
	p := startReal(t)
	e := mustOpen(t, p, engineKinds[0].newStore(t))
	defer e.Close()
	const actors, each = 64, 10
	want := model{}
	err := p.run(t, func(c *flow.Ctx) error {
		var done []flow.Future[struct{}]
		for a := range actors {
			done = append(done, c.Spawn("committer", func(c *flow.Ctx) error {
				for i := range each {
					if err := e.Commit(c, toBatch(e, []testOp{set(fmt.Sprintf("a%02d/%d", a, i), "v")})); err != nil {
						return err
					}
				}
				return nil
			}).Done())
			for i := range each {
				want[fmt.Sprintf("a%02d/%d", a, i)] = "v"
			}
		}
		for _, d := range done {
			if _, err := flow.Await(c, d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	checkContents(t, e, want)
}

// TestPebbleOnDisk runs Pebble with its defaults on a real directory.
func TestPebbleOnDisk(t *testing.T) {
	p := startReal(t)
	dir := t.TempDir()
	open := func(*flow.Ctx) (Engine, error) { return OpenPebble(dir, PebbleOptions{Logger: quietLogger{t}}) }
	e := mustOpen(t, p, open)
	commit(t, p, e, set("a", "1"), set("b", "2"), delRange("b", "c"), set("c", "3"))
	if st := e.Stats(); st.DiskBytes <= 0 {
		t.Fatalf("DiskBytes = %d on a real directory", st.DiskBytes)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e = mustOpen(t, p, open)
	defer e.Close()
	checkContents(t, e, model{"a": "1", "c": "3"})
}

// TestMemoryRefusesDamagedFiles checks that damage to synced files (not a
// torn tail of the newest log, which a crash leaves) makes Open fail with a
// corruption error rather than silently drop committed data.
func TestMemoryRefusesDamagedFiles(t *testing.T) {
	for _, name := range []string{snapshotName, logName(1)} {
		t.Run(name, func(t *testing.T) {
			p := startReal(t)
			fs, err := flow.NewOSFS(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			open := func(c *flow.Ctx) (Engine, error) { return openMemory(c, fs, "mem", smallMemoryOptions) }
			e := mustOpen(t, p, open)
			commit(t, p, e, set("a", "1"), set("b", "2"))
			// A snapshot makes "snapshot" and moves on to log 2.
			if err := p.run(t, e.(*memoryEngine).snapshot); err != nil {
				t.Fatal(err)
			}
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			if name != snapshotName {
				// Replace the snapshot by the log it was made from: log 1,
				// now followed by log 2, so not the newest.
				rec, err := appendRecord(nil, toBatch(e, []testOp{set("a", "1"), set("b", "2")}).(*memBatch).buf)
				if err != nil {
					t.Fatal(err)
				}
				if err := fs.Remove("mem/" + snapshotName); err != nil {
					t.Fatal(err)
				}
				writeFile(t, fs, "mem/"+name, rec, 0)
			}
			writeFile(t, fs, "mem/"+name, []byte{0xee}, 10)
			err = p.run(t, func(c *flow.Ctx) error {
				e, err := open(c)
				if err == nil {
					e.Close()
				}
				return err
			})
			if !errors.Is(err, errCorrupt) {
				t.Fatalf("opening with damaged %s: %v, want a corruption error", name, err)
			}
		})
	}
}

func writeFile(t *testing.T, fs flow.FS, name string, data []byte, off int64) {
	t.Helper()
	f, err := fs.Open(name, true)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(data, off); err != nil {
		t.Fatal(err)
	}
}
