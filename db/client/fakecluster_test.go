package client

import (
	"bytes"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/wire"
	"google.golang.org/protobuf/proto"
)

// fakeCluster serves the client's side of the wire contract (txn.proto)
// from one process, backed by a memStore: OpenDatabase at a well-known
// token, a GRV proxy, a commit proxy and a storage server per shard. It
// lets the Database's networking run without the real roles.
type fakeCluster struct {
	env     *flow.Env
	store   *memStore
	gen     uint64
	grvIf   *wire.GrvProxyInterface
	grvStop func()
	commit  *wire.CommitProxyInterface
	shards  []*fakeStorage
	changed flow.Promise[struct{}]

	grvRequests int
	// grvInFlight and grvMostInFlight count the GRV requests being served.
	grvInFlight, grvMostInFlight int
	// locked makes read versions report the database locked.
	locked bool
	// dropCommits makes the commit proxy fail the next commits as if it had
	// died mid-request.
	dropCommits int
}

type fakeStorage struct {
	r     kv.KeyRange
	iface *wire.StorageInterface
}

const fakeOpenToken = DefaultOpenDatabaseToken

// serve listens on a fresh token and answers each request with handle, in
// an actor per request so that long polls do not block the others. The
// returned func stops serving.
func serve[Req, Rep proto.Message](e *flow.Env, name string, handle func(c *flow.Ctx, req Req) (Rep, error)) (uint64, func()) {
	l := flow.Listen(e, 0, flow.ProtoCodec[Req](), flow.ProtoCodec[Rep]())
	a := e.Spawn(name, func(c *flow.Ctx) error {
		for {
			r, err := l.Requests().Next(c)
			if err != nil {
				return err
			}
			e.Spawn(name+"Request", func(c *flow.Ctx) error {
				rep, err := handle(c, r.Msg)
				if err != nil {
					r.Fail(err)
				} else {
					r.Reply(rep)
				}
				return nil
			})
		}
	})
	return l.Stream().Endpoint().Token, func() { a.Cancel(); l.Close() }
}

// newFakeCluster serves a cluster on env with shards split at splits.
func newFakeCluster(env *flow.Env, splits ...string) *fakeCluster {
	fc := &fakeCluster{env: env, store: newMemStore(env), gen: 1, changed: flow.NewPromise[struct{}]()}
	fc.store.maxWatch = 1 << 20
	l := flow.Listen(env, fakeOpenToken, flow.ProtoCodec[*wire.OpenDatabaseRequest](), flow.ProtoCodec[*wire.ClientDBInfo]())
	env.Spawn("FakeOpenDatabase", func(c *flow.Ctx) error {
		for {
			r, err := l.Requests().Next(c)
			if err != nil {
				return err
			}
			env.Spawn("FakeOpenDatabaseRequest", func(c *flow.Ctx) error {
				if r.Msg.KnownGeneration == fc.gen {
					_, _ = flow.Timeout(c, fc.changed.Future(), time.Second)
				}
				r.Reply(fc.info())
				return nil
			})
		}
	})
	fc.startGRVProxy()
	commitTok, _ := serve(env, "FakeCommit", fc.handleCommit)
	locTok, _ := serve(env, "FakeLocations", fc.handleLocations)
	fc.commit = &wire.CommitProxyInterface{Address: string(env.Address()), Id: "commit1", Commit: commitTok, GetKeyServerLocations: locTok}
	bounds := append(append([]string{""}, splits...), string(maxKeyspace))
	for i := 0; i+1 < len(bounds); i++ {
		fc.addStorage(kv.KeyRange{Begin: []byte(bounds[i]), End: []byte(bounds[i+1])})
	}
	return fc
}

func (fc *fakeCluster) info() *wire.ClientDBInfo {
	return &wire.ClientDBInfo{Generation: fc.gen, GrvProxies: []*wire.GrvProxyInterface{fc.grvIf},
		CommitProxies: []*wire.CommitProxyInterface{fc.commit}}
}

