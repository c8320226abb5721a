package controller

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/server/storage"
	"github.com/strata-db/strata/db/wire"
	"google.golang.org/protobuf/proto"
)

// placement says which processes host a generation's transaction roles.
type placement struct {
	sequencer                 flow.Address
	commit, grv, resolvers    []flow.Address
	logs                      []flow.Address
	storageTeam               []flow.Address // a new database's first team
	storageOthers             []flow.Address // other storage-fit processes
	resolverRanges            []kv.KeyRange
	logReplicas, storageTeams int
}

// recruitGeneration recruits the next generation on the registered
// workers: logs seeded from old up to the recovery version, a new
// database's storage servers, sequencer, resolvers and proxies. It returns
// the generation with the coordinated state to write.
func (cc *Controller) recruitGeneration(c *flow.Ctx, core *wire.DBCoreState, old *lockedLogs) (*generation, error) {
	rv := kv.Version(0)
	if old != nil {
		rv = old.version
	}
	pl, err := cc.place(core)
	if err != nil {
		return nil, err
	}
	next := proto.CloneOf(core)
	next.Epoch = core.GetEpoch() + 1
	next.RecoveryVersion = int64(rv)
	gen := &generation{epoch: next.Epoch, rv: rv, core: next, processes: map[flow.Address]*txProcess{}, failed: flow.NewPromise[string](), lockKnown: rv}
	r := &recruiter{cc: cc, epoch: next.Epoch, gen: gen}

	// Logs first: every other role needs them, and seeding is the slow part.
	logInit := &wire.InitLog{RecoveryVersion: int64(rv)}
	if old != nil {
		logInit.RecoverFrom, logInit.Tags = old.sources, old.tags
	}
	next.Logs = nil
	for _, f := range r.each(c, pl.logs, "log", func(int) *wire.RecruitRequest {
		return &wire.RecruitRequest{Role: &wire.RecruitRequest_Log{Log: logInit}}
	}) {
		rep, err := f.future.Get()
		if err != nil {
			return nil, fmt.Errorf("recruiting a log on %s: %w", f.addr, err)
		}
		gen.logs = append(gen.logs, rep.GetLog())
		next.Logs = append(next.Logs, &wire.LogRef{Id: f.id, Process: string(f.addr), Epoch: next.Epoch})
	}
	if len(next.GetStorage()) == 0 {
		if err := r.bootstrapStorage(c, next, pl, gen.logs); err != nil {
			return nil, err
		}
	}
	if err := r.stateless(c, pl, next); err != nil {
		return nil, err
	}
	return gen, nil
}

// txRoleNames are the status names of the transaction roles by the kind
// names recruitment IDs use.
var txRoleNames = map[string]string{
	"log": "log", "sequencer": "sequencer", "resolver": "resolver", "commit": "commit_proxy", "grv": "grv_proxy",
}

// recruiter sends one generation's recruitment requests.
type recruiter struct {
	cc    *Controller
	epoch uint64
	gen   *generation
	// storage are interfaces of storage servers recruited in this
	// recovery, by ID.
	storage map[string]*wire.StorageInterface
}

type pending struct {
	addr   flow.Address
	id     string
	future flow.Future[*wire.RecruitReply]
}

// each recruits one role per address in parallel and waits for all;
// req(i) is the request for addrs[i].
func (r *recruiter) each(c *flow.Ctx, addrs []flow.Address, kind string, req func(i int) *wire.RecruitRequest) []pending {
	out := make([]pending, len(addrs))
	futures := make([]flow.Future[*wire.RecruitReply], len(addrs))
	for i, addr := range addrs {
		id := fmt.Sprintf("%s-%016x", kind, c.Rand().Uint64())
		rq := req(i)
		rq.Epoch, rq.Id = r.epoch, id
		s := flow.NewRequestStream(flow.Endpoint{Addr: addr, Token: kv.TokenRecruit},
			flow.ProtoCodec[*wire.RecruitRequest](), flow.ProtoCodec[*wire.RecruitReply]())
		futures[i] = s.GetReply(c.Env, rq)
		out[i] = pending{addr: addr, id: id, future: futures[i]}
		if name := txRoleNames[kind]; name != "" {
			p := r.gen.processes[addr]
			if p == nil {
				p = &txProcess{start: r.cc.workers[addr].report.GetStartTime()}
				r.gen.processes[addr] = p
			}
			p.roles = append(p.roles, name)
		}
	}
	_ = awaitUntil(c, futures, r.cc.knobs.recruitTimeout)
	for i := range out {
		if !out[i].future.IsReady() {
			out[i].future = flow.Failed[*wire.RecruitReply](flow.ErrTimedOut)
		}
	}
	return out
}

