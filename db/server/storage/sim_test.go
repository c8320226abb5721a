package storage

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/wire"
)

const simTag = 7

// fakeLog serves TLogPeek and TLogPop from memory, as txn.proto describes
// them: a peek long-polls until a version >= begin is committed, then
// returns the tag's versions from begin and end = the committed version + 1.
// commit writes simTag's mutations; commitTagged those of several tags.
type fakeLog struct {
	committed kv.Version
	// knownCommitted is what peek replies report; like a commit proxy's,
	// it trails committed by one version unless frozen.
	knownCommitted kv.Version
	kcvFrozen      bool
	msgs           map[uint32][]*wire.VersionedMutations
	popped         map[uint32]kv.Version
	bump           flow.Promise[struct{}]
	// peekBegins records every peek's begin, to check where a rebooted
	// server resumes.
	peekBegins []kv.Version
	failure    error
}

func newFakeLog() *fakeLog {
	return &fakeLog{bump: flow.NewPromise[struct{}](), msgs: map[uint32][]*wire.VersionedMutations{},
		popped: map[uint32]kv.Version{}}
}

// commit appends version v with muts (possibly none) for simTag.
func (l *fakeLog) commit(v kv.Version, muts []kv.Mutation) {
	l.commitTagged(v, map[uint32][]kv.Mutation{simTag: muts})
}

// commitTagged appends version v with each tag's mutations.
func (l *fakeLog) commitTagged(v kv.Version, byTag map[uint32][]kv.Mutation) {
	for tag, muts := range byTag {
		if len(muts) == 0 {
			continue
		}
		vm := &wire.VersionedMutations{Version: int64(v)}
		for _, m := range muts {
			vm.Mutations = append(vm.Mutations, &wire.Mutation{Type: uint32(m.Type), Key: m.Key, Param: m.Param})
		}
		l.msgs[tag] = append(l.msgs[tag], vm)
	}
	if !l.kcvFrozen {
		l.knownCommitted = l.committed
	}
	l.committed = v
	b := l.bump
	l.bump = flow.NewPromise[struct{}]()
	b.Send(struct{}{})
}

func (l *fakeLog) boot(env *flow.Env) *wire.TLogInterface {
	peek := flow.Listen(env, 0, flow.ProtoCodec[*wire.TLogPeekRequest](), flow.ProtoCodec[*wire.TLogPeekReply]())
	pop := flow.Listen(env, 0, flow.ProtoCodec[*wire.TLogPopRequest](), flow.ProtoCodec[*wire.TLogPopReply]())
	env.Spawn("FakeLogPeek", func(c *flow.Ctx) error {
		for {
			r, err := peek.Requests().Next(c)
			if err != nil {
				return err
			}
			env.Spawn("FakeLogPeekOne", func(c *flow.Ctx) error {
				begin, tag := kv.Version(r.Msg.Begin), r.Msg.Tag
				l.peekBegins = append(l.peekBegins, begin)
				if begin < l.popped[tag] {
					l.failure = fmt.Errorf("peek of tag %d from %d, below the popped version %d", tag, begin, l.popped[tag])
				}
				for l.committed < begin {
					if _, err := flow.Await(c, l.bump.Future()); err != nil {
						return err
					}
				}
				rep := &wire.TLogPeekReply{End: int64(l.committed + 1), Popped: int64(l.popped[tag]),
					KnownCommittedVersion: int64(l.knownCommitted)}
				for _, vm := range l.msgs[tag] {
					if kv.Version(vm.Version) >= begin && len(rep.Messages) < 50 {
						rep.Messages = append(rep.Messages, vm)
						rep.End = vm.Version + 1
					}
				}
				if len(rep.Messages) < 50 {
					rep.End = int64(l.committed + 1)
				}
				r.Reply(rep)
				return nil
			})
		}
	})
	env.Spawn("FakeLogPop", func(c *flow.Ctx) error {
		for {
			r, err := pop.Requests().Next(c)
			if err != nil {
				return err
			}
			if to, tag := kv.Version(r.Msg.To), r.Msg.Tag; to > l.popped[tag] {
				l.popped[tag] = to
				msgs := l.msgs[tag]
				i := 0
				for i < len(msgs) && kv.Version(msgs[i].Version) < to {
					i++
				}
				l.msgs[tag] = msgs[i:]
			}
			r.Reply(&wire.TLogPopReply{})
		}
	})
	return &wire.TLogInterface{Address: string(env.Address()), Id: "fakelog",
		Peek: peek.Stream().Endpoint().Token, Pop: pop.Stream().Endpoint().Token}
}