// bumpGeneration publishes the current interfaces as a new generation.
func (fc *fakeCluster) bumpGeneration() {
	fc.gen++
	old := fc.changed
	fc.changed = flow.NewPromise[struct{}]()
	old.Send(struct{}{})
}

// startGRVProxy (re)starts the GRV proxy on a fresh token, stopping the old
// one, and publishes it as a new generation.
func (fc *fakeCluster) startGRVProxy() {
	if fc.grvStop != nil {
		fc.grvStop()
	}
	tok, stop := serve(fc.env, "FakeGRV", func(c *flow.Ctx, req *wire.GetReadVersionRequest) (*wire.GetReadVersionReply, error) {
		fc.grvRequests++
		fc.grvInFlight++
		fc.grvMostInFlight = max(fc.grvMostInFlight, fc.grvInFlight)
		defer func() { fc.grvInFlight-- }()
		if err := c.Sleep(time.Millisecond); err != nil {
			return nil, err
		}
		return &wire.GetReadVersionReply{Version: int64(fc.store.version), Locked: fc.locked}, nil
	})
	fc.grvIf = &wire.GrvProxyInterface{Address: string(fc.env.Address()), Id: "grv", GetReadVersion: tok}
	fc.grvStop = stop
	fc.bumpGeneration()
}

func (fc *fakeCluster) handleCommit(c *flow.Ctx, req *wire.CommitTransactionRequest) (*wire.CommitTransactionReply, error) {
	if fc.dropCommits > 0 {
		fc.dropCommits--
		return nil, flow.ErrBrokenPromise
	}
	cr := commitRequest{ReadVersion: kv.Version(req.ReadVersion), LockAware: req.LockAware}
	for _, r := range req.ReadConflictRanges {
		cr.ReadConflicts = append(cr.ReadConflicts, kv.KeyRange{Begin: r.Begin, End: r.End})
	}
	for _, r := range req.WriteConflictRanges {
		cr.WriteConflicts = append(cr.WriteConflicts, kv.KeyRange{Begin: r.Begin, End: r.End})
	}
	for _, m := range req.Mutations {
		cr.Mutations = append(cr.Mutations, kv.Mutation{Type: kv.MutationType(m.Type), Key: m.Key, Param: m.Param})
	}
	v, idx, err := fc.store.commitNow(c, cr)
	if err != nil {
		return nil, err
	}
	return &wire.CommitTransactionReply{Version: int64(v), BatchIndex: uint32(idx)}, nil
}

func (fc *fakeCluster) handleLocations(c *flow.Ctx, req *wire.GetKeyServerLocationsRequest) (*wire.GetKeyServerLocationsReply, error) {
	want := kv.KeyRange{Begin: req.Begin, End: req.End}
	rep := &wire.GetKeyServerLocationsReply{}
	var hits []*fakeStorage
	for _, s := range fc.shards {
		if s.r.Intersects(want) || bytes.Equal(want.Begin, want.End) && s.r.Contains(want.Begin) {
			hits = append(hits, s)
		}
	}
	if req.Limit > 0 && len(hits) > int(req.Limit) {
		if req.Reverse {
			hits = hits[len(hits)-int(req.Limit):]
		} else {
			hits = hits[:req.Limit]
		}
	}
	for _, s := range hits {
		rep.Shards = append(rep.Shards, &wire.ShardLocation{Begin: s.r.Begin, End: s.r.End, Servers: []*wire.StorageInterface{s.iface}})
	}
	return rep, nil
}

// moveBoundary moves the boundary between shards i and i+1 to key.
func (fc *fakeCluster) moveBoundary(i int, key string) {
	fc.shards[i].r.End = []byte(key)
	fc.shards[i+1].r.Begin = []byte(key)
}

