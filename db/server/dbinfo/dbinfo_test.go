package dbinfo_test

import (
	"testing"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/server/dbinfo"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/wire"
)

func info(gen uint64, proxy string) *wire.ClientDBInfo {
	return &wire.ClientDBInfo{Generation: gen, CommitProxies: []*wire.CommitProxyInterface{{Address: proxy, Commit: 1 << 40}}}
}

func TestOpenDatabaseLongPolls(t *testing.T) {
	s := sim.New(1, sim.Options{})
	var pub *dbinfo.Publisher
	s.AddProcess(s.AddMachine(flow.Locality{}), 1, func(e *flow.Env) {
		var err error
		if pub, err = dbinfo.New(e, dbinfo.Config{Token: 77, Info: info(1, "a:1"), PollTimeout: 3 * time.Second}); err != nil {
			t.Fatal(err)
		}
	})
	client := s.AddProcess(s.AddMachine(flow.Locality{}), 1, func(*flow.Env) {}).Env()
	st := flow.NewRequestStream(pub.Endpoint(), flow.ProtoCodec[*wire.OpenDatabaseRequest](), flow.ProtoCodec[*wire.ClientDBInfo]())
	if pub.Endpoint().Token != 77 {
		t.Fatalf("listening on token %d, want the configured 77", pub.Endpoint().Token)
	}
	type answer struct {
		gen   uint64
		proxy string
		after time.Duration
	}
	var got []answer
	poll := func(c *flow.Ctx, known uint64) error {
		start := c.Now()
		rep, err := flow.Await(c, st.GetReply(client, &wire.OpenDatabaseRequest{KnownGeneration: known}))
		if err != nil {
			return err
		}
		got = append(got, answer{rep.Generation, rep.CommitProxies[0].Address, c.Now().Sub(start)})
		return nil
	}
	a := client.Spawn("client", func(c *flow.Ctx) error {
		if err := poll(c, 0); err != nil { // unknown generation: at once
			return err
		}
		if err := poll(c, 1); err != nil { // current: waits for the timeout
			return err
		}
		client.Loop().After(time.Second, func() { pub.Set(info(2, "b:1")) })
		return poll(c, 1) // current: answered by the change
	})
	s.Run(time.Minute, func() bool { return a.Done().IsReady() })
	if err := a.Done().Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d answers, want 3", len(got))
	}
	if got[0].gen != 1 || got[0].after > 10*time.Millisecond {
		t.Errorf("poll with an old generation: %+v, want generation 1 at once", got[0])
	}
	if got[1].gen != 1 || got[1].after < 3*time.Second || got[1].after > 3*time.Second+10*time.Millisecond {
		t.Errorf("poll with the current generation: %+v, want generation 1 after the 3s timeout", got[1])
	}
	if got[2].gen != 2 || got[2].proxy != "b:1" || got[2].after < time.Second || got[2].after > time.Second+10*time.Millisecond {
		t.Errorf("poll across a change: %+v, want generation 2 with proxy b:1 after 1s", got[2])
	}
}
