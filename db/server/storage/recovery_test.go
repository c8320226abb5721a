package storage

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/wire"
)

// seed makes l a new generation's log holding old's versions up to rv,
// all of them committed (fdb.md §6.1: the recovery copies them over).
func (l *fakeLog) seed(old *fakeLog, rv kv.Version) {
	for tag, msgs := range old.msgs {
		for _, vm := range msgs {
			if kv.Version(vm.Version) <= rv {
				l.msgs[tag] = append(l.msgs[tag], vm)
			}
		}
	}
	l.committed, l.knownCommitted, l.popped = rv, rv, maps.Clone(old.popped)
}

// commitTo commits version v with muts on every log of logs.
func commitTo(logs []*fakeLog, v kv.Version, muts []kv.Mutation) {
	for _, l := range logs {
		l.commit(v, muts)
	}
}

// randomVersion returns 1 to 3 random mutations on the a..h keys.
func randomVersion(rng *rand.Rand) []kv.Mutation {
	var muts []kv.Mutation
	for range 1 + rng.IntN(3) {
		muts = append(muts, randMutation(rng))
	}
	return muts
}

// watchResult is the outcome of one watch request.
type watchResult struct {
	done    bool
	version kv.Version
	err     error
}

func startWatch(env *flow.Env, si *wire.StorageInterface, req *wire.WatchValueRequest) *watchResult {
	w := &watchResult{}
	env.Spawn("watch", func(c *flow.Ctx) error {
		rs := flow.NewRequestStream(flow.Endpoint{Addr: flow.Address(si.Address), Token: si.WatchValue},
			flow.ProtoCodec[*wire.WatchValueRequest](), flow.ProtoCodec[*wire.WatchValueReply]())
		rep, err := flow.Await(c, rs.GetReply(c.Env, req))
		w.done, w.err = true, err
		if err == nil {
			w.version = kv.Version(rep.Version)
		}
		return nil
	})
	return w
}

// TestRollbackToRecoveryVersion runs a generation whose last versions reach
// only the log the server pulls from, then a recovery: the server rolls
// back to the recovery version and pulls from the new generation's logs
// (the first of which is dead, so it fails over). Every read afterwards,
// at every version, returns exactly the committed data, and watches on
// rolled-back values fire while the others keep waiting for real changes.
func TestRollbackToRecoveryVersion(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 4} {
		runRollbackSim(t, seed)
	}
}