// one recruits a single role.
func (r *recruiter) one(c *flow.Ctx, addr flow.Address, kind string, req *wire.RecruitRequest) (*wire.RecruitReply, error) {
	p := r.each(c, []flow.Address{addr}, kind, func(int) *wire.RecruitRequest { return req })[0]
	rep, err := p.future.Get()
	if err != nil {
		return nil, fmt.Errorf("recruiting a %s on %s: %w", kind, addr, err)
	}
	return rep, nil
}

// bootstrapStorage creates a new database's storage servers — one on every
// storage-fit process — and gives the whole keyspace to the first team.
// They are recruited at once (each new server makes its identity durable
// before it answers, so one after the other cost that wait per process);
// each gets its own tag up front, and a tag whose recruitment failed is
// left unused rather than given to another server: the failed one may
// exist all the same.
func (r *recruiter) bootstrapStorage(c *flow.Ctx, next *wire.DBCoreState, pl placement, logs []*wire.TLogInterface) error {
	r.storage = map[string]*wire.StorageInterface{}
	var team []string
	addrs := append(slices.Clone(pl.storageTeam), pl.storageOthers...)
	inTeam := map[flow.Address]bool{}
	for _, a := range pl.storageTeam {
		inTeam[a] = true
	}
	base := next.GetNextTag()
	recruited := r.each(c, addrs, "storage", func(i int) *wire.RecruitRequest {
		init := &wire.InitStorage{Tag: base + uint32(i), Logs: logs, Version: next.GetRecoveryVersion()}
		if inTeam[addrs[i]] {
			init.Shards = []*wire.KeyRange{{Begin: kv.AllKeys.Begin, End: kv.AllKeys.End}}
		}
		return &wire.RecruitRequest{Role: &wire.RecruitRequest_Storage{Storage: init}}
	})
	for i, p := range recruited {
		addr := p.addr
		rep, err := p.future.Get()
		if err != nil {
			if inTeam[addr] {
				return fmt.Errorf("recruiting a storage on %s: %w", addr, err)
			}
			c.Trace(flow.SevWarn, "RecruitStorageFailed", flow.D("Worker", addr), flow.D("Error", err))
			continue
		}
		iface := rep.GetStorage()
		r.storage[iface.GetId()] = iface
		next.Storage = append(next.Storage, &wire.StorageRef{Id: iface.GetId(), Tag: base + uint32(i), Process: string(addr),
			Locality: r.cc.workers[addr].report.GetLocality()})
		if inTeam[addr] {
			team = append(team, iface.GetId())
		}
	}
	next.NextTag = base + uint32(len(addrs))
	next.Shards = []*wire.ShardAssignment{{Begin: []byte{}, Servers: team}}
	return nil
}

