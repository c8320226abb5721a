package storage

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/wire"
)

// TestReopenRestoresIdentityAndData creates a server with two shards and a
// third one still fetching (from a source that never answers), reboots its
// process twice while writes flow, and reopens it from its engine alone:
// its ID, tag and readable shards come back, the fetching shard is dropped
// and its partial data cleared, and its data equals the model.
func TestReopenRestoresIdentityAndData(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		runReopen(t, seed)
	}
}

func runReopen(t *testing.T, seed uint64) {
	s := sim.New(seed, sim.Options{})
	log := newFakeLog()
	var logIf *wire.TLogInterface
	s.AddProcess(s.AddMachine(flow.Locality{}), 1, func(env *flow.Env) { logIf = log.boot(env) })
	dead := s.AddProcess(s.AddMachine(flow.Locality{}), 1, func(*flow.Env) {})
	s.Kill(dead)
	shards := []kv.KeyRange{{Begin: []byte("b"), End: []byte("d")}, {Begin: []byte("e"), End: []byte("g")}}
	fetching := kv.KeyRange{Begin: []byte("h"), End: []byte("i")}
	eng := &fakeEngine{commitDelay: 3 * time.Millisecond}
	knobs := Knobs{MVCCWindow: 50_000, CommitInterval: 20 * time.Millisecond, FetchTimeout: 50 * time.Millisecond,
		ByteSampleFactor: 1e-9}
	var srv *Server
	boots := 0
	var bootErr error
	proc := s.AddProcess(s.AddMachine(flow.Locality{}), 1, func(env *flow.Env) {
		boots++
		if boots == 1 {
			srv, bootErr = New(env, Config{ID: "ss-r", Tag: simTag, Shards: shards, Engine: eng,
				Logs: []*wire.TLogInterface{logIf}, Knobs: knobs})
			if bootErr == nil {
				bootErr = srv.AddShard(fetching, []*wire.StorageInterface{{Address: string(dead.Addr), GetKeyValues: 9}}, 1)
			}
			return
		}
		srv, bootErr = Reopen(env, eng, []*wire.TLogInterface{logIf}, knobs)
	})
	m := newModel()
	rng := testRand(seed)
	v := kv.Version(0)
	write := func(n int) {
		s.Controller().Spawn("writer", func(c *flow.Ctx) error {
			for range n {
				if err := c.Sleep(time.Duration(1+rng.IntN(3)) * time.Millisecond); err != nil {
					return err
				}
				v += 1000
				var muts []kv.Mutation
				for range 1 + rng.IntN(3) {
					mu := denseMutation(rng)
					m.apply(mu)
					muts = append(muts, mu)
				}
				m.commit(v)
				log.commit(v, muts)
			}
			return nil
		})
		s.Run(time.Duration(4*n+20)*time.Millisecond, nil)
	}
	write(100)
	if bootErr != nil {
		t.Fatal(bootErr)
	}
	if id, found, _ := readIdentity(eng); !found || id.id != "ss-r" || len(id.shards) != 3 {
		t.Fatalf("seed %d: recorded identity %+v (found %v)", seed, id, found)
	}
	// A partial copy of the fetching shard reached the engine.
	eng.applyBatch(&fakeBatch{ops: []fakeOp{{opSet, []byte("ha"), []byte("partial")}}})
	for reboot := range 2 {
		s.Controller().Spawn("killer", func(c *flow.Ctx) error {
			if err := c.Sleep(time.Duration(20+rng.IntN(50)) * time.Millisecond); err != nil {
				return err
			}
			s.Reboot(proc, 50*time.Millisecond)
			return nil
		})
		write(100)
		if bootErr != nil || boots != reboot+2 {
			t.Fatalf("seed %d: reboot %d: boots %d, %v", seed, reboot, boots, bootErr)
		}
		if srv.ID() != "ss-r" || srv.Tag() != simTag {
			t.Fatalf("seed %d: reopened as %q tag %d", seed, srv.ID(), srv.Tag())
		}
		var got []string
		for _, sh := range srv.Shards() {
			got = append(got, fmt.Sprintf("%s %s", sh.Range, sh.State))
		}
		if want := []string{"[b, d) readable", "[e, g) readable"}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("seed %d: reopened with shards %v, want %v", seed, got, want)
		}
	}
	if !s.Run(time.Second, func() bool { return srv.Stats().Version == v && srv.Stats().DurableVersion > v-100_000 }) {
		t.Fatalf("seed %d: the reopened server did not catch up: %+v, log at %d", seed, srv.Stats(), v)
	}
	h := &storageHarness{t: t, s: s, model: m, checked: map[string]int{}, proc: proc, boots: boots, server: srv}
	client := s.AddProcess(s.AddMachine(flow.Locality{}), 1, func(*flow.Env) {})
	done := false
	client.Env().Spawn("check", func(c *flow.Ctx) error {
		si, at := srv.Interface(), srv.Stats().Version
		for _, sh := range shards {
			h.shard = sh
			if err := h.checkRange(c, false, 0, 0, si, at, m.at(at), sh.Begin, sh.End); err != nil {
				h.fail("range %s: %v", sh, err)
			}
		}
		if _, err := getValue(c, si, []byte("ha"), at); !errors.Is(err, kv.ErrWrongShardServer) {
			h.fail("get in the dropped shard: %v", err)
		}
		done = true
		return nil
	})
	s.Run(time.Second, func() bool { return done })
	if h.checked["range"] != len(shards) {
		h.fail("checked %v", h.checked)
	}
	for _, f := range h.failures {
		t.Errorf("seed %d: %s", seed, f)
	}
	// The engine holds nothing outside the shards, and the sample counts
	// exactly what it holds.
	for _, gap := range []kv.KeyRange{{Begin: []byte{}, End: []byte("b")}, {Begin: []byte("d"), End: []byte("e")},
		{Begin: []byte("g"), End: reservedPrefix}} {
		if n, keys := engineBytes(eng, gap); keys != 0 {
			t.Errorf("seed %d: the engine holds %d keys (%d bytes) in %s, outside the shards", seed, keys, n, gap)
		}
	}
	total, _ := engineBytes(eng, kv.KeyRange{Begin: []byte{}, End: reservedPrefix})
	if st := srv.Stats(); st.BytesStored != total || total == 0 {
		t.Errorf("seed %d: the sample counts %d bytes, the engine holds %d", seed, st.BytesStored, total)
	}
	if log.failure != nil {
		t.Fatal(log.failure)
	}
}

