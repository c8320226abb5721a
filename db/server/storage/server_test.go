package storage

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/wire"
)

func TestNewRejectsBadConfig(t *testing.T) {
	env := flow.NewEnv(flow.NewVirtualLoop(sim.Epoch), flow.EnvConfig{Seed: 1})
	logs := []*wire.TLogInterface{{Address: "10.0.0.1:1", Peek: 1, Pop: 2}}
	corrupt := &fakeEngine{}
	corrupt.applyBatch(&fakeBatch{ops: []fakeOp{{opSet, durableVersionKey, []byte("short")}}})
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no engine", Config{Logs: logs, Shard: kv.KeyRange{End: []byte("z")}}, "no engine"},
		{"no log", Config{Engine: &fakeEngine{}, Shard: kv.KeyRange{End: []byte("z")}}, "no transaction log"},
		{"empty shard", Config{Engine: &fakeEngine{}, Logs: logs, Shard: kv.KeyRange{Begin: []byte("z"), End: []byte("a")}}, "empty"},
		{"corrupt durable version", Config{Engine: corrupt, Logs: logs, Shard: kv.KeyRange{End: []byte("z")}}, "durable version record"},
	}
	for _, tc := range cases {
		if _, err := New(env, tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: New returned %v, want an error about %q", tc.name, err, tc.want)
		}
	}
}

// TestStopFailsPendingWatches checks that a stopped server answers its
// registered watches instead of leaving them hanging.
func TestStopFailsPendingWatches(t *testing.T) {
	s, _, _, srv := serverOnFakeLog(t, 1, Knobs{})
	var watchErr error
	watched := false
	s.AddProcess(s.AddMachine(flow.Locality{}), 1, func(env *flow.Env) {
		env.Spawn("watch", func(c *flow.Ctx) error {
			si := srv.Interface()
			rs := flow.NewRequestStream(flow.Endpoint{Addr: flow.Address(si.Address), Token: si.WatchValue},
				flow.ProtoCodec[*wire.WatchValueRequest](), flow.ProtoCodec[*wire.WatchValueReply]())
			_, watchErr = flow.Await(c, rs.GetReply(c.Env, &wire.WatchValueRequest{Key: []byte("k")}))
			watched = true
			return nil
		})
	})
	s.Run(time.Second, nil)
	if got := srv.Stats().Watches; got != 1 {
		t.Fatalf("%d watches registered, want 1", got)
	}
	srv.Stop()
	s.Run(time.Second, func() bool { return watched })
	if !errors.Is(watchErr, flow.ErrBrokenPromise) {
		t.Fatalf("watch ended with %v, want broken_promise", watchErr)
	}
	if _, err := srv.Done().Get(); err != nil {
		t.Fatalf("Done after Stop: %v", err)
	}
}

// TestEngineFailureStopsServer checks that a failed engine commit stops the
// server with that error rather than serving reads from a window that can
// no longer become durable.
func TestEngineFailureStopsServer(t *testing.T) {
	s := sim.New(2, sim.Options{})
	log := newFakeLog()
	var logIf *wire.TLogInterface
	s.AddProcess(s.AddMachine(flow.Locality{}), 1, func(env *flow.Env) { logIf = log.boot(env) })
	diskGone := errors.New("disk gone")
	eng := &fakeEngine{failCommits: diskGone}
	var srv *Server
	s.AddProcess(s.AddMachine(flow.Locality{}), 1, func(env *flow.Env) {
		var err error
		srv, err = New(env, Config{ID: "ss", Tag: simTag, Shard: kv.KeyRange{End: []byte("z")}, Engine: eng,
			Logs: []*wire.TLogInterface{logIf}, Knobs: Knobs{MVCCWindow: 1000, CommitInterval: 10 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
	})
	s.Controller().Spawn("writer", func(c *flow.Ctx) error {
		for v := kv.Version(1000); ; v += 1000 {
			if err := c.Sleep(time.Millisecond); err != nil {
				return err
			}
			log.commit(v, []kv.Mutation{{Type: kv.SetValue, Key: []byte("k"), Param: []byte("v")}})
		}
	})
	if !s.Run(time.Second, func() bool { return srv.Done().IsReady() }) {
		t.Fatal("the server kept running after its engine failed")
	}
	if _, err := srv.Done().Get(); !errors.Is(err, diskGone) {
		t.Fatalf("Done = %v, want the engine's error", err)
	}
}
