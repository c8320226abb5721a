package storage

import (
	"errors"
	"testing"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/wire"
)

// TestTagPoppedPastVersionStopsServer: when the log has popped the server's
// tag past the versions it applied, mutations it never saw are gone. The
// server must stop rather than answer reads at later versions with data
// that lacks them.
func TestTagPoppedPastVersionStopsServer(t *testing.T) {
	t.Run("popped", func(t *testing.T) { testPoppedStops(t, 3000, ErrTagPopped) })
	// A tag the cluster retired (its server removed) stops it as well, as
	// a removal rather than a loss.
	t.Run("retired", func(t *testing.T) { testPoppedStops(t, kv.RetiredTagPop, ErrTagRetired) })
}

func testPoppedStops(t *testing.T, popped int64, want error) {
	s, log, _, srv := serverOnFakeLog(t, 3, Knobs{FutureVersionDelay: 100 * time.Millisecond})
	set := func(k, v string) []kv.Mutation {
		return []kv.Mutation{{Type: kv.SetValue, Key: []byte(k), Param: []byte(v)}}
	}
	log.commit(1000, set("k", "seen"))
	if !s.Run(time.Second, func() bool { return srv.Stats().Version == 1000 }) {
		t.Fatalf("the server did not pull version 1000: %+v", srv.Stats())
	}
	// Someone else popped the tag to 3000: version 2000's write is lost to
	// this server.
	log.commit(2000, set("k", "missed"))
	log.popped[simTag] = kv.Version(popped)
	log.msgs[simTag] = nil
	log.commit(3000, nil)
	if !s.Run(time.Second, func() bool { return srv.Done().IsReady() }) {
		t.Fatalf("the server kept running with its tag popped past its version: %+v", srv.Stats())
	}
	if err := srv.Done().Err(); !errors.Is(err, want) {
		t.Fatalf("the server stopped with %v, want %v", err, want)
	}
	if v := srv.Stats().Version; v >= 2000 {
		t.Fatalf("the server advanced to %d over versions it never got", v)
	}
	si := srv.Interface()
	var readErr error
	read := false
	s.AddProcess(s.AddMachine(flow.Locality{}), 1, func(env *flow.Env) {
		env.Spawn("read", func(c *flow.Ctx) error {
			rs := flow.NewRequestStream(flow.Endpoint{Addr: flow.Address(si.Address), Token: si.GetValue},
				flow.ProtoCodec[*wire.GetValueRequest](), flow.ProtoCodec[*wire.GetValueReply]())
			_, readErr = flow.Timeout(c, rs.GetReply(c.Env, &wire.GetValueRequest{Key: []byte("k"), Version: 3000}), time.Second)
			read = true
			return nil
		})
	})
	s.Run(5*time.Second, func() bool { return read })
	if !read || readErr == nil {
		t.Fatalf("a read at version 3000 was answered (done %v, err %v)", read, readErr)
	}
}