// serverOnFakeLog starts, in a new simulation, a fakeLog and one storage
// server (simTag, shard [, z), a fakeEngine, knobs) pulling from it.
func serverOnFakeLog(t *testing.T, seed uint64, knobs Knobs) (*sim.Simulation, *fakeLog, *wire.TLogInterface, *Server) {
	t.Helper()
	s := sim.New(seed, sim.Options{})
	log := newFakeLog()
	var logIf *wire.TLogInterface
	s.AddProcess(s.AddMachine(flow.Locality{}), 1, func(env *flow.Env) { logIf = log.boot(env) })
	var srv *Server
	s.AddProcess(s.AddMachine(flow.Locality{}), 1, func(env *flow.Env) {
		var err error
		srv, err = New(env, Config{ID: "ss", Tag: simTag, Shard: kv.KeyRange{End: []byte("z")}, Engine: &fakeEngine{},
			Logs: []*wire.TLogInterface{logIf}, Knobs: knobs})
		if err != nil {
			t.Fatal(err)
		}
	})
	return s, log, logIf, srv
}

// storageHarness runs one storage server against a fakeLog in a
// simulation, with a writer feeding the log, readers checking every reply
// against the model, and a kill and reboot of the server.
type storageHarness struct {
	t      *testing.T
	s      *sim.Simulation
	log    *fakeLog
	logIf  *wire.TLogInterface
	eng    *fakeEngine
	shard  kv.KeyRange
	model  *model
	server *Server
	proc   *sim.Process
	// boots counts the server's incarnations; a read that straddles a kill
	// may fail with a connection error.
	boots    int
	failures []string
	checked  map[string]int
	knobs    Knobs
	// chaos clogs the network and randomises the runtime's knobs.
	chaos bool
}

func (h *storageHarness) fail(format string, args ...any) {
	if len(h.failures) < 10 {
		h.failures = append(h.failures, fmt.Sprintf("%v: ", h.s.Elapsed())+fmt.Sprintf(format, args...))
	}
}

func (h *storageHarness) bootStorage(env *flow.Env) {
	h.boots++
	srv, err := New(env, Config{ID: "ss1", Tag: simTag, Shard: h.shard, Engine: h.eng,
		Logs: []*wire.TLogInterface{h.logIf}, Knobs: h.knobs})
	if err != nil {
		h.fail("boot: %v", err)
		return
	}
	if h.boots > 1 {
		durable, _ := readDurableVersion(h.eng)
		if srv.Stats().DurableVersion != durable || srv.Stats().Version != durable {
			h.fail("rebooted server at %+v, engine durable version %d", srv.Stats(), durable)
		}
		h.checked["reboot"]++
	}
	h.server = srv
}

// writer commits a version every few milliseconds, most with random
// mutations, and records each in the model.
func (h *storageHarness) writer(c *flow.Ctx, stop time.Time) error {
	rng := c.Rand()
	for c.Now().Before(stop) {
		if err := c.Sleep(time.Duration(1+rng.IntN(20)) * time.Millisecond); err != nil {
			return err
		}
		v := kv.Version(c.Now().Sub(sim.Epoch) / time.Microsecond)
		if v <= h.log.committed {
			v = h.log.committed + 1
		}
		var muts []kv.Mutation
		if rng.IntN(4) != 0 {
			for range 1 + rng.IntN(4) {
				mu := randMutation(rng)
				h.model.apply(mu)
				if clipped, ok := clipToShard(mu, h.shard); ok {
					muts = append(muts, clipped)
				}
			}
		}
		h.model.commit(v)
		h.log.commit(v, muts)
	}
	return nil
}

func (h *storageHarness) iface() (*wire.StorageInterface, int) {
	if h.server == nil || !h.proc.Alive() {
		return nil, h.boots
	}
	return h.server.Interface(), h.boots
}

