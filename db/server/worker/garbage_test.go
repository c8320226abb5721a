package worker_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/server/worker"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/wire"
	"google.golang.org/protobuf/proto"
)

var rawCodec = flow.Codec[[]byte]{
	Marshal:   func(b []byte) ([]byte, error) { return b, nil },
	Unmarshal: func(b []byte) ([]byte, error) { return b, nil },
}

// endpoints lists the request streams of the single database's roles:
// with clientFacing, only those clients use (GRV, commit, locations,
// storage reads, OpenDatabase); otherwise also the roles' internal ones,
// which trust their callers as FoundationDB's do (a well-formed request
// there can wedge the generation, but never crash a role).
func endpoints(s *worker.Single, clientFacing bool) []flow.Endpoint {
	var out []flow.Endpoint
	add := func(addr string, tokens ...uint64) {
		for _, t := range tokens {
			out = append(out, flow.Endpoint{Addr: flow.Address(addr), Token: t})
		}
	}
	sq, g, cp, r, l, st := s.Sequencer.Interface(), s.GRVProxy.Interface(), s.CommitProxy.Interface(),
		s.Resolver.Interface(), s.TLog.Interface(), s.Storage.Interface()
	add(g.Address, g.GetReadVersion)
	add(cp.Address, cp.Commit, cp.GetKeyServerLocations)
	add(st.Address, st.GetValue, st.GetKey, st.GetKeyValues, st.WatchValue)
	add(sq.Address, kv.TokenOpenDatabase)
	if !clientFacing {
		add(sq.Address, sq.GetCommitVersion, sq.ReportCommitted, sq.GetLiveCommittedVersion)
		add(r.Address, r.Resolve)
		add(l.Address, l.Commit, l.Peek, l.Pop)
	}
	return out
}

// garbage returns random bytes, or a valid message of some other type
// (well-formed protobuf that means nonsense to the receiver).
func garbage(c *flow.Ctx) []byte {
	rng := c.Rand()
	if rng.IntN(2) == 0 {
		b := make([]byte, rng.IntN(200))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	msgs := []proto.Message{
		&wire.TLogCommitRequest{PrevVersion: rng.Int64(), Version: -rng.Int64N(100), Messages: []*wire.TaggedMutations{{Tag: rng.Uint32()}}},
		&wire.CommitTransactionRequest{ReadVersion: rng.Int64(), Mutations: []*wire.Mutation{{Type: rng.Uint32() % 40, Key: []byte{0xff, 0xff, 0xff}}}},
		&wire.GetKeyValuesRequest{Begin: []byte("z"), End: []byte("a"), Limit: -5, Version: rng.Int64()},
		&wire.ResolveTransactionBatchRequest{PrevVersion: rng.Int64N(10), Version: rng.Int64N(10)},
		&wire.GetKeyRequest{Version: -1},
		&wire.TLogPopRequest{Tag: rng.Uint32(), To: rng.Int64()},
		&wire.ReportCommittedRequest{Version: rng.Int64()},
	}
	b, _ := proto.Marshal(msgs[rng.IntN(len(msgs))])
	return b
}

// Malformed and nonsensical requests to every role never crash a role (a
// panic fails the simulation), and those to the endpoints clients use are
// refused and leave the database working.
func TestGarbageRequestsCrashNoRole(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		clientFacing := seed%2 == 0
		res := sim.RunTest(sim.Test{Name: "garbage", Run: func(s *sim.Simulation) error { return garbageRun(s, seed, clientFacing) }}, seed, sim.Options{})
		if res.Err != nil {
			t.Fatalf("client-facing only %v: %v", clientFacing, res.Err)
		}
	}
}

func garbageRun(s *sim.Simulation, seed uint64, clientFacing bool) error {
	{
		var single *worker.Single
		var bootErr error
		m := s.AddMachine(flow.Locality{})
		srv := s.AddProcess(m, 4500, func(e *flow.Env) {
			e.Spawn("Worker", func(c *flow.Ctx) error {
				single, bootErr = worker.StartSingle(c, worker.Config{})
				return bootErr
			})
		})
		s.Run(time.Second, func() bool { return single != nil || bootErr != nil })
		if bootErr != nil || single == nil {
			return fmt.Errorf("seed %d: boot: %v", seed, bootErr)
		}
		cm := s.AddMachine(flow.Locality{})
		cl := s.AddProcess(cm, 4500, func(*flow.Env) {})
		var answered, failed int
		var txnErr error
		a := cl.Env().Spawn("rogue", func(c *flow.Ctx) error {
			for _, ep := range endpoints(single, clientFacing) {
				for range 20 {
					rep := flow.NewRequestStream(ep, rawCodec, rawCodec).GetReply(c.Env, garbage(c))
					if _, err := flow.Timeout(c, rep, 2*time.Second); err == nil {
						answered++
					} else if !errors.Is(err, flow.ErrTimedOut) {
						failed++
					}
				}
			}
			if !clientFacing {
				return nil
			}
			db, err := client.NewDatabase(c.Env, []flow.Address{srv.Addr}, client.Config{OpenDatabaseToken: kv.TokenOpenDatabase})
			if err != nil {
				return err
			}
			txnErr = db.Transact(c, func(tr *client.Transaction) error {
				tr.Set([]byte("after-garbage"), []byte("ok"))
				return nil
			})
			return nil
		})
		s.Run(10*time.Minute, func() bool { return a.Done().IsReady() })
		r := fmt.Sprintf("seed %d: %d answered, %d failed, at %v", seed, answered, failed, s.Elapsed())
		if !a.Done().IsReady() {
			return fmt.Errorf("%s: the rogue client did not finish", r)
		}
		if err := a.Done().Err(); err != nil {
			return fmt.Errorf("%s: rogue client: %w", r, err)
		}
		if txnErr != nil {
			return fmt.Errorf("%s: a transaction after the garbage failed: %w", r, txnErr)
		}
		if failed == 0 {
			return fmt.Errorf("%s: no garbage request was refused", r)
		}
		return nil
	}
}