// TestIdentityIsChecked checks that an engine is not taken over by another
// server, and that Reopen needs a recorded identity.
func TestIdentityIsChecked(t *testing.T) {
	env := flow.NewEnv(flow.NewVirtualLoop(sim.Epoch), flow.EnvConfig{Seed: 1})
	logs := []*wire.TLogInterface{{Address: "10.0.0.1:1", Peek: 1, Pop: 2}}
	if _, err := Reopen(env, &fakeEngine{}, logs, Knobs{}); !errors.Is(err, ErrNoIdentity) {
		t.Fatalf("Reopen of an empty engine: %v", err)
	}
	eng := &fakeEngine{}
	b := &fakeBatch{}
	b.Set(idKey, []byte("other"))
	b.Set(tagKey, []byte{0, 0, 0, 3})
	eng.applyBatch(b)
	if _, err := New(env, Config{ID: "mine", Tag: 3, Engine: eng, Logs: logs}); err == nil || !strings.Contains(err.Error(), "other") {
		t.Fatalf("New on another server's engine: %v", err)
	}
	if _, err := New(env, Config{ID: "other", Tag: 4, Engine: eng, Logs: logs}); err == nil {
		t.Fatal("New with another tag on a server's engine succeeded")
	}
	srv, err := New(env, Config{ID: "other", Tag: 3, Engine: eng, Logs: logs,
		Shards: []kv.KeyRange{{Begin: []byte("a"), End: []byte("b")}, {Begin: []byte("c"), End: []byte("\xff\xff\xff\xff")}}})
	if err != nil {
		t.Fatalf("New on its own engine: %v", err)
	}
	if sh := srv.Shards(); len(sh) != 2 || string(sh[1].Range.End) != string(reservedPrefix) {
		t.Fatalf("shards %+v: want two, the last clipped below the reserved keys", sh)
	}
	srv.Stop()
	overlapping := []kv.KeyRange{{Begin: []byte("a"), End: []byte("c")}, {Begin: []byte("b"), End: []byte("d")}}
	if _, err := New(env, Config{ID: "x", Engine: &fakeEngine{}, Logs: logs, Shards: overlapping}); err == nil {
		t.Fatal("New with overlapping shards succeeded")
	}
}