// acceptable reports whether err is a legitimate answer to a read at v
// that started in incarnation boot.
func (h *storageHarness) acceptable(err error, v kv.Version, boot int) bool {
	switch {
	case errors.Is(err, kv.ErrTransactionTooOld):
		if h.server != nil && v < h.server.Stats().OldestVersion {
			h.checked["too_old"]++
			return true
		}
		return false
	case boot != h.boots || !h.proc.Alive():
		return true // the server died under the read
	case h.chaos && (errors.Is(err, flow.ErrRequestMaybeDelivered) || errors.Is(err, kv.ErrFutureVersion)):
		// A clogged link makes the failure monitor give up on the server,
		// or holds back the server's peeks.
		h.checked["chaos_error"]++
		return true
	}
	return false
}

// reader issues random reads at random versions of the window and checks
// them against the model.
func (h *storageHarness) reader(c *flow.Ctx, stop time.Time) error {
	rng := c.Rand()
	for c.Now().Before(stop) {
		if err := c.Sleep(time.Duration(1+rng.IntN(10)) * time.Millisecond); err != nil {
			return err
		}
		si, boot := h.iface()
		if si == nil {
			continue
		}
		st := h.server.Stats()
		v := st.OldestVersion + kv.Version(rng.IntN(int(st.Version-st.OldestVersion)+1))
		if rng.IntN(50) == 0 {
			v = st.OldestVersion - 1 - kv.Version(rng.IntN(1000))
		}
		want := h.model.at(v)
		var err error
		switch rng.IntN(3) {
		case 0:
			err = h.checkGet(c, si, randKey(rng), v, want)
		case 1:
			err = h.checkRange(c, rng.IntN(2) == 0, rng.IntN(6), rng.IntN(3)*5, si, v, want, randKey(rng), randKey(rng))
		case 2:
			err = h.checkGetKey(c, si, randSelector(rng), v, want)
		}
		if err != nil && !h.acceptable(err, v, boot) {
			h.fail("read at %d (server %+v): %v", v, h.server.Stats(), err)
		}
	}
	return nil
}

func (h *storageHarness) checkGet(c *flow.Ctx, si *wire.StorageInterface, key []byte, v kv.Version, want map[string][]byte) error {
	rs := flow.NewRequestStream(flow.Endpoint{Addr: flow.Address(si.Address), Token: si.GetValue},
		flow.ProtoCodec[*wire.GetValueRequest](), flow.ProtoCodec[*wire.GetValueReply]())
	rep, err := flow.Await(c, rs.GetReply(c.Env, &wire.GetValueRequest{Key: key, Version: int64(v)}))
	if !h.shard.Contains(key) {
		if errors.Is(err, kv.ErrWrongShardServer) {
			h.checked["wrong_shard"]++
		} else if !h.acceptable(err, v, h.boots) {
			h.fail("get(%q) outside the shard: %v, want wrong_shard_server", key, err)
		}
		return nil
	}
	if err != nil {
		return err
	}
	wv, ok := want[string(key)]
	if rep.Present != ok || !bytes.Equal(rep.Value, wv) {
		h.fail("get(%q)@%d = %q %v, want %q %v", key, v, rep.Value, rep.Present, wv, ok)
	}
	h.checked["get"]++
	return nil
}

