package commitproxy_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/server/commitproxy"
	"github.com/strata-db/strata/db/server/grvproxy"
	"github.com/strata-db/strata/db/server/resolver"
	"github.com/strata-db/strata/db/server/sequencer"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/wire"
)

const initialVersion = 1_000

// Keys the fake resolvers decide on: a read of verdictKeys[k] gets verdict k
// from the resolver owning it.
var verdictKeys = map[string]uint32{"conflict": 0, "xconflict": 0, "tooold": 2, "xtooold": 2}

// fakeResolver applies batches in prev_version order and judges each
// transaction by verdictKeys; it records what it was sent.
type fakeResolver struct {
	last     int64
	requests []*wire.ResolveTransactionBatchRequest
}

func serveResolver(e *flow.Env, r *fakeResolver) *wire.ResolverInterface {
	l := flow.Listen(e, 0, flow.ProtoCodec[*wire.ResolveTransactionBatchRequest](), flow.ProtoCodec[*wire.ResolveTransactionBatchReply]())
	waiting := map[int64]*flow.Request[*wire.ResolveTransactionBatchRequest, *wire.ResolveTransactionBatchReply]{}
	e.Spawn("FakeResolver", func(c *flow.Ctx) error {
		for {
			req, err := l.Requests().Next(c)
			if err != nil {
				return err
			}
			waiting[req.Msg.PrevVersion] = req
			for next := waiting[r.last]; next != nil; next = waiting[r.last] {
				delete(waiting, r.last)
				r.requests = append(r.requests, next.Msg)
				r.last = next.Msg.Version
				next.Reply(judge(next.Msg))
			}
		}
	})
	return &wire.ResolverInterface{Address: string(e.Address()), Id: "resolver", Resolve: l.Stream().Endpoint().Token}
}

func judge(req *wire.ResolveTransactionBatchRequest) *wire.ResolveTransactionBatchReply {
	rep := &wire.ResolveTransactionBatchReply{}
	for _, t := range req.Transactions {
		verdict := uint32(1)
		for _, r := range t.ReadConflictRanges {
			for k, v := range verdictKeys {
				if (kv.KeyRange{Begin: r.Begin, End: r.End}).Contains([]byte(k)) && (verdict == 1 || v == 2) {
					verdict = v
				}
			}
		}
		rep.Committed = append(rep.Committed, verdict)
	}
	return rep
}

// logPush is one TLogCommitRequest as a fake log saw it.
type logPush struct {
	req *wire.TLogCommitRequest
	// pipelined: it arrived before the previous push was acknowledged.
	pipelined bool
}

// fakeLog appends pushes in prev_version order and acknowledges each after
// a simulated fsync of up to fsync.
type fakeLog struct {
	fsync    time.Duration
	arrivals []logPush
	appended []*wire.TLogCommitRequest // in the order appended: the chain
	durable  int64
}

func serveLog(e *flow.Env, lg *fakeLog) *wire.TLogInterface {
	l := flow.Listen(e, 0, flow.ProtoCodec[*wire.TLogCommitRequest](), flow.ProtoCodec[*wire.TLogCommitReply]())
	lg.durable = initialVersion
	appended := int64(initialVersion)
	waiting := map[int64]*flow.Request[*wire.TLogCommitRequest, *wire.TLogCommitReply]{}
	e.Spawn("FakeLog", func(c *flow.Ctx) error {
		for {
			req, err := l.Requests().Next(c)
			if err != nil {
				return err
			}
			lg.arrivals = append(lg.arrivals, logPush{req: req.Msg, pipelined: lg.durable < appended})
			waiting[req.Msg.PrevVersion] = req
			for next := waiting[appended]; next != nil; next = waiting[appended] {
				delete(waiting, appended)
				appended = next.Msg.Version
				lg.appended = append(lg.appended, next.Msg)
				c.Spawn("FakeLog.Fsync", func(c *flow.Ctx) error {
					if err := c.Sleep(time.Duration(c.Rand().Int64N(int64(lg.fsync) + 1))); err != nil {
						return err
					}
					// A later push's fsync may finish first; durability is
					// still in version order.
					lg.durable = max(lg.durable, next.Msg.Version)
					next.Reply(&wire.TLogCommitReply{DurableVersion: next.Msg.Version})
					return nil
				})
			}
		}
	})
	return &wire.TLogInterface{Address: string(e.Address()), Id: "log", Commit: l.Stream().Endpoint().Token}
}

