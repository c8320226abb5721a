package storage

import (
	"testing"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/wire"
)

// TestSetLogsAfterGapRollsBackADiscardedTail: the server pulls versions
// that only one log of generation 1 got, hears nothing of generation 2
// (whose recovery version discarded them), and joins generation 3, whose
// recovery version is above everything it holds. SetLogs alone would keep
// the discarded tail; SetLogsAfterGap rolls back to the known committed
// version and pulls generation 2's versions, so every key reads as
// committed.
func TestSetLogsAfterGapRollsBackADiscardedTail(t *testing.T) {
	s := sim.New(7, sim.Options{})
	logs := []*fakeLog{newFakeLog(), newFakeLog(), newFakeLog()}
	ifs := make([]*wire.TLogInterface, len(logs))
	for i, l := range logs {
		s.AddProcess(s.AddMachine(flow.Locality{}), 1, func(env *flow.Env) { ifs[i] = l.boot(env) })
	}
	a, b, next := logs[0], logs[1], logs[2]
	shard := kv.KeyRange{End: []byte("z")}
	knobs := Knobs{MVCCWindow: 300_000, CommitInterval: 10 * time.Millisecond, FutureVersionDelay: 200 * time.Millisecond}
	var srv *Server
	s.AddProcess(s.AddMachine(flow.Locality{}), 1, func(env *flow.Env) {
		var err error
		srv, err = New(env, Config{ID: "ss", Tag: simTag, Shard: shard, Engine: &fakeEngine{},
			Logs: []*wire.TLogInterface{ifs[1], ifs[0]}, Knobs: knobs})
		if err != nil {
			t.Fatal(err)
		}
	})
	set := func(k, v string) []kv.Mutation {
		return []kv.Mutation{{Type: kv.SetValue, Key: []byte(k), Param: []byte(v)}}
	}
	// Generation 1: k=kept on both logs, then k=lost on a only.
	commitTo([]*fakeLog{a, b}, 1000, set("k", "kept"))
	a.kcvFrozen, a.knownCommitted = true, 1000
	commitTo([]*fakeLog{a}, 2000, set("k", "lost"))
	if !s.Run(time.Second, func() bool { return srv.Stats().Version == 2000 }) {
		t.Fatalf("the server did not pull the tail: %+v", srv.Stats())
	}
	// Generation 2 recovered at 1000 from b and wrote j at 1500; generation
	// 3 recovered at 3000, above the server's version.
	next.seed(b, 1000)
	commitTo([]*fakeLog{next}, 1500, set("j", "gen2"))
	commitTo([]*fakeLog{next}, 3000, set("i", "gen3"))
	if err := srv.SetLogsAfterGap([]*wire.TLogInterface{ifs[2]}, 3000); err != nil {
		t.Fatal(err)
	}
	if !s.Run(time.Second, func() bool { return srv.Stats().Version == 3000 }) {
		t.Fatalf("the server did not catch up: %+v", srv.Stats())
	}
	want := map[string]string{"k": "kept", "j": "gen2", "i": "gen3"}
	si := srv.Interface()
	done := false
	client := s.AddProcess(s.AddMachine(flow.Locality{}), 1, func(*flow.Env) {})
	client.Env().Spawn("reads", func(c *flow.Ctx) error {
		rs := flow.NewRequestStream(flow.Endpoint{Addr: flow.Address(si.Address), Token: si.GetValue},
			flow.ProtoCodec[*wire.GetValueRequest](), flow.ProtoCodec[*wire.GetValueReply]())
		for k, v := range want {
			rep, err := flow.Await(c, rs.GetReply(c.Env, &wire.GetValueRequest{Key: []byte(k), Version: 3000}))
			if err != nil {
				t.Errorf("get %s: %v", k, err)
			} else if string(rep.GetValue()) != v {
				t.Errorf("get %s at 3000 = %q, want %q", k, rep.GetValue(), v)
			}
		}
		done = true
		return nil
	})
	s.Run(time.Second, func() bool { return done })
	if !done {
		t.Fatal("the reads did not finish")
	}
}
