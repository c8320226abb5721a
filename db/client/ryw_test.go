package client

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
)

func rowsString(rows []kv.KeyValue) string {
	var b bytes.Buffer
	for _, r := range rows {
		fmt.Fprintf(&b, "%s=%s ", kv.Printable(r.Key), kv.Printable(r.Value))
	}
	return b.String()
}

func TestGetSeesOwnWritesOverStorage(t *testing.T) {
	runMem(t, func(c *flow.Ctx, m *memStore) error {
		m.load("a", "1", "b", "2", "c", "3", "d", "4")
		tr := m.newTr()
		tr.Set([]byte("a"), []byte("new"))
		tr.Clear([]byte("b"))
		tr.ClearRange([]byte("c"), []byte("d"))
		tr.Set([]byte("e"), []byte{})
		got := map[string]string{}
		for _, k := range []string{"a", "b", "c", "d", "e", "f"} {
			v, err := tr.Get(c, []byte(k))
			if err != nil {
				return err
			}
			got[k] = fmt.Sprintf("%q/%v", v, v != nil)
		}
		want := map[string]string{
			"a": `"new"/true`, "b": `""/false`, "c": `""/false`, "d": `"4"/true`, "e": `""/true`, "f": `""/false`,
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("reads (-want +got):\n%s", diff)
		}
		return nil
	})
}

func TestReadYourWritesDisabledReadsOnlyTheDatabase(t *testing.T) {
	runMem(t, func(c *flow.Ctx, m *memStore) error {
		m.load("a", "1")
		tr := m.newTr()
		if err := tr.Options().SetReadYourWritesDisable(); err != nil {
			return err
		}
		tr.Set([]byte("a"), []byte("2"))
		v, err := tr.Get(c, []byte("a"))
		if err != nil || string(v) != "1" {
			t.Errorf("Get with RYW disabled = %q, %v; want the database's 1", v, err)
		}
		if err := tr.Options().SetReadYourWritesDisable(); !errors.Is(err, kv.ErrInvalidOptionValue) {
			t.Errorf("disabling RYW after a write: %v, want invalid_option_value", err)
		}
		if _, err := flow.Await(c, tr.Watch(c, []byte("a")).Future()); !errors.Is(err, kv.ErrWatchesDisabled) {
			t.Errorf("watch with RYW disabled: %v, want watches_disabled", err)
		}
		return nil
	})
}

func TestSnapshotReadYourWritesCanBeDisabled(t *testing.T) {
	runMem(t, func(c *flow.Ctx, m *memStore) error {
		m.load("a", "1")
		tr := m.newTr()
		tr.Set([]byte("a"), []byte("2"))
		if v, err := tr.Snapshot().Get(c, []byte("a")); err != nil || string(v) != "2" {
			t.Errorf("snapshot read with snapshot RYW = %q, %v; want 2", v, err)
		}
		tr.Options().SetSnapshotRYWDisable()
		if v, err := tr.Snapshot().Get(c, []byte("a")); err != nil || string(v) != "1" {
			t.Errorf("snapshot read without snapshot RYW = %q, %v; want the database's 1", v, err)
		}
		if v, err := tr.Get(c, []byte("a")); err != nil || string(v) != "2" {
			t.Errorf("plain read = %q, %v; want 2", v, err)
		}
		return nil
	})
}