func (h *storageHarness) checkRange(c *flow.Ctx, reverse bool, limit, byteLimit int, si *wire.StorageInterface, v kv.Version, want map[string][]byte, a, b []byte) error {
	r := kv.KeyRange{Begin: a, End: b}
	owned := r.Empty() || (bytes.Compare(r.Begin, h.shard.Begin) >= 0 && bytes.Compare(r.End, h.shard.End) <= 0)
	if c.Rand().IntN(4) != 0 {
		owned = true
		if bytes.Compare(r.Begin, h.shard.Begin) < 0 {
			r.Begin = h.shard.Begin
		}
		if bytes.Compare(r.End, h.shard.End) > 0 {
			r.End = h.shard.End
		}
	}
	rs := flow.NewRequestStream(flow.Endpoint{Addr: flow.Address(si.Address), Token: si.GetKeyValues},
		flow.ProtoCodec[*wire.GetKeyValuesRequest](), flow.ProtoCodec[*wire.GetKeyValuesReply]())
	rep, err := flow.Await(c, rs.GetReply(c.Env, &wire.GetKeyValuesRequest{Begin: r.Begin, End: r.End,
		Version: int64(v), Limit: int32(limit), LimitBytes: int32(byteLimit), Reverse: reverse}))
	if !owned {
		if errors.Is(err, kv.ErrWrongShardServer) {
			h.checked["wrong_shard_range"]++
		} else if !h.acceptable(err, v, h.boots) {
			h.fail("range %s outside the shard: %v, want wrong_shard_server", r, err)
		}
		return nil
	}
	if err != nil {
		return err
	}
	inShard := map[string][]byte{}
	for k, val := range want {
		if h.shard.Contains([]byte(k)) {
			inShard[k] = val
		}
	}
	wantKVs, wantMore := modelRange(inShard, r, reverse, limit, byteLimit)
	got := make([]kv.KeyValue, len(rep.Data))
	for i, p := range rep.Data {
		got[i] = kv.KeyValue{Key: p.Key, Value: p.Value}
	}
	if fmt.Sprint(got) != fmt.Sprint(wantKVs) || rep.More != wantMore {
		h.fail("range %s@%d reverse %v limit %d bytes %d = %v more %v, want %v more %v",
			r, v, reverse, limit, byteLimit, got, rep.More, wantKVs, wantMore)
	}
	h.checked["range"]++
	return nil
}

func (h *storageHarness) checkGetKey(c *flow.Ctx, si *wire.StorageInterface, sel kv.KeySelector, v kv.Version, want map[string][]byte) error {
	rs := flow.NewRequestStream(flow.Endpoint{Addr: flow.Address(si.Address), Token: si.GetKey},
		flow.ProtoCodec[*wire.GetKeyRequest](), flow.ProtoCodec[*wire.GetKeyReply]())
	rep, err := flow.Await(c, rs.GetReply(c.Env, &wire.GetKeyRequest{Version: int64(v),
		Selector: &wire.KeySelector{Key: sel.Key, OrEqual: sel.OrEqual, Offset: int32(sel.Offset)}}))
	if !selectorInShard(sel, h.shard) {
		if !errors.Is(err, kv.ErrWrongShardServer) && !h.acceptable(err, v, h.boots) {
			h.fail("getKey(%s) outside the shard: %v, want wrong_shard_server", sel, err)
		}
		return nil
	}
	if err != nil {
		return err
	}
	got := kv.KeySelector{Key: rep.Selector.Key, OrEqual: rep.Selector.OrEqual, Offset: int(rep.Selector.Offset)}
	end := []byte("\xff\xff")
	if w, g := modelSelect(want, sel, end), modelSelect(want, got, end); !bytes.Equal(w, g) {
		h.fail("getKey(%s)@%d = %s, selecting %q, want %q", sel, v, got, g, w)
	}
	h.checked["get_key"]++
	return nil
}

// futureReads checks that a read far above the server's version fails
// with future_version after the wait, and one just above it succeeds once
// the version arrives.
func (h *storageHarness) futureReads(c *flow.Ctx, stop time.Time) error {
	for c.Now().Before(stop) {
		if err := c.Sleep(700 * time.Millisecond); err != nil {
			return err
		}
		si, boot := h.iface()
		if si == nil {
			continue
		}
		rs := flow.NewRequestStream(flow.Endpoint{Addr: flow.Address(si.Address), Token: si.GetValue},
			flow.ProtoCodec[*wire.GetValueRequest](), flow.ProtoCodec[*wire.GetValueReply]())
		far := h.server.Stats().Version + 100*kv.VersionsPerSecond
		start := c.Now()
		_, err := flow.Await(c, rs.GetReply(c.Env, &wire.GetValueRequest{Key: []byte("c"), Version: int64(far)}))
		switch {
		case errors.Is(err, kv.ErrFutureVersion):
			if waited := c.Now().Sub(start); waited < h.knobs.FutureVersionDelay {
				h.fail("future_version after %v, before the %v wait", waited, h.knobs.FutureVersionDelay)
			}
			h.checked["future_version"]++
		case err == nil:
			h.fail("read at a version 100 s ahead succeeded")
		case !h.acceptable(err, far, boot):
			h.fail("read at a future version: %v", err)
		}
		if si, boot = h.iface(); si == nil || c.Now().Add(time.Second).After(stop) {
			continue // near the end the writer stops and the version no longer moves
		}
		near := h.server.Stats().Version + 20_000 // the writer gets there within ~20 ms
		_, err = flow.Await(c, rs.GetReply(c.Env, &wire.GetValueRequest{Key: []byte("c"), Version: int64(near)}))
		if err != nil && !h.acceptable(err, near, boot) {
			h.fail("read at a version the log reaches soon: %v", err)
		} else if err == nil {
			h.checked["waited_read"]++
		}
	}
	return nil
}