func runRollbackSim(t *testing.T, seed uint64) {
	s := sim.New(seed, sim.Options{})
	logs := []*fakeLog{newFakeLog(), newFakeLog(), newFakeLog(), newFakeLog()}
	ifs := make([]*wire.TLogInterface, len(logs))
	procs := make([]*sim.Process, len(logs))
	for i, l := range logs {
		procs[i] = s.AddProcess(s.AddMachine(flow.Locality{}), 1, func(env *flow.Env) { ifs[i] = l.boot(env) })
	}
	a, b, c, d := logs[0], logs[1], logs[2], logs[3]
	shard := kv.KeyRange{End: []byte("z")}
	eng := &fakeEngine{commitDelay: 3 * time.Millisecond}
	// The window reaches back past the recovery version when the reads run.
	knobs := Knobs{MVCCWindow: 300_000, CommitInterval: 10 * time.Millisecond, FutureVersionDelay: 200 * time.Millisecond}
	var srv *Server
	ssProc := s.AddProcess(s.AddMachine(flow.Locality{}), 1, func(env *flow.Env) {
		var err error
		// Tag 7 of 2 logs peeks logs[1] first: a, which gets the lost versions.
		srv, err = New(env, Config{ID: "ss", Tag: simTag, Shard: shard, Engine: eng,
			Logs: []*wire.TLogInterface{ifs[1], ifs[0]}, Knobs: knobs})
		if err != nil {
			t.Fatal(err)
		}
	})
	client := s.AddProcess(s.AddMachine(flow.Locality{}), 1, func(*flow.Env) {})
	h := &storageHarness{t: t, s: s, shard: shard, model: newModel(), checked: map[string]int{}, knobs: knobs,
		proc: ssProc, boots: 1}
	rng := testRand(seed)
	v := kv.Version(0)
	write := func(n int, to []*fakeLog, committed bool, extra ...kv.Mutation) {
		s.Controller().Spawn("writer", func(c *flow.Ctx) error {
			for i := range n {
				if err := c.Sleep(time.Millisecond); err != nil {
					return err
				}
				v += 1000
				muts := randomVersion(rng)
				if i == n/2 {
					muts = append(muts, extra...)
				}
				if committed {
					for _, mu := range muts {
						h.model.apply(mu)
					}
					h.model.commit(v)
				}
				commitTo(to, v, muts)
			}
			return nil
		})
		s.Run(time.Duration(n+50)*time.Millisecond, nil)
	}
	set := func(k, val string) kv.Mutation {
		return kv.Mutation{Type: kv.SetValue, Key: []byte(k), Param: []byte(val)}
	}

	// Generation 1: versions both logs acknowledge, then versions only a
	// gets (their commits were never acknowledged).
	write(300, []*fakeLog{a, b}, true, set("w1", "kept"), set("w2", "kept"))
	rv := v
	a.kcvFrozen, a.knownCommitted = true, rv
	write(100, []*fakeLog{a}, false, set("w1", "lost"))
	s.Run(time.Second, func() bool { return srv.Stats().Version == a.committed })
	h.server = srv
	if st := srv.Stats(); st.Version <= rv || st.DurableVersion > rv {
		t.Fatalf("seed %d: before the recovery: %+v, recovery version %d", seed, st, rv)
	}
	si := srv.Interface()
	lost := startWatch(client.Env(), si, &wire.WatchValueRequest{Key: []byte("w1"), Value: []byte("lost"),
		Present: true, Version: int64(a.committed)})
	kept := startWatch(client.Env(), si, &wire.WatchValueRequest{Key: []byte("w2"), Value: []byte("kept"),
		Present: true, Version: int64(a.committed)})
	s.Run(100*time.Millisecond, nil)
	if lost.done || kept.done || srv.Stats().Watches != 2 {
		t.Fatalf("seed %d: watches fired before any change: %+v %+v", seed, lost, kept)
	}

	// The recovery: a dies with the lost versions; c and d hold b's
	// versions up to rv; c dies too, and the server must use d.
	s.Kill(procs[0])
	c.seed(b, rv)
	d.seed(b, rv)
	s.Kill(procs[2])
	if err := srv.SetLogs([]*wire.TLogInterface{ifs[3], ifs[2]}, rv); err != nil {
		t.Fatalf("seed %d: SetLogs: %v", seed, err)
	}
	if st := srv.Stats(); st.Version != rv {
		t.Fatalf("seed %d: after SetLogs the server is at %+v, want version %d", seed, st, rv)
	}
	s.Run(50*time.Millisecond, nil)
	if !lost.done || lost.err != nil {
		t.Fatalf("seed %d: the watch on a rolled-back value did not fire: %+v", seed, lost)
	}
	if kept.done {
		t.Fatalf("seed %d: the watch on a kept value fired with no change: %+v", seed, kept)
	}

	// Generation 2 writes on; the kept watch sees its key change.
	write(150, []*fakeLog{c, d}, true, set("w2", "changed"))
	if !s.Run(time.Second, func() bool { return srv.Stats().Version == d.committed }) {
		t.Fatalf("seed %d: the server did not catch up with the new logs: %+v, log at %d", seed, srv.Stats(), d.committed)
	}
	if !kept.done || kept.err != nil || kept.version <= rv || string(h.model.at(kept.version)["w2"]) != "changed" {
		t.Fatalf("seed %d: the watch on w2 ended %+v; w2 changed after %d", seed, kept, rv)
	}
	if len(d.peekBegins) == 0 || d.peekBegins[0] != rv+1 {
		t.Fatalf("seed %d: the new live log was peeked from %v, want first from %d", seed, d.peekBegins, rv+1)
	}

	// Every version the server serves, from below the recovery version to
	// the newest (over the rolled-back ones), reads exactly the committed
	// data.
	client.Env().Spawn("reads", func(c *flow.Ctx) error {
		st := srv.Stats()
		if st.OldestVersion >= rv {
			h.fail("the window %d..%d does not reach below the recovery version %d", st.OldestVersion, st.Version, rv)
		}
		for range 300 {
			at := st.OldestVersion + kv.Version(rng.IntN(int(st.Version-st.OldestVersion)+1))
			want := h.model.at(at)
			var err error
			switch rng.IntN(3) {
			case 0:
				err = h.checkGet(c, si, randKey(rng), at, want)
			case 1:
				err = h.checkRange(c, rng.IntN(2) == 0, rng.IntN(6), 0, si, at, want, randKey(rng), randKey(rng))
			case 2:
				err = h.checkGetKey(c, si, randSelector(rng), at, want)
			}
			if err != nil {
				h.fail("read at %d: %v", at, err)
			}
		}
		return h.checkRange(c, false, 0, 0, si, st.Version, h.model.at(st.Version), shard.Begin, shard.End)
	})
	s.Run(time.Second, nil)
	write(400, []*fakeLog{c, d}, true)
	if st := srv.Stats(); st.DurableVersion <= rv || d.popped[simTag] <= rv {
		t.Fatalf("seed %d: durability did not resume in the new generation: %+v, popped %d", seed, st, d.popped[simTag])
	}
	for _, f := range h.failures {
		t.Errorf("seed %d: %s", seed, f)
	}
	if h.checked["range"] < 50 || h.checked["get"] < 50 {
		t.Errorf("seed %d: too few reads checked: %v", seed, h.checked)
	}
	// The engine never held a lost version: everything in it is committed.
	if got, _, _ := eng.Get([]byte("w1")); bytes.Equal(got, []byte("lost")) {
		t.Errorf("seed %d: the engine holds a rolled-back write", seed)
	}
	t.Logf("seed %d: rv %d, final %+v, checked %v", seed, rv, srv.Stats(), h.checked)
}

// TestSetLogsRefusesRollingBackDurableData checks that a recovery version
// below what the server made durable is refused rather than ignored.
func TestSetLogsRefusesRollingBackDurableData(t *testing.T) {
	s, log, logIf, srv := serverOnFakeLog(t, 5, Knobs{MVCCWindow: 1000, CommitInterval: 10 * time.Millisecond})
	for v := kv.Version(1000); v <= 100_000; v += 1000 {
		log.commit(v, []kv.Mutation{{Type: kv.SetValue, Key: []byte("k"), Param: []byte(fmt.Sprint(v))}})
	}
	s.Run(200*time.Millisecond, nil)
	durable := srv.Stats().DurableVersion
	if durable == 0 {
		t.Fatal("nothing durable")
	}
	if err := srv.SetLogs([]*wire.TLogInterface{logIf}, durable-1); err == nil {
		t.Fatalf("SetLogs below the durable version %d succeeded", durable)
	}
	if err := srv.SetLogs(nil, durable); err == nil {
		t.Fatal("SetLogs with no logs succeeded")
	}
}