func TestRangeReadMergesWritesAndCountsLimitAfterMerging(t *testing.T) {
	runMem(t, func(c *flow.Ctx, m *memStore) error {
		m.load("a", "1", "b", "2", "c", "3", "d", "4", "e", "5", "f", "6")
		m.batch = 2 // several storage round trips per read
		tr := m.newTr()
		tr.ClearRange([]byte("b"), []byte("e"))
		tr.Set([]byte("bb"), []byte("x"))
		tr.Set([]byte("f"), []byte("F"))
		tr.Add([]byte("g"), []byte{1})
		for _, tc := range []struct {
			opts RangeOptions
			want string
		}{
			{RangeOptions{}, `a=1 bb=x e=5 f=F g=\x01 `},
			{RangeOptions{Limit: 3}, `a=1 bb=x e=5 `},
			{RangeOptions{Limit: 2, Reverse: true}, `g=\x01 f=F `},
			{RangeOptions{Limit: 4, Reverse: true, Mode: ModeSmall}, `g=\x01 f=F e=5 bb=x `},
		} {
			rows, err := tr.GetRange(c, []byte("a"), []byte("z"), tc.opts)
			if err != nil {
				return err
			}
			if got := rowsString(rows); got != tc.want {
				t.Errorf("GetRange %+v = %s, want %s", tc.opts, got, tc.want)
			}
		}
		if _, err := tr.GetRange(c, []byte("a"), []byte("z"), RangeOptions{Mode: ModeExact}); !errors.Is(err, kv.ErrExactModeWithoutLimits) {
			t.Errorf("exact mode without a limit: %v", err)
		}
		if _, err := tr.GetRange(c, []byte("z"), []byte("a"), RangeOptions{}); !errors.Is(err, kv.ErrInvertedRange) {
			t.Errorf("inverted range: %v", err)
		}
		return nil
	})
}

func TestAtomicOpsOnUnreadKeysApplyWhenRead(t *testing.T) {
	runMem(t, func(c *flow.Ctx, m *memStore) error {
		m.load("n", "\x05\x00", "s", "abc", "eq", "v")
		tr := m.newTr()
		tr.Add([]byte("n"), []byte{3, 0})
		tr.Add([]byte("n"), []byte{0xff, 0})
		tr.Min([]byte("missing"), []byte{9})
		tr.BitAnd([]byte("missing2"), []byte{6})
		tr.AppendIfFits([]byte("s"), []byte("de"))
		tr.CompareAndClear([]byte("eq"), []byte("v"))
		tr.ByteMax([]byte("s2"), []byte("q"))
		for k, want := range map[string][]byte{
			"n": {7, 1}, "missing": {9}, "missing2": {6}, "s": []byte("abcde"), "eq": nil, "s2": []byte("q"),
		} {
			v, err := tr.Get(c, []byte(k))
			if err != nil {
				return err
			}
			if !bytes.Equal(v, want) || (v == nil) != (want == nil) {
				t.Errorf("%s = %q, want %q", k, v, want)
			}
		}
		if err := tr.Commit(c); err != nil {
			return err
		}
		v, _ := m.valueAt([]byte("n"), m.version)
		if !bytes.Equal(v, []byte{7, 1}) {
			t.Errorf("committed n = %v, want [7 1]", v)
		}
		return nil
	})
}

func TestApplyAtomicEdgeCases(t *testing.T) {
	for _, tc := range []struct {
		op      kv.MutationType
		old     []byte
		exists  bool
		param   []byte
		want    []byte
		wantKey bool
	}{
		{kv.AddValue, nil, false, []byte{1, 2}, []byte{1, 2}, true},
		{kv.AddValue, []byte{0xff}, true, []byte{1, 0}, []byte{0, 1}, true},          // shorter: zero-extended
		{kv.AddValue, []byte{0xff, 0xff, 7}, true, []byte{1, 0}, []byte{0, 0}, true}, // longer: truncated, overflow dropped
		{kv.BitAnd, nil, false, []byte{0x0f}, []byte{0x0f}, true},                    // missing: param stored
		{kv.BitAnd, []byte{0xff, 0xff}, true, []byte{0x0f}, []byte{0x0f}, true},      // truncated
		{kv.BitOr, []byte{0x01}, true, []byte{0x10, 0x10}, []byte{0x11, 0x10}, true}, // extended
		{kv.BitXor, nil, false, []byte{0x3}, []byte{0x3}, true},                      // missing: zeros
		{kv.Max, []byte{1, 2}, true, []byte{2, 1}, []byte{1, 2}, true},               // little-endian: 0x0201 > 0x0102
		{kv.Max, []byte{5}, true, []byte{3, 0}, []byte{5, 0}, true},                  // existing extended to param width
		{kv.Min, nil, false, []byte{9}, []byte{9}, true},                             // missing: param stored
		{kv.Min, []byte{1, 2, 3}, true, []byte{0xff, 0xff}, []byte{1, 2}, true},      // truncated then compared
		{kv.ByteMin, []byte("abc"), true, []byte("abd"), []byte("abc"), true},        // lexicographic, whole values
		{kv.ByteMax, []byte("b"), true, []byte("abc"), []byte("b"), true},            //
		{kv.ByteMax, nil, false, []byte("x"), []byte("x"), true},                     //
		{kv.CompareAndClear, []byte("v"), true, []byte("v"), nil, false},             // equal: cleared
		{kv.CompareAndClear, []byte("v"), true, []byte("w"), []byte("v"), true},      // different: kept
		{kv.CompareAndClear, nil, false, []byte(""), nil, false},                     // missing stays missing
		{kv.AppendIfFits, bytes.Repeat([]byte{1}, kv.MaxValueSize), true, []byte{2}, bytes.Repeat([]byte{1}, kv.MaxValueSize), true},
	} {
		got, keep := kv.ApplyAtomic(tc.op, tc.old, tc.exists, tc.param)
		if !bytes.Equal(got, tc.want) || keep != tc.wantKey {
			t.Errorf("%s(%x exists=%v, %x) = %x %v, want %x %v", tc.op, tc.old, tc.exists, tc.param, got, keep, tc.want, tc.wantKey)
		}
	}
}