// watcher sets watches on random keys of the shard and checks that each
// fires with a version at which the key's value differs.
func (h *storageHarness) watcher(c *flow.Ctx, stop time.Time) error {
	rng := c.Rand()
	for c.Now().Before(stop) {
		if err := c.Sleep(time.Duration(rng.IntN(50)) * time.Millisecond); err != nil {
			return err
		}
		si, boot := h.iface()
		if si == nil {
			continue
		}
		key := randKey(rng)
		if !h.shard.Contains(key) {
			continue
		}
		v := h.server.Stats().Version
		val, present := h.model.at(v)[string(key)]
		if rng.IntN(5) == 0 {
			val, present = []byte("never"), true // differs already: fires at once
		}
		rs := flow.NewRequestStream(flow.Endpoint{Addr: flow.Address(si.Address), Token: si.WatchValue},
			flow.ProtoCodec[*wire.WatchValueRequest](), flow.ProtoCodec[*wire.WatchValueReply]())
		rep, err := flow.Timeout(c, rs.GetReply(c.Env, &wire.WatchValueRequest{Key: key, Value: val,
			Present: present, Version: int64(v)}), 3*time.Second)
		switch {
		case errors.Is(err, flow.ErrTimedOut):
			continue // the key was not written in time
		case err != nil:
			if !h.acceptable(err, v, boot) {
				h.fail("watch(%q): %v", key, err)
			}
			continue
		}
		w := kv.Version(rep.Version)
		got, gotPresent := h.model.at(w)[string(key)]
		if w < v || (gotPresent == present && bytes.Equal(got, val)) {
			h.fail("watch(%q=%q %v)@%d fired at %d where the value is %q %v", key, val, present, v, w, got, gotPresent)
		}
		h.checked["watch"]++
		if w > v {
			h.checked["watch_on_apply"]++
		}
	}
	return nil
}