func (fc *fakeCluster) addStorage(r kv.KeyRange) {
	s := &fakeStorage{r: r}
	m := fc.store
	owns := func(k []byte) error {
		if !s.r.Contains(k) {
			return kv.ErrWrongShardServer
		}
		return nil
	}
	getValue, _ := serve(fc.env, "FakeGetValue", func(c *flow.Ctx, req *wire.GetValueRequest) (*wire.GetValueReply, error) {
		if err := owns(req.Key); err != nil {
			return nil, err
		}
		v, ok, err := m.getValue(c, req.Key, kv.Version(req.Version))
		return &wire.GetValueReply{Value: v, Present: ok}, err
	})
	getKey, _ := serve(fc.env, "FakeGetKey", func(c *flow.Ctx, req *wire.GetKeyRequest) (*wire.GetKeyReply, error) {
		return s.getKey(c, m, req)
	})
	getRange, _ := serve(fc.env, "FakeGetKeyValues", func(c *flow.Ctx, req *wire.GetKeyValuesRequest) (*wire.GetKeyValuesReply, error) {
		r := kv.KeyRange{Begin: req.Begin, End: req.End}
		if bytes.Compare(r.Begin, s.r.Begin) < 0 || bytes.Compare(r.End, s.r.End) > 0 {
			return nil, kv.ErrWrongShardServer
		}
		rows, readTo, err := m.getRange(c, r, kv.Version(req.Version), int(req.Limit), 0, req.Reverse)
		if err != nil {
			return nil, err
		}
		rep := &wire.GetKeyValuesReply{More: !bytes.Equal(readTo, r.End) && !req.Reverse || req.Reverse && !bytes.Equal(readTo, r.Begin)}
		for _, row := range rows {
			rep.Data = append(rep.Data, &wire.KeyValue{Key: row.Key, Value: row.Value})
		}
		return rep, nil
	})
	watch, _ := serve(fc.env, "FakeWatch", func(c *flow.Ctx, req *wire.WatchValueRequest) (*wire.WatchValueReply, error) {
		if err := owns(req.Key); err != nil {
			return nil, err
		}
		v, err := m.watch(c, req.Key, req.Value, req.Present, kv.Version(req.Version))
		return &wire.WatchValueReply{Version: int64(v)}, err
	})
	s.iface = &wire.StorageInterface{Address: string(fc.env.Address()), Id: string(r.Begin), GetValue: getValue,
		GetKey: getKey, GetKeyValues: getRange, WatchValue: watch}
	fc.shards = append(fc.shards, s)
}

// getKey resolves a selector within the shard, or returns its partial
// resolution at the shard's edge (txn.proto's GetKeyReply contract).
func (s *fakeStorage) getKey(c *flow.Ctx, m *memStore, req *wire.GetKeyRequest) (*wire.GetKeyReply, error) {
	sel := req.Selector
	backward := !sel.OrEqual && sel.Offset <= 0
	inShard := s.r.Contains(sel.Key) || backward && bytes.Compare(s.r.Begin, sel.Key) < 0 && bytes.Compare(sel.Key, s.r.End) <= 0
	if !inShard && !(bytes.Equal(sel.Key, s.r.End) && bytes.Equal(s.r.End, maxKeyspace)) {
		return nil, kv.ErrWrongShardServer
	}
	if err := c.Sleep(time.Millisecond); err != nil {
		return nil, err
	}
	var keys [][]byte
	for _, k := range m.keysAt(kv.Version(req.Version)) {
		if s.r.Contains(k) {
			keys = append(keys, k)
		}
	}
	j := -1
	for i, k := range keys {
		if cmp := bytes.Compare(k, sel.Key); cmp < 0 || cmp == 0 && sel.OrEqual {
			j = i
		}
	}
	idx := j + int(sel.Offset)
	switch {
	case idx < 0:
		return &wire.GetKeyReply{Selector: &wire.KeySelector{Key: s.r.Begin, Offset: int32(idx + 1)}}, nil
	case idx >= len(keys):
		return &wire.GetKeyReply{Selector: &wire.KeySelector{Key: s.r.End, Offset: int32(idx - len(keys) + 1)}}, nil
	}
	return &wire.GetKeyReply{Selector: &wire.KeySelector{Key: keys[idx], OrEqual: true}}, nil
}