func TestVersionstampedWritesAreUnreadableUntilCommit(t *testing.T) {
	runMem(t, func(c *flow.Ctx, m *memStore) error {
		tr := m.newTr()
		// Key "k" + 10 placeholder bytes + "!", stamp at offset 1.
		key := append([]byte("k"), make([]byte, 10)...)
		key = append(key, '!', 1, 0, 0, 0)
		tr.SetVersionstampedKey(key, []byte("v"))
		tr.SetVersionstampedValue([]byte("val"), []byte{'x', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0})
		if _, err := tr.Get(c, []byte("val")); !errors.Is(err, kv.ErrAccessedUnreadable) {
			t.Errorf("Get of a versionstamped value: %v, want accessed_unreadable", err)
		}
		if _, err := tr.GetRange(c, []byte("k"), []byte("l"), RangeOptions{}); !errors.Is(err, kv.ErrAccessedUnreadable) {
			t.Errorf("range over a versionstamped key: %v, want accessed_unreadable", err)
		}
		if _, err := tr.Get(c, []byte("other")); err != nil {
			t.Errorf("Get of an unrelated key: %v", err)
		}
		stamp := tr.GetVersionstamp()
		if err := tr.Commit(c); err != nil {
			return err
		}
		got, err := flow.Await(c, stamp)
		if err != nil {
			return err
		}
		want := [10]byte{}
		want[7] = byte(tr.GetCommittedVersion())
		want[6] = byte(tr.GetCommittedVersion() >> 8)
		if got != want {
			t.Errorf("versionstamp %x, want %x (version %d, index 0)", got, want, tr.GetCommittedVersion())
		}
		stored := append(append([]byte("k"), got[:]...), '!')
		if v, ok := m.valueAt(stored, m.version); !ok || string(v) != "v" {
			t.Errorf("versionstamped key %q not stored", stored)
		}
		if v, _ := m.valueAt([]byte("val"), m.version); !bytes.Equal(v, append([]byte("x"), got[:]...)) {
			t.Errorf("versionstamped value %x", v)
		}
		bad := m.newTr()
		bad.SetVersionstampedKey([]byte("short\x09\x00\x00\x00"), nil)
		if err := bad.Commit(c); !errors.Is(err, kv.ErrVersionstampInvalid) {
			t.Errorf("offset past the key: %v, want versionstamp_invalid", err)
		}
		return nil
	})
}