// stateless recruits the sequencer, resolvers, commit proxies and GRV
// proxies of the generation.
func (r *recruiter) stateless(c *flow.Ctx, pl placement, next *wire.DBCoreState) error {
	gen := r.gen
	rv := next.GetRecoveryVersion()
	rep, err := r.one(c, pl.sequencer, "sequencer", &wire.RecruitRequest{Role: &wire.RecruitRequest_Sequencer{Sequencer: &wire.InitSequencer{RecoveryVersion: rv}}})
	if err != nil {
		return err
	}
	gen.sequencer = rep.GetSequencer()
	var ranges []*wire.KeyRange
	for i, addr := range pl.resolvers {
		kr := pl.resolverRanges[i]
		rep, err := r.one(c, addr, "resolver", &wire.RecruitRequest{Role: &wire.RecruitRequest_Resolver{Resolver: &wire.InitResolver{
			RecoveryVersion: rv, Range: &wire.KeyRange{Begin: kr.Begin, End: kr.End}}}})
		if err != nil {
			return err
		}
		gen.resolvers = append(gen.resolvers, rep.GetResolver())
		ranges = append(ranges, &wire.KeyRange{Begin: kr.Begin, End: kr.End})
	}
	shards, err := r.shardLocations(next)
	if err != nil {
		return err
	}
	proxyInit := &wire.InitCommitProxy{Sequencer: gen.sequencer, Resolvers: gen.resolvers, ResolverRanges: ranges,
		Logs: gen.logs, Shards: shards, Locked: next.GetLocked(), RecoveryVersion: rv}
	for _, p := range r.each(c, pl.commit, "commit", func(int) *wire.RecruitRequest {
		return &wire.RecruitRequest{Role: &wire.RecruitRequest_CommitProxy{CommitProxy: proxyInit}}
	}) {
		rep, err := p.future.Get()
		if err != nil {
			return fmt.Errorf("recruiting a commit proxy on %s: %w", p.addr, err)
		}
		gen.commit = append(gen.commit, rep.GetCommitProxy())
	}
	grvInit := &wire.InitGrvProxy{Sequencer: gen.sequencer, Logs: gen.logs}
	if r.cc.ratekeeper != nil {
		grvInit.Ratekeeper = r.cc.ratekeeper.Interface()
	}
	for _, p := range r.each(c, pl.grv, "grv", func(int) *wire.RecruitRequest {
		return &wire.RecruitRequest{Role: &wire.RecruitRequest_GrvProxy{GrvProxy: grvInit}}
	}) {
		rep, err := p.future.Get()
		if err != nil {
			return fmt.Errorf("recruiting a GRV proxy on %s: %w", p.addr, err)
		}
		gen.grv = append(gen.grv, rep.GetGrvProxy())
	}
	return nil
}

// shardLocations turns the coordinated shard map into the proxies' form
// with the storage servers' interfaces (a moving shard's mutations go to
// its source and destination teams).
func (r *recruiter) shardLocations(core *wire.DBCoreState) ([]*wire.ShardLocation, error) {
	ifaces := r.cc.storageInterfaces()
	for id, iface := range r.storage {
		ifaces[id] = iface
	}
	tags := map[string]uint32{}
	for _, s := range core.GetStorage() {
		tags[s.GetId()] = s.GetTag()
	}
	shards := core.GetShards()
	out := make([]*wire.ShardLocation, 0, len(shards))
	for i, s := range shards {
		end := kv.AllKeys.End
		if i+1 < len(shards) {
			end = shards[i+1].GetBegin()
		}
		loc := &wire.ShardLocation{Begin: s.GetBegin(), End: end}
		for _, id := range append(slices.Clone(s.GetServers()), s.GetDest()...) {
			iface := ifaces[id]
			if iface == nil {
				// Not reported yet: address its endpoints where the server
				// listens after a restart (tokens derive from its ID).
				iface = storage.InterfaceAt(processOf(core, id), id, tags[id])
			}
			loc.Servers = append(loc.Servers, iface)
		}
		if len(loc.Servers) == 0 {
			return nil, fmt.Errorf("shard %s has no storage server", kv.Printable(s.GetBegin()))
		}
		out = append(out, loc)
	}
	if len(out) == 0 || !bytes.Equal(out[0].GetBegin(), kv.AllKeys.Begin) {
		return nil, fmt.Errorf("the shard map does not start at the first key")
	}
	return out, nil
}

func processOf(core *wire.DBCoreState, id string) string {
	for _, s := range core.GetStorage() {
		if s.GetId() == id {
			return s.GetProcess()
		}
	}
	return ""
}

// storageInterfaces returns the storage servers' interfaces as their
// workers last reported them, by ID.
func (cc *Controller) storageInterfaces() map[string]*wire.StorageInterface {
	out := map[string]*wire.StorageInterface{}
	for _, w := range cc.workers {
		for _, s := range w.report.GetStorage() {
			out[s.GetId()] = s
		}
	}
	return out
}