// runStorageSim runs one seed and returns the run's trace hash and what it
// checked.
func runStorageSim(t *testing.T, seed uint64, chaos bool) (uint64, map[string]int) {
	s := sim.New(seed, sim.Options{Buggify: chaos})
	h := &storageHarness{t: t, s: s, log: newFakeLog(), eng: &fakeEngine{commitDelay: 20 * time.Millisecond},
		shard: kv.KeyRange{Begin: []byte("b"), End: []byte("g")}, model: newModel(), checked: map[string]int{},
		knobs: Knobs{MVCCWindow: kv.VersionsPerSecond, CommitInterval: 100 * time.Millisecond,
			FutureVersionDelay: 300 * time.Millisecond}}
	h.chaos = chaos
	logProc := s.AddProcess(s.AddMachine(flow.Locality{}), 4500, func(env *flow.Env) { h.logIf = h.log.boot(env) })
	h.proc = s.AddProcess(s.AddMachine(flow.Locality{}), 4500, h.bootStorage)
	stop := s.Now().Add(12 * time.Second)
	ctl := s.Controller()
	ctl.Spawn("writer", func(c *flow.Ctx) error { return h.writer(c, stop) })
	// The readers run on a process of their own: the controller has no
	// network.
	client := s.AddProcess(s.AddMachine(flow.Locality{}), 4500, func(env *flow.Env) {
		env.Spawn("reader", func(c *flow.Ctx) error { return h.reader(c, stop) })
		env.Spawn("future", func(c *flow.Ctx) error { return h.futureReads(c, stop) })
		env.Spawn("watcher", func(c *flow.Ctx) error { return h.watcher(c, stop) })
	})
	if chaos {
		targets := []flow.Address{logProc.Addr, h.proc.Addr, client.Addr}
		ctl.Spawn("clog", func(c *flow.Ctx) error {
			return s.RandomClogging(c, stop, sim.ClogOptions{Targets: targets, MeanInterval: time.Second,
				MaxClog: 400 * time.Millisecond})
		})
	}
	var durableBeforeKill kv.Version
	ctl.Spawn("killer", func(c *flow.Ctx) error {
		for range 2 {
			if err := c.Sleep(time.Duration(3000+c.Rand().IntN(2000)) * time.Millisecond); err != nil {
				return err
			}
			durableBeforeKill, _ = readDurableVersion(h.eng)
			s.Reboot(h.proc, time.Duration(100+c.Rand().IntN(500))*time.Millisecond)
		}
		return nil
	})
	s.Run(13*time.Second, nil)
	// Quiesce: the writer has stopped; the server catches up with the log.
	caughtUp := s.Run(5*time.Second, func() bool {
		return h.proc.Alive() && h.server != nil && h.server.Stats().Version == h.log.committed
	})
	if !caughtUp {
		t.Fatalf("seed %d: the server did not catch up with the log (%+v, log at %d)", seed, h.server.Stats(), h.log.committed)
		return 0, nil
	}
	if h.log.failure != nil {
		h.fail("log: %v", h.log.failure)
	}
	if d := h.server.Stats().DurableVersion; d < durableBeforeKill || d == 0 {
		h.fail("durable version %d after reboot, %d before the kill", d, durableBeforeKill)
	}
	// Everything the log ever held is in the server, exactly once: compare
	// the whole shard at the last version.
	final := kv.Version(-1)
	client.Env().Spawn("final", func(c *flow.Ctx) error {
		si, _ := h.iface()
		final = h.server.Stats().Version
		return h.checkRange(c, false, 0, 0, si, final, h.model.at(final), h.shard.Begin, h.shard.End)
	})
	s.Run(time.Second, nil)
	if final < 0 {
		h.fail("final read did not run")
	}
	for _, f := range h.failures {
		t.Errorf("seed %d: %s", seed, f)
	}
	for _, what := range []string{"get", "range", "get_key", "wrong_shard", "wrong_shard_range", "too_old", "future_version", "waited_read", "watch", "watch_on_apply", "reboot"} {
		if h.checked[what] == 0 {
			t.Errorf("seed %d: nothing checked of %s (%v)", seed, what, h.checked)
		}
	}
	if st := h.server.Stats(); st.BytesInput == 0 || st.BytesDurable == 0 {
		t.Errorf("seed %d: byte counters %+v", seed, st)
	}
	if n := h.proc.Env().Metrics().Histogram("storage.read_latency").Count(); n == 0 {
		t.Errorf("seed %d: no read latency recorded", seed)
	}
	if h.eng.commits < 10 {
		t.Errorf("seed %d: only %d engine commits", seed, h.eng.commits)
	}
	t.Logf("seed %d: checked %v; engine commits %d; server %+v", seed, h.checked, h.eng.commits, h.server.Stats())
	return s.TraceHash(), h.checked
}

func TestStorageServerSimulation(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		runStorageSim(t, seed, false)
	}
	for _, seed := range []uint64{4, 5} {
		runStorageSim(t, seed, true)
	}
}

// TestStorageServerSimulationIsDeterministic runs a seed twice: role code
// that iterated a map or read the wall clock would make the runs differ.
func TestStorageServerSimulationIsDeterministic(t *testing.T) {
	h1, c1 := runStorageSim(t, 9, true)
	h2, c2 := runStorageSim(t, 9, true)
	if h1 != h2 || fmt.Sprint(c1) != fmt.Sprint(c2) {
		t.Fatalf("two runs of seed 9 differ: trace %016x vs %016x, checked %v vs %v", h1, h2, c1, c2)
	}
}