func TestConflictRangesRecorded(t *testing.T) {
	runMem(t, func(c *flow.Ctx, m *memStore) error {
		m.load("a", "1", "b", "2", "c", "3", "d", "4")
		tr := m.newTr()
		tr.Options().SetCausalWriteRisky() // no made-up self-conflict key (unknown_test.go)
		tr.Set([]byte("w"), []byte("1"))
		if _, err := tr.Get(c, []byte("w")); err != nil { // known from the write map: no read conflict
			return err
		}
		if _, err := tr.Get(c, []byte("a")); err != nil {
			return err
		}
		if _, err := tr.Snapshot().Get(c, []byte("s")); err != nil {
			return err
		}
		if _, err := tr.GetRange(c, []byte("b"), []byte("z"), RangeOptions{Limit: 2}); err != nil {
			return err
		}
		if _, err := tr.GetRange(c, []byte("0"), []byte("9"), RangeOptions{Limit: 2, Reverse: true}); err != nil {
			return err
		}
		tr.ClearRange([]byte("x"), []byte("y"))
		tr.Options().SetNextWriteNoWriteConflictRange()
		tr.Set([]byte("nc"), nil)
		if err := tr.AddReadConflictKey([]byte("r")); err != nil {
			return err
		}
		if err := tr.Commit(c); err != nil {
			return err
		}
		req := m.requests[len(m.requests)-1]
		got := fmt.Sprint(req.ReadConflicts, " ", req.WriteConflicts)
		want := `[[a, a\x00) [b, c\x00) [0, 9) [r, r\x00)] [[w, w\x00) [x, y)]`
		if got != want {
			t.Errorf("conflict ranges\n got %s\nwant %s", got, want)
		}
		return nil
	})
}

func TestConflictsRetriedByTransact(t *testing.T) {
	runMem(t, func(c *flow.Ctx, m *memStore) error {
		m.load("x", "0")
		tr := m.newTr()
		if _, err := tr.Get(c, []byte("x")); err != nil {
			return err
		}
		other := m.newTr()
		other.Set([]byte("x"), []byte("1"))
		if err := other.Commit(c); err != nil {
			return err
		}
		tr.Set([]byte("y"), []byte("1"))
		if err := tr.Commit(c); !errors.Is(err, kv.ErrNotCommitted) {
			t.Errorf("commit after a conflicting write: %v, want not_committed", err)
		}
		// A snapshot read does not conflict.
		snap := m.newTr()
		if _, err := snap.Snapshot().Get(c, []byte("x")); err != nil {
			return err
		}
		other.Reset()
		other.Set([]byte("x"), []byte("2"))
		if err := other.Commit(c); err != nil {
			return err
		}
		snap.Set([]byte("y"), []byte("2"))
		if err := snap.Commit(c); err != nil {
			t.Errorf("snapshot reader commit: %v", err)
		}
		return nil
	})
}

func TestLimitsAreDeferredErrors(t *testing.T) {
	runMem(t, func(c *flow.Ctx, m *memStore) error {
		for _, tc := range []struct {
			name  string
			write func(tr *Transaction)
			want  error
		}{
			{"key", func(tr *Transaction) { tr.Set(make([]byte, kv.MaxKeySize+1), nil) }, kv.ErrKeyTooLarge},
			{"value", func(tr *Transaction) { tr.Set([]byte("k"), make([]byte, kv.MaxValueSize+1)) }, kv.ErrValueTooLarge},
			{"system key", func(tr *Transaction) { tr.Set([]byte("\xff/x"), nil) }, kv.ErrKeyOutsideLegalRange},
			{"atomic type", func(tr *Transaction) { tr.Atomic(kv.MutationType(99), []byte("k"), nil) }, kv.ErrInvalidMutationType},
			{"size", func(tr *Transaction) {
				_ = tr.Options().SetSizeLimit(1000)
				tr.Set([]byte("k"), make([]byte, 1000))
			}, kv.ErrTransactionTooLarge},
		} {
			tr := m.newTr()
			tc.write(tr)
			if err := tr.Commit(c); !errors.Is(err, tc.want) {
				t.Errorf("%s: commit = %v, want %v", tc.name, err, tc.want)
			}
		}
		tr := m.newTr()
		tr.Options().SetAccessSystemKeys()
		tr.Set([]byte("\xff/x"), []byte("1"))
		if err := tr.Commit(c); err != nil {
			t.Errorf("system key with access_system_keys: %v", err)
		}
		tr = m.newTr()
		if _, err := tr.Get(c, []byte("\xff/x")); !errors.Is(err, kv.ErrKeyOutsideLegalRange) {
			t.Errorf("system key read without the option: %v", err)
		}
		tr.Options().SetReadSystemKeys()
		if v, err := tr.Get(c, []byte("\xff/x")); err != nil || string(v) != "1" {
			t.Errorf("system key read with read_system_keys: %q, %v", v, err)
		}
		if v, err := tr.Get(c, make([]byte, kv.MaxKeySize+1)); err != nil || v != nil {
			t.Errorf("read of an over-long key = %q, %v; want missing", v, err)
		}
		if err := tr.Options().SetSizeLimit(10); !errors.Is(err, kv.ErrInvalidOptionValue) {
			t.Errorf("size limit 10: %v", err)
		}
		return nil
	})
}