// cluster is a sequencer, a GRV proxy, a commit proxy, two fake resolvers
// (split at "m"), two fake logs and a client process.
type cluster struct {
	s         *sim.Simulation
	resolvers [2]*fakeResolver
	logs      [2]*fakeLog
	logProcs  [2]*sim.Process
	seqProc   *sim.Process
	proxy     *commitproxy.Proxy // the first commit proxy
	proxyProc *sim.Process
	cp        *wire.CommitProxyInterface
	cps       []*wire.CommitProxyInterface // every commit proxy
	grv       *wire.GrvProxyInterface
	client    *flow.Env
}

// The shard map of the tests: tags 1 | 2,3 | 4 split at "g" and "p".
func testShards() []commitproxy.Shard {
	ss := func(tags ...uint32) []*wire.StorageInterface {
		var out []*wire.StorageInterface
		for _, t := range tags {
			out = append(out, &wire.StorageInterface{Address: "10.9.9.9:1", Id: string(rune('a' + t)), Tag: t})
		}
		return out
	}
	return []commitproxy.Shard{
		{Range: kv.KeyRange{Begin: []byte{}, End: []byte("g")}, Servers: ss(1)},
		{Range: kv.KeyRange{Begin: []byte("g"), End: []byte("p")}, Servers: ss(2, 3)},
		{Range: kv.KeyRange{Begin: []byte("p"), End: kv.AllKeys.End}, Servers: ss(4)},
	}
}

func newCluster(t testing.TB, seed uint64, fsync time.Duration, tweak func(*commitproxy.Config)) *cluster {
	t.Helper()
	return newClusterN(t, seed, fsync, 1, false, tweak)
}

// newClusterN is newCluster with proxies commit proxies; with
// realResolvers the resolvers are the real role (which also carries the
// proxies' state transactions) instead of the fake ones.
func newClusterN(t testing.TB, seed uint64, fsync time.Duration, proxies int, realResolvers bool, tweak func(*commitproxy.Config)) *cluster {
	t.Helper()
	s := sim.New(seed, sim.Options{})
	cl := &cluster{s: s}
	add := func(boot sim.BootFunc) *sim.Process { return s.AddProcess(s.AddMachine(flow.Locality{}), 1, boot) }
	var seq *wire.SequencerInterface
	cl.seqProc = add(func(e *flow.Env) {
		sq, err := sequencer.New(e, sequencer.Config{ID: "seq", InitialVersion: initialVersion})
		if err != nil {
			t.Fatal(err)
		}
		seq = sq.Interface()
	})
	ranges := [2]kv.KeyRange{{Begin: []byte{}, End: []byte("m")}, {Begin: []byte("m"), End: kv.AllKeys.End}}
	var rs [2]*wire.ResolverInterface
	for i := range cl.resolvers {
		if realResolvers {
			add(func(e *flow.Env) {
				rs[i] = resolver.New(e, resolver.Config{ID: fmt.Sprintf("resolver%d", i), Keys: ranges[i], InitialVersion: initialVersion}).Interface()
			})
			continue
		}
		cl.resolvers[i] = &fakeResolver{last: initialVersion}
		add(func(e *flow.Env) { rs[i] = serveResolver(e, cl.resolvers[i]) })
	}
	var logs []*wire.TLogInterface
	for i := range cl.logs {
		cl.logs[i] = &fakeLog{fsync: fsync}
		cl.logProcs[i] = add(func(e *flow.Env) { logs = append(logs, serveLog(e, cl.logs[i])) })
	}
	cfg := commitproxy.Config{
		ID:        "cp1",
		Sequencer: seq,
		Resolvers: []commitproxy.Resolver{{Interface: rs[0], Range: ranges[0]}, {Interface: rs[1], Range: ranges[1]}},
		TLogs:     logs,
		Shards:    testShards(),
	}
	if tweak != nil {
		tweak(&cfg)
	}
	for i := range proxies {
		cfg := cfg
		cfg.ID = fmt.Sprintf("cp%d", i+1)
		proc := add(func(e *flow.Env) {
			p, err := commitproxy.New(e, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				cl.proxy, cl.cp = p, p.Interface()
			}
			cl.cps = append(cl.cps, p.Interface())
		})
		if i == 0 {
			cl.proxyProc = proc
		}
	}
	add(func(e *flow.Env) {
		g, err := grvproxy.New(e, grvproxy.Config{Sequencer: seq})
		if err != nil {
			t.Fatal(err)
		}
		cl.grv = g.Interface()
	})
	cl.client = add(func(*flow.Env) {}).Env()
	return cl
}

