package storage

import (
	"fmt"
	"testing"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/wire"
)

// TestDurabilityBoundedByKnownCommitted freezes the log's known committed
// version while writes keep flowing and checks that no engine commit and no
// pop goes past it, then that durability resumes once it moves again.
func TestDurabilityBoundedByKnownCommitted(t *testing.T) {
	s := sim.New(3, sim.Options{})
	log := newFakeLog()
	var logIf *wire.TLogInterface
	s.AddProcess(s.AddMachine(flow.Locality{}), 1, func(env *flow.Env) { logIf = log.boot(env) })
	eng := &fakeEngine{}
	var violations []string
	eng.onCommit = func() {
		if d, _ := readDurableVersion(eng); d > log.knownCommitted {
			violations = append(violations, "engine durable at "+itoa(d)+" above known committed "+itoa(log.knownCommitted))
		}
		if log.popped[simTag] > log.knownCommitted {
			violations = append(violations, "popped to "+itoa(log.popped[simTag])+" above known committed "+itoa(log.knownCommitted))
		}
	}
	var srv *Server
	s.AddProcess(s.AddMachine(flow.Locality{}), 1, func(env *flow.Env) {
		var err error
		srv, err = New(env, Config{ID: "ss", Tag: simTag, Shard: kv.KeyRange{End: []byte("z")}, Engine: eng,
			Logs: []*wire.TLogInterface{logIf}, Knobs: Knobs{MVCCWindow: 10_000, CommitInterval: 10 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
	})
	v := kv.Version(0)
	writeFor := func(d time.Duration) {
		s.Controller().Spawn("writer", func(c *flow.Ctx) error {
			stop := c.Now().Add(d)
			for c.Now().Before(stop) {
				if err := c.Sleep(time.Millisecond); err != nil {
					return err
				}
				v += 1000
				log.commit(v, []kv.Mutation{{Type: kv.SetValue, Key: []byte("k" + itoa(v%7)), Param: []byte(itoa(v))}})
			}
			return nil
		})
		s.Run(d+100*time.Millisecond, nil)
	}
	writeFor(500 * time.Millisecond)
	if srv.Stats().DurableVersion == 0 {
		t.Fatal("nothing became durable while the known committed version moved")
	}
	log.kcvFrozen = true
	frozen := log.knownCommitted
	writeFor(time.Second)
	st := srv.Stats()
	if st.DurableVersion > frozen || st.KnownCommittedVersion != frozen {
		t.Fatalf("frozen known committed %d: server %+v", frozen, st)
	}
	if st.Version < frozen+500_000 {
		t.Fatalf("the server stopped pulling while durability was held back: %+v", st)
	}
	log.kcvFrozen = false
	writeFor(200 * time.Millisecond)
	if st := srv.Stats(); st.DurableVersion <= frozen {
		t.Fatalf("durability did not resume past %d: %+v", frozen, st)
	}
	for _, msg := range violations {
		t.Error(msg)
	}
}

func itoa(v kv.Version) string { return fmt.Sprint(int64(v)) }