func TestReadOnlyCommit(t *testing.T) {
	runMem(t, func(c *flow.Ctx, m *memStore) error {
		tr := m.newTr()
		if _, err := tr.Get(c, []byte("a")); err != nil {
			return err
		}
		if err := tr.Commit(c); err != nil {
			return err
		}
		if v := tr.GetCommittedVersion(); v != -1 {
			t.Errorf("committed version of a read-only transaction %d, want -1", v)
		}
		if len(m.requests) != 0 {
			t.Errorf("read-only commit reached the database")
		}
		return nil
	})
}

func TestSelectorsOverWritesAndStorage(t *testing.T) {
	runMem(t, func(c *flow.Ctx, m *memStore) error {
		m.load("b", "1", "d", "2", "f", "3")
		tr := m.newTr()
		tr.Set([]byte("c"), []byte("w"))
		tr.Clear([]byte("d"))
		view := [][]byte{[]byte("b"), []byte("c"), []byte("f")}
		for _, sel := range []kv.KeySelector{
			kv.FirstGreaterOrEqual([]byte("c")), kv.FirstGreaterThan([]byte("c")), kv.LastLessThan([]byte("c")),
			kv.LastLessOrEqual([]byte("d")), kv.FirstGreaterOrEqual([]byte("d")), {Key: []byte("a"), Offset: 3},
			{Key: []byte("a"), Offset: 5}, {Key: []byte("f"), Offset: -3}, kv.FirstGreaterOrEqual([]byte("\xff\xff")),
		} {
			got, err := tr.GetKey(c, sel)
			if err != nil {
				return err
			}
			if want := resolveSelector(view, sel, kv.SystemPrefix); !bytes.Equal(got, want) {
				t.Errorf("GetKey(%v) = %q, want %q", sel, got, want)
			}
		}
		rows, err := tr.GetRangeSelectors(c, kv.FirstGreaterThan([]byte("b")), kv.LastLessOrEqual([]byte("f")), RangeOptions{})
		if err != nil {
			return err
		}
		if got := rowsString(rows); got != "c=w " {
			t.Errorf("selector range = %s", got)
		}
		return nil
	})
}

// TestRandomOperationsMatchModel is an ApiCorrectness-style check: random
// writes and reads of one transaction over random database contents must
// match a plain model of the transaction's view.
func TestRandomOperationsMatchModel(t *testing.T) {
	for seed := uint64(1); seed <= 30; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			loop := flow.NewVirtualLoop(memEpoch)
			env := flow.NewEnv(loop, flow.EnvConfig{Address: "test:1", Seed: seed})
			m := newMemStore(env)
			a := env.Spawn("test", func(c *flow.Ctx) error { return randomOps(t, c, m) })
			loop.RunUntil(memEpoch.Add(time.Hour), func() bool { return a.Done().IsReady() })
			if err := a.Done().Err(); err != nil || !a.Done().IsReady() {
				t.Fatal(err)
			}
			env.Kill()
		})
	}
}