func (cl *cluster) commit(req *wire.CommitTransactionRequest) flow.Future[*wire.CommitTransactionReply] {
	return cl.commitVia(cl.cp, req)
}

func (cl *cluster) commitVia(cp *wire.CommitProxyInterface, req *wire.CommitTransactionRequest) flow.Future[*wire.CommitTransactionReply] {
	st := flow.NewRequestStream(flow.Endpoint{Addr: flow.Address(cp.Address), Token: cp.Commit},
		flow.ProtoCodec[*wire.CommitTransactionRequest](), flow.ProtoCodec[*wire.CommitTransactionReply]())
	return st.GetReply(cl.client, req)
}

func (cl *cluster) readVersion(c *flow.Ctx) (int64, error) {
	st := flow.NewRequestStream(flow.Endpoint{Addr: flow.Address(cl.grv.Address), Token: cl.grv.GetReadVersion},
		flow.ProtoCodec[*wire.GetReadVersionRequest](), flow.ProtoCodec[*wire.GetReadVersionReply]())
	rep, err := flow.Await(c, st.GetReply(cl.client, &wire.GetReadVersionRequest{TransactionCount: 1}))
	return rep.GetVersion(), err
}

func (cl *cluster) locations(c *flow.Ctx, req *wire.GetKeyServerLocationsRequest) ([]*wire.ShardLocation, error) {
	st := flow.NewRequestStream(flow.Endpoint{Addr: flow.Address(cl.cp.Address), Token: cl.cp.GetKeyServerLocations},
		flow.ProtoCodec[*wire.GetKeyServerLocationsRequest](), flow.ProtoCodec[*wire.GetKeyServerLocationsReply]())
	rep, err := flow.Await(c, st.GetReply(cl.client, req))
	return rep.GetShards(), err
}

// run drives bodies as actors of the client process until all return.
func (cl *cluster) run(t testing.TB, d time.Duration, bodies ...func(c *flow.Ctx) error) {
	t.Helper()
	var actors []*flow.Actor
	for _, b := range bodies {
		actors = append(actors, cl.client.Spawn("driver", b))
	}
	cl.s.Run(d, func() bool {
		for _, a := range actors {
			if !a.Done().IsReady() {
				return false
			}
		}
		return true
	})
	for _, a := range actors {
		if !a.Done().IsReady() {
			t.Fatalf("driver did not finish within %v", d)
		}
		if err := a.Done().Err(); err != nil {
			t.Fatal(err)
		}
	}
}

// set builds a blind write of key=value.
func set(key, value string) *wire.CommitTransactionRequest {
	return &wire.CommitTransactionRequest{
		WriteConflictRanges: []*wire.KeyRange{{Begin: []byte(key), End: kv.KeyAfter([]byte(key))}},
		Mutations:           []*wire.Mutation{{Type: uint32(kv.SetValue), Key: []byte(key), Param: []byte(value)}},
	}
}

// pushedAt returns the mutations for tag in the push of version v.
func pushedAt(lg *fakeLog, v int64, tag uint32) []*wire.Mutation {
	for _, p := range lg.arrivals {
		if p.req.Version != v {
			continue
		}
		for _, m := range p.req.Messages {
			if m.Tag == tag {
				return m.Mutations
			}
		}
	}
	return nil
}

func hasMutation(ms []*wire.Mutation, key, value string) bool {
	for _, m := range ms {
		if bytes.Equal(m.Key, []byte(key)) && bytes.Equal(m.Param, []byte(value)) {
			return true
		}
	}
	return false
}