func randomOps(t *testing.T, c *flow.Ctx, m *memStore) error {
	rng := c.Rand()
	key := func() []byte { return []byte{byte('a' + rng.IntN(8)), byte('0' + rng.IntN(3))}[:1+rng.IntN(2)] }
	param := func() []byte {
		p := make([]byte, rng.IntN(3))
		for i := range p {
			p[i] = byte(rng.IntN(4))
		}
		return p
	}
	model := map[string][]byte{}
	for range 12 {
		k, v := key(), param()
		m.load(string(k), string(v))
		model[string(k)] = v
	}
	m.batch = rng.IntN(4)
	tr := m.newTr()
	atomics := []kv.MutationType{kv.AddValue, kv.BitAnd, kv.BitOr, kv.BitXor, kv.AppendIfFits, kv.Max, kv.Min,
		kv.ByteMin, kv.ByteMax, kv.CompareAndClear}
	sorted := func() [][]byte {
		var ks [][]byte
		for k := range model {
			ks = append(ks, []byte(k))
		}
		slices.SortFunc(ks, bytes.Compare)
		return ks
	}
	for step := range 60 {
		switch rng.IntN(8) {
		case 0:
			k, v := key(), param()
			tr.Set(k, v)
			model[string(k)] = v
		case 1:
			k := key()
			tr.Clear(k)
			delete(model, string(k))
		case 2:
			b, e := key(), key()
			if bytes.Compare(b, e) > 0 {
				b, e = e, b
			}
			tr.ClearRange(b, e)
			for k := range model {
				if (kv.KeyRange{Begin: b, End: e}).Contains([]byte(k)) {
					delete(model, k)
				}
			}
		case 3:
			k, p, op := key(), param(), atomics[rng.IntN(len(atomics))]
			tr.Atomic(op, k, p)
			old, ok := model[string(k)]
			if nv, keep := kv.ApplyAtomic(op, old, ok, p); keep {
				model[string(k)] = nv
			} else {
				delete(model, string(k))
			}
		case 4:
			k := key()
			got, err := tr.Get(c, k)
			if err != nil {
				return err
			}
			want, ok := model[string(k)]
			if !bytes.Equal(got, want) || (got != nil) != ok {
				t.Errorf("step %d: Get(%s) = %q, want %q (present %v)", step, k, got, want, ok)
			}
		case 5, 6:
			b, e := key(), key()
			if bytes.Compare(b, e) > 0 {
				b, e = e, b
			}
			o := RangeOptions{Limit: rng.IntN(4), Reverse: rng.IntN(2) == 0}
			got, err := tr.GetRange(c, b, e, o)
			if err != nil {
				return err
			}
			var want []kv.KeyValue
			for _, k := range sorted() {
				if (kv.KeyRange{Begin: b, End: e}).Contains(k) {
					want = append(want, kv.KeyValue{Key: k, Value: model[string(k)]})
				}
			}
			if o.Reverse {
				slices.Reverse(want)
			}
			if o.Limit > 0 && len(want) > o.Limit {
				want = want[:o.Limit]
			}
			if rowsString(got) != rowsString(want) {
				t.Errorf("step %d: GetRange(%s, %s, %+v) = %s, want %s", step, b, e, o, rowsString(got), rowsString(want))
			}
		case 7:
			sel := kv.KeySelector{Key: key(), OrEqual: rng.IntN(2) == 0, Offset: rng.IntN(5) - 2}
			got, err := tr.GetKey(c, sel)
			if err != nil {
				return err
			}
			if want := resolveSelector(sorted(), sel, kv.SystemPrefix); !bytes.Equal(got, want) {
				t.Errorf("step %d: GetKey(%v) = %q, want %q", step, sel, got, want)
			}
		}
	}
	if err := tr.Commit(c); err != nil {
		return err
	}
	for k, want := range model {
		if got, ok := m.valueAt([]byte(k), m.version); !ok || !bytes.Equal(got, want) {
			t.Errorf("after commit %s = %q (present %v), want %q", k, got, ok, want)
		}
	}
	for _, k := range m.keysAt(m.version) {
		if _, ok := model[string(k)]; !ok {
			t.Errorf("after commit %s present, model has it missing", k)
		}
	}
	return nil
}
