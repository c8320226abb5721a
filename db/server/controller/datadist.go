package controller

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/server/commitproxy"
	"github.com/strata-db/strata/db/server/coordinator"
	"github.com/strata-db/strata/db/server/grvproxy"
	"github.com/strata-db/strata/db/server/recruit"
	"github.com/strata-db/strata/db/server/storage"
	"github.com/strata-db/strata/db/wire"
	"google.golang.org/protobuf/proto"
)

// Data distribution (fdb.md §6.4), run by the controller for its current
// generation: it keeps every shard on a team of the mode's size whose
// members are live, not excluded and in distinct zones, moving shards off
// lost or excluded servers onto the least loaded valid ones.
//
// A move of shard r from team S to team D:
//
//  1. the coordinated state records D as r's destination, and every
//     commit proxy commits \xff/keyServers/r = S ∪ D, so from the largest
//     of those commit versions on every mutation in r reaches D too;
//  2. each server of D \ S fetches r from S at a version at or above it
//     and applies the mutations it buffered meanwhile (storage.AddShard);
//  3. once they serve r, the coordinated state and \xff/keyServers/ name D
//     alone, and the servers of S \ D drop r after the MVCC window, so
//     reads in flight at older versions still find it.
//
// A recovery in the middle starts from the coordinated state: the proxies
// of the next generation tag S ∪ D, and the move is planned again.
//
// When every team is healthy, data distribution sizes shards (ddshards.go,
// planned in ddplan.go): a shard larger than the maximum shard size
// (DataDistributionKnobs; FoundationDB's sizing by default) is split at
// its members' byte-sample split key — a change of the shard map only, as
// both halves stay on the team — and otherwise a shard of the fullest
// storage server moves to the emptiest one that keeps its team valid, by
// the move above. Shards are never merged.

// ddKnobs tune data distribution.
type ddKnobs struct {
	interval       time.Duration // between checks
	fetchTimeout   time.Duration // for a destination to serve a shard
	pollInterval   time.Duration // of destinations' shard states
	requestTimeout time.Duration
	// failedStorageGrace is how long a storage server that no shard names
	// must have been silent before it is removed as failed.
	failedStorageGrace time.Duration
}

func defaultDDKnobs() ddKnobs {
	return ddKnobs{
		interval: 500 * time.Millisecond, fetchTimeout: 2 * time.Minute, pollInterval: 100 * time.Millisecond,
		requestTimeout: 5 * time.Second, failedStorageGrace: 30 * time.Second,
	}
}

// shardMove is one planned move.
type shardMove struct {
	begin []byte
	src   []string
	dest  []string
	// abandon are destinations of an interrupted move no longer wanted:
	// they drop what they fetched.
	abandon []string
	// bytes is the shard's measured size, 0 when unknown; balance marks a
	// move that only evens out the servers' loads (the team is healthy).
	bytes   int64
	balance bool
}

// distribute runs data distribution until the generation fails.
func (cc *Controller) distribute(c *flow.Ctx, gen *generation) error {
	for !gen.failed.IsSet() {
		if err := c.Sleep(cc.dd.interval); err != nil {
			return err
		}
		if err := cc.syncLock(c, gen); err != nil {
			if errors.Is(err, flow.ErrOperationCancelled) || errors.Is(err, errGenerationSuperseded) {
				return err
			}
			c.Trace(flow.SevWarn, "ControllerLockSyncFailed", flow.D("Error", err.Error()))
		}
		if err := cc.recruitMissingStorage(c, gen); err != nil {
			if errors.Is(err, flow.ErrOperationCancelled) {
				return err
			}
			c.Trace(flow.SevWarn, "RecruitStorageFailed", flow.D("Error", err.Error()))
		}
		held := cc.heldShards(c, gen.core)
		mv, err := cc.planMove(gen.core, held)
		if err != nil {
			c.Trace(flow.SevWarn, "DDNoValidTeam", flow.D("Error", err.Error()))
			continue
		}
		if mv == nil {
			// Every team is healthy: retire drained and failed storage
			// servers, release dead tags, split large shards, even out
			// loads.
			if err := cc.removeRetiredStorage(c, gen, held); err != nil {
				if errors.Is(err, flow.ErrOperationCancelled) || errors.Is(err, errGenerationSuperseded) {
					return err
				}
				c.Trace(flow.SevWarn, "DDRemoveStorageFailed", flow.D("Error", err.Error()))
			}
			cc.popDeadTags(c, gen)
			if err := cc.sizeShards(c, gen, held); err != nil {
				if errors.Is(err, flow.ErrOperationCancelled) || errors.Is(err, errGenerationSuperseded) {
					return err
				}
				c.Trace(flow.SevWarn, "DDSizingFailed", flow.D("Error", err.Error()))
			}
			continue
		}
		c.Trace(flow.SevInfo, "DDMoveStarting", flow.D("Begin", kv.Printable(mv.begin)),
			flow.D("From", fmt.Sprint(mv.src)), flow.D("To", fmt.Sprint(mv.dest)))
		if err := cc.trackedMove(c, gen, mv); err != nil {
			if errors.Is(err, flow.ErrOperationCancelled) {
				return err
			}
			c.Trace(flow.SevWarn, "DDMoveFailed", flow.D("Begin", kv.Printable(mv.begin)), flow.D("Error", err.Error()))
			if errors.Is(err, errGenerationSuperseded) {
				return err
			}
			continue
		}
		c.Trace(flow.SevInfo, "DDMoveDone", flow.D("Begin", kv.Printable(mv.begin)), flow.D("To", fmt.Sprint(mv.dest)))
	}
	return nil
}

// planMove returns the first shard whose team needs repair and the team
// to move it to, or nil when every team is healthy.
func (cc *Controller) planMove(core *wire.DBCoreState, held map[string]*wire.ShardControlReply) (*shardMove, error) {
	mode, err := modeOf(core.GetConfiguration())
	if err != nil {
		return nil, err
	}
	servers, byID := cc.storageCandidates(core, responsive(cc.liveStorage(), held))
	maint := cc.maintenanceServers(core)
	load := map[string]int64{}
	for _, s := range core.GetShards() {
		for _, id := range s.GetServers() {
			load[id]++
		}
	}
	for _, s := range core.GetShards() {
		if len(s.GetDest()) > 0 {
			// A move a recovery interrupted: finish it if its destination
			// is still a healthy team, otherwise plan it anew from the
			// source team.
			var dest recruit.Team
			for _, id := range s.GetDest() {
				if srv, ok := byID[id]; ok && !srv.Excluded {
					dest = append(dest, srv)
				}
			}
			if len(dest) == mode.StorageReplicas && recruit.ValidTeam(dest, mode) == nil {
				return &shardMove{begin: s.GetBegin(), src: s.GetServers(), dest: s.GetDest()}, nil
			}
		}
		// A member counts if it is live, not excluded, and still holds the
		// shard: a server that restarted in the middle of fetching it
		// dropped it and must be given it again.
		r := shardRange(core, shardIndex(core, s.GetBegin()))
		var keep recruit.Team
		for _, id := range s.GetServers() {
			if srv, ok := byID[id]; ok && !srv.Excluded && holds(held[id], r) {
				keep = append(keep, srv)
			} else if srv, ok := maint[id]; ok {
				// Its zone is under maintenance: it is expected back.
				keep = append(keep, srv)
			}
		}
		if len(s.GetDest()) == 0 && len(keep) == len(s.GetServers()) && len(keep) == mode.StorageReplicas && recruit.ValidTeam(keep, mode) == nil {
			continue
		}
		if len(keep) == 0 {
			// No live replica to copy from: wait for one to come back.
			continue
		}
		dest, err := completeTeam(keep, servers, mode, load, cc.storageFitness(core))
		if err != nil {
			return nil, fmt.Errorf("shard %s: %w", kv.Printable(s.GetBegin()), err)
		}
		return &shardMove{begin: s.GetBegin(), src: s.GetServers(), dest: dest.IDs(), abandon: without(s.GetDest(), dest.IDs())}, nil
	}
	return nil, nil
}

// recruitMissingStorage gives a storage server to one storage-fit worker
// that has none (it registered after the database was created, or is new),
// recording it in the coordinated state before any shard goes to it.
func (cc *Controller) recruitMissingStorage(c *flow.Ctx, gen *generation) error {
	has := map[string]bool{}
	for _, s := range gen.core.GetStorage() {
		has[s.GetProcess()] = true
	}
	for _, w := range cc.candidates() {
		if has[w.ID] || w.Excluded || recruit.Fitness(w.Class, recruit.Storage) > recruit.UnsetFit {
			continue
		}
		// The tag is reserved in the coordinated state before the
		// recruitment: one that times out may still have started a
		// server with it, and that server pops its tag as it makes
		// versions durable. Given again to the next recruit, the tag
		// was popped past what that one had made durable, and a restart
		// lost those versions (cluster-split seed 3313270609738998146).
		tag := gen.core.GetNextTag()
		gen.recruitingStorage, gen.recruitingTag = true, tag
		err := cc.recruitStorageWithTag(c, gen, w.ID, tag)
		gen.recruitingStorage = false
		if err != nil && cc.gen == gen && !gen.failed.IsSet() && !errors.Is(err, flow.ErrOperationCancelled) {
			// Published with the tag settled, a server the worker may
			// have started with it is an orphan the worker destroys.
			cc.publish(c)
		}
		return err
	}
	return nil
}

// recruitStorageWithTag reserves tag in the coordinated state, recruits a
// storage server with it on worker and records the server there.
func (cc *Controller) recruitStorageWithTag(c *flow.Ctx, gen *generation, worker string, tag uint32) error {
	reserved := proto.CloneOf(gen.core)
	reserved.NextTag = tag + 1
	if err := cc.writeCore(c, gen, reserved); err != nil {
		return err
	}
	r := &recruiter{cc: cc, epoch: gen.epoch, gen: gen}
	rep, err := r.one(c, flow.Address(worker), "storage", &wire.RecruitRequest{Role: &wire.RecruitRequest_Storage{Storage: &wire.InitStorage{
		Tag: tag, Logs: gen.logs}}})
	if err != nil {
		return err
	}
	next := proto.CloneOf(gen.core)
	next.Storage = append(next.Storage, &wire.StorageRef{Id: rep.GetStorage().GetId(), Tag: tag, Process: worker,
		Locality: cc.workers[flow.Address(worker)].report.GetLocality()})
	return cc.writeCore(c, gen, next)
}

// heldShards asks every live storage server which shards it holds; a
// server that does not answer is left out (and so holds nothing).
func (cc *Controller) heldShards(c *flow.Ctx, core *wire.DBCoreState) map[string]*wire.ShardControlReply {
	live := cc.liveStorage()
	ids := slices.Sorted(maps.Keys(live))
	futures := make([]flow.Future[*wire.ShardControlReply], len(ids))
	for i, id := range ids {
		addr := processOf(core, id)
		s := flow.NewRequestStream(flow.Endpoint{Addr: flow.Address(addr), Token: kv.TokenShardControl},
			flow.ProtoCodec[*wire.ShardControlRequest](), flow.ProtoCodec[*wire.ShardControlReply]())
		futures[i] = s.GetReply(c.Env, &wire.ShardControlRequest{StorageId: id, Op: &wire.ShardControlRequest_States{States: &wire.ShardStates{}}})
	}
	_ = awaitUntil(c, futures, cc.dd.requestTimeout)
	out := map[string]*wire.ShardControlReply{}
	for i, f := range futures {
		if f.IsReady() && f.Err() == nil {
			rep, _ := f.Get()
			out[ids[i]] = rep
		}
	}
	return out
}

// responsive narrows the live storage servers to those that answered
// heldShards: a process can be up while its storage server is not (it
// failed to reopen), and such a server must not be given shards.
func responsive(live map[string]bool, held map[string]*wire.ShardControlReply) map[string]bool {
	out := map[string]bool{}
	for id := range live {
		if held[id] != nil {
			out[id] = true
		}
	}
	return out
}

// holds reports whether a server's shards cover r (readable or fetching).
func holds(rep *wire.ShardControlReply, r kv.KeyRange) bool {
	if rep == nil {
		return false
	}
	covered := r.Begin
	for _, s := range rep.GetShards() {
		b, e := s.GetRange().GetBegin(), s.GetRange().GetEnd()
		if bytes.Compare(b, covered) <= 0 && bytes.Compare(e, covered) > 0 {
			covered = e
			if bytes.Compare(covered, r.End) >= 0 {
				return true
			}
		}
	}
	return false
}

// storageFitness is each storage server's process class fitness for
// storage: new team members go to storage-class processes first.
func (cc *Controller) storageFitness(core *wire.DBCoreState) map[string]recruit.Fit {
	out := map[string]recruit.Fit{}
	for _, s := range core.GetStorage() {
		out[s.GetId()] = recruit.Fitness(cc.classOf(s.GetProcess()), recruit.Storage)
	}
	return out
}

// maintenanceServers are the storage servers in the zone under
// maintenance (`maintenance on <zone> <seconds>`), while it lasts: data
// distribution does not replace them when they go down.
func (cc *Controller) maintenanceServers(core *wire.DBCoreState) map[string]recruit.StorageServer {
	out := map[string]recruit.StorageServer{}
	m := cc.maintenance
	if m == nil || m.Until <= cc.latestVersion() {
		return out
	}
	for _, s := range core.GetStorage() {
		l := s.GetLocality()
		if l["zoneid"] == m.Zone {
			out[s.GetId()] = recruit.StorageServer{ID: s.GetId(),
				Locality: recruit.Locality{DC: l["dcid"], DataHall: l["data_hall"], Zone: l["zoneid"], Machine: l["machineid"]}}
		}
	}
	return out
}

// latestVersion is the newest version a worker reported: the clock that
// maintenance windows are written in.
func (cc *Controller) latestVersion() kv.Version {
	var v int64
	for _, w := range cc.workers {
		m := w.report.GetMetrics()
		v = max(v, m.GetLog().GetVersion(), m.GetStorage().GetVersion())
	}
	return kv.Version(v)
}

// storageCandidates are the live storage servers in recruit's terms, with
// excluded ones marked.
func (cc *Controller) storageCandidates(core *wire.DBCoreState, live map[string]bool) ([]recruit.StorageServer, map[string]recruit.StorageServer) {
	var out []recruit.StorageServer
	byID := map[string]recruit.StorageServer{}
	for _, s := range core.GetStorage() {
		if !live[s.GetId()] {
			continue
		}
		l := s.GetLocality()
		srv := recruit.StorageServer{ID: s.GetId(),
			Locality: recruit.Locality{DC: l["dcid"], DataHall: l["data_hall"], Zone: l["zoneid"], Machine: l["machineid"]},
			Excluded: cc.exclusions[s.GetProcess()]}
		out = append(out, srv)
		byID[srv.ID] = srv
	}
	return out, byID
}

// completeTeam trims keep to a valid team of the mode's size and fills it
// with the least loaded servers that keep it valid.
func completeTeam(keep recruit.Team, servers []recruit.StorageServer, mode recruit.Mode, load map[string]int64, fit map[string]recruit.Fit) (recruit.Team, error) {
	// Drop members that share a zone with an earlier one, then extras.
	var team recruit.Team
	for _, s := range keep {
		if recruit.ValidTeam(append(slices.Clone(team), s), modeWithReplicas(mode, len(team)+1)) == nil {
			team = append(team, s)
		}
	}
	if len(team) > mode.StorageReplicas {
		team = team[:mode.StorageReplicas]
	}
	for len(team) < mode.StorageReplicas {
		pick, err := bestAddition(team, servers, mode, load, fit)
		if err != nil {
			return nil, err
		}
		team = append(team, pick)
	}
	slices.SortFunc(team, func(a, b recruit.StorageServer) int { return strings.Compare(a.ID, b.ID) })
	return team, nil
}

// modeWithReplicas is mode with its storage policy checked for a partial
// team of n members.
func modeWithReplicas(mode recruit.Mode, n int) recruit.Mode {
	m := mode
	m.StorageReplicas = n
	if len(m.StoragePolicy) > 0 {
		p := slices.Clone(m.StoragePolicy)
		p[0].Count = min(p[0].Count, n)
		m.StoragePolicy = p
	}
	return m
}

// bestAddition is the least loaded server (then smallest ID) that keeps
// team valid for its new size.
func bestAddition(team recruit.Team, servers []recruit.StorageServer, mode recruit.Mode, load map[string]int64, fit map[string]recruit.Fit) (recruit.StorageServer, error) {
	var best *recruit.StorageServer
	for i := range servers {
		s := servers[i]
		if s.Excluded || slices.ContainsFunc(team, func(t recruit.StorageServer) bool { return t.ID == s.ID }) {
			continue
		}
		if recruit.ValidTeam(append(slices.Clone(team), s), modeWithReplicas(mode, len(team)+1)) != nil {
			continue
		}
		if best == nil || betterDestination(s, *best, load, fit) {
			best = &servers[i]
		}
	}
	if best == nil {
		return recruit.StorageServer{}, fmt.Errorf("no live storage server can join a %s team of %d", mode.Name, len(team))
	}
	return *best, nil
}

// betterDestination orders candidate members: storage-class processes
// first, then the least loaded, then by ID.
func betterDestination(a, b recruit.StorageServer, load map[string]int64, fit map[string]recruit.Fit) bool {
	if fit[a.ID] != fit[b.ID] {
		return fit[a.ID] < fit[b.ID]
	}
	if load[a.ID] != load[b.ID] {
		return load[a.ID] < load[b.ID]
	}
	return a.ID < b.ID
}

// runMove carries out one move (see the package comment above).
func (cc *Controller) runMove(c *flow.Ctx, gen *generation, mv *shardMove) error {
	i := shardIndex(gen.core, mv.begin)
	if i < 0 {
		return fmt.Errorf("shard %s is no longer in the map", kv.Printable(mv.begin))
	}
	r := shardRange(gen.core, i)
	if err := cc.untagAbandoned(c, gen, i, mv); err != nil {
		return err
	}
	// The destination's servers that do not hold r yet: new members, and
	// members that lost it (a restart while fetching).
	var added []string
	for _, id := range mv.dest {
		if !slices.Contains(mv.src, id) {
			added = append(added, id)
		} else if rep, err := cc.shardStates(c, gen.core, id); err == nil && !holds(rep, r) {
			added = append(added, id)
		}
	}
	if len(added) > 0 {
		// A copy of r left by an abandoned move to a server the proxies no
		// longer tag missed the mutations since: drop it before tagging the
		// server again, so the server fetches r anew.
		for _, id := range without(added, gen.core.Shards[i].GetDest()) {
			rep, err := cc.shardStates(c, gen.core, id)
			if err != nil {
				return err
			}
			if exactShard(rep, r) != nil {
				if err := cc.removeShard(c, gen.core, id, r); err != nil {
					return err
				}
			}
		}
		next := proto.CloneOf(gen.core)
		next.Shards[i].Dest = mv.dest
		if err := cc.writeCore(c, gen, next); err != nil {
			return err
		}
		taggedFrom, err := cc.commitShardLocation(c, gen, next, i)
		if err != nil {
			return err
		}
		sources := cc.storageIfaces(gen.core, without(liveOnly(mv.src, cc.liveStorage()), added))
		if len(sources) == 0 {
			return fmt.Errorf("no live source holds shard %s", kv.Printable(mv.begin))
		}
		for _, id := range added {
			if rep, err := cc.shardStates(c, gen.core, id); err == nil && exactShard(rep, r) != nil {
				continue // an earlier attempt of this move already added it
			}
			if err := cc.addShard(c, gen.core, id, r, sources, taggedFrom); err != nil {
				return err
			}
		}
		if err := cc.waitReadable(c, gen.core, added, r); err != nil {
			return err
		}
	}
	// The servers leaving the team stop serving r before the proxies stop
	// sending them its mutations, so none serves a stale read; a dead one
	// drops it when it restarts (the ServerDBInfo names the new team).
	live := cc.liveStorage()
	for _, id := range append(without(mv.src, mv.dest), without(mv.abandon, mv.src)...) {
		if !live[id] {
			continue
		}
		if err := cc.removeShard(c, gen.core, id, r); err != nil {
			return err
		}
	}
	// The proxies switch first: their commit tags each leaver with a
	// PrivateRemoveShard, so even a leaver cut off from the controller
	// stops serving r once it pulls that version. A recovery before the
	// coordinated state names D alone tags S ∪ D again and the move is
	// finished anew.
	next := proto.CloneOf(gen.core)
	next.Shards[i].Servers, next.Shards[i].Dest = mv.dest, nil
	if _, err := cc.commitShardLocation(c, gen, next, i); err != nil {
		return err
	}
	return cc.writeCore(c, gen, next)
}

// untagAbandoned takes the destinations an interrupted move leaves behind
// off shard i before the coordinated state forgets them. The proxies'
// maps shrink only by a commit, which tags each leaver with a
// PrivateRemoveShard so it stops serving the shard; a recovery rebuilds
// the maps from the coordinated state. Writing the state first would let a
// recovery in between rebuild maps without the leavers: nothing would ever
// untag them, and a client that cached the old team would read their
// frozen copy at any later version.
func (cc *Controller) untagAbandoned(c *flow.Ctx, gen *generation, i int, mv *shardMove) error {
	cur := gen.core.Shards[i]
	gone := without(without(cur.GetDest(), mv.dest), mv.src)
	if len(gone) == 0 {
		return nil
	}
	next := proto.CloneOf(gen.core)
	next.Shards[i].Dest = without(cur.GetDest(), gone)
	if _, err := cc.commitShardLocation(c, gen, next, i); err != nil {
		return err
	}
	return cc.writeCore(c, gen, next)
}

func shardIndex(core *wire.DBCoreState, begin []byte) int {
	for i, s := range core.GetShards() {
		if bytes.Equal(s.GetBegin(), begin) {
			return i
		}
	}
	return -1
}

func shardRange(core *wire.DBCoreState, i int) kv.KeyRange {
	shards := core.GetShards()
	end := kv.AllKeys.End
	if i+1 < len(shards) {
		end = shards[i+1].GetBegin()
	}
	return kv.KeyRange{Begin: shards[i].GetBegin(), End: end}
}

func without(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func liveOnly(ids []string, live map[string]bool) []string {
	var out []string
	for _, id := range ids {
		if live[id] {
			out = append(out, id)
		}
	}
	return out
}

// writeCore writes a new coordinated state for the running generation; it
// fails with errGenerationSuperseded if another controller recovered.
func (cc *Controller) writeCore(c *flow.Ctx, gen *generation, next *wire.DBCoreState) error {
	cs, err := coordinator.NewCoordinatedState(cc.cfg.Conn)
	if err != nil {
		return err
	}
	raw, err := cs.Read(c)
	if err != nil {
		return fmt.Errorf("reading the coordinated state: %w", err)
	}
	var cur wire.DBCoreState
	if err := proto.Unmarshal(raw, &cur); err != nil {
		return fmt.Errorf("decoding the coordinated state: %w", err)
	}
	if cur.GetEpoch() != gen.epoch {
		if !gen.failed.IsSet() {
			gen.failed.Send("the coordinated state moved to another generation")
		}
		return errGenerationSuperseded
	}
	raw, err = deterministic.Marshal(next)
	if err != nil {
		return err
	}
	if err := cs.SetExclusive(c, raw); err != nil {
		if errors.Is(err, coordinator.ErrCoordinatedStateConflict) {
			return errGenerationSuperseded
		}
		return fmt.Errorf("writing the coordinated state: %w", err)
	}
	gen.core = next
	cc.publish(c)
	return nil
}

// commitShardLocation commits shard i's entry of \xff/keyServers/ through
// every commit proxy (each keeps its own copy of the map) and returns the
// largest commit version: from it on, every proxy tags by the new entry.
// The same transaction clears any boundary a proxy has inside the shard (a
// split whose coordinated state write failed, see runSplits), so the entry
// covers exactly the shard's range on every proxy.
func (cc *Controller) commitShardLocation(c *flow.Ctx, gen *generation, core *wire.DBCoreState, i int) (kv.Version, error) {
	s := core.GetShards()[i]
	loc := &wire.ShardLocation{Servers: cc.storageIfaces(core, append(slices.Clone(s.GetServers()), s.GetDest()...))}
	val, err := deterministic.Marshal(loc)
	if err != nil {
		return 0, err
	}
	r := shardRange(core, i)
	key := append(slices.Clone(commitproxy.KeyServersPrefix), r.Begin...)
	end := append(slices.Clone(commitproxy.KeyServersPrefix), r.End...)
	inside := append(slices.Clone(key), 0)
	muts := []*wire.Mutation{
		{Type: uint32(kv.ClearRange), Key: inside, Param: end},
		{Type: uint32(kv.SetValue), Key: key, Param: val},
	}
	return cc.commitKeyServers(c, gen, muts, []*wire.KeyRange{{Begin: key, End: end}})
}

// commitKeyServers commits mutations of \xff/keyServers/ through every
// commit proxy and returns the largest commit version.
func (cc *Controller) commitKeyServers(c *flow.Ctx, gen *generation, muts []*wire.Mutation, conflicts []*wire.KeyRange) (kv.Version, error) {
	rv, err := cc.readVersion(c, gen)
	if err != nil {
		return 0, err
	}
	req := &wire.CommitTransactionRequest{
		ReadVersion: int64(rv), LockAware: true, WriteConflictRanges: conflicts, Mutations: muts,
	}
	var top kv.Version
	for _, p := range gen.commit {
		s := flow.NewRequestStream(endpoint(p.GetAddress(), p.GetCommit()),
			flow.ProtoCodec[*wire.CommitTransactionRequest](), flow.ProtoCodec[*wire.CommitTransactionReply]())
		rep, err := awaitTimeout(c, s.GetReply(c.Env, req), cc.dd.requestTimeout)
		if err != nil {
			return 0, fmt.Errorf("committing the shard map through %s: %w", p.GetId(), err)
		}
		top = max(top, kv.Version(rep.GetVersion()))
	}
	return top, nil
}

// readVersion gets a read version from the generation's GRV proxy.
func (cc *Controller) readVersion(c *flow.Ctx, gen *generation) (kv.Version, error) {
	if len(gen.grv) == 0 {
		return 0, errors.New("the generation has no GRV proxy")
	}
	p := gen.grv[0]
	s := flow.NewRequestStream(endpoint(p.GetAddress(), p.GetGetReadVersion()),
		flow.ProtoCodec[*wire.GetReadVersionRequest](), flow.ProtoCodec[*wire.GetReadVersionReply]())
	rep, err := awaitTimeout(c, s.GetReply(c.Env, &wire.GetReadVersionRequest{Priority: grvproxy.PrioritySystemImmediate, TransactionCount: 1}), cc.dd.requestTimeout)
	if err != nil {
		return 0, fmt.Errorf("getting a read version: %w", err)
	}
	return kv.Version(rep.GetVersion()), nil
}

// storageIfaces returns the current interfaces of storage servers.
func (cc *Controller) storageIfaces(core *wire.DBCoreState, ids []string) []*wire.StorageInterface {
	known := cc.storageInterfaces()
	tags := map[string]uint32{}
	for _, s := range core.GetStorage() {
		tags[s.GetId()] = s.GetTag()
	}
	out := make([]*wire.StorageInterface, 0, len(ids))
	for _, id := range ids {
		if iface := known[id]; iface != nil {
			out = append(out, iface)
		} else {
			out = append(out, storage.InterfaceAt(processOf(core, id), id, tags[id]))
		}
	}
	return out
}

// shardControl sends a ShardControlRequest to the worker of storage id.
func (cc *Controller) shardControl(c *flow.Ctx, core *wire.DBCoreState, req *wire.ShardControlRequest) (*wire.ShardControlReply, error) {
	addr := processOf(core, req.GetStorageId())
	s := flow.NewRequestStream(flow.Endpoint{Addr: flow.Address(addr), Token: kv.TokenShardControl},
		flow.ProtoCodec[*wire.ShardControlRequest](), flow.ProtoCodec[*wire.ShardControlReply]())
	return awaitTimeout(c, s.GetReply(c.Env, req), cc.dd.requestTimeout)
}

func (cc *Controller) addShard(c *flow.Ctx, core *wire.DBCoreState, id string, r kv.KeyRange, sources []*wire.StorageInterface, taggedFrom kv.Version) error {
	_, err := cc.shardControl(c, core, &wire.ShardControlRequest{StorageId: id, Op: &wire.ShardControlRequest_Add{Add: &wire.AddShard{
		Range: &wire.KeyRange{Begin: r.Begin, End: r.End}, Sources: sources, TaggedFrom: int64(taggedFrom)}}})
	if err != nil {
		return fmt.Errorf("adding shard %s to %s: %w", kv.Printable(r.Begin), id, err)
	}
	return nil
}

// waitReadable polls the destinations until each serves r, failing at
// once when one no longer has r at all.
func (cc *Controller) waitReadable(c *flow.Ctx, core *wire.DBCoreState, ids []string, r kv.KeyRange) error {
	deadline := c.Now().Add(cc.dd.fetchTimeout)
	for _, id := range ids {
		for {
			rep, err := cc.shardStates(c, core, id)
			if err == nil && readable(rep, r) {
				break
			}
			if err == nil && !holds(rep, r) {
				// It restarted and dropped the shard it was fetching: the
				// move must add it again.
				return fmt.Errorf("storage server %s dropped shard %s before serving it", id, kv.Printable(r.Begin))
			}
			if !c.Now().Before(deadline) {
				return fmt.Errorf("storage server %s did not serve shard %s in %v", id, kv.Printable(r.Begin), cc.dd.fetchTimeout)
			}
			if err := c.Sleep(cc.dd.pollInterval); err != nil {
				return err
			}
		}
	}
	return nil
}

// readable reports whether a server serves exactly r and would keep it
// across a restart: the move may only take r from its sources then.
func readable(rep *wire.ShardControlReply, r kv.KeyRange) bool {
	s := exactShard(rep, r)
	return s.GetReadable() && s.GetDurable()
}

// removeShard makes a former member stop serving r and drop its data. A
// worker that hosts no such storage server (it failed to reopen) holds
// nothing to remove.
func (cc *Controller) removeShard(c *flow.Ctx, core *wire.DBCoreState, id string, r kv.KeyRange) error {
	_, err := cc.shardControl(c, core, &wire.ShardControlRequest{StorageId: id, Op: &wire.ShardControlRequest_Remove{Remove: &wire.RemoveShard{
		Range: &wire.KeyRange{Begin: r.Begin, End: r.End}}}})
	if err != nil && !isNoSuchStorage(err) {
		return fmt.Errorf("removing shard %s from %s: %w", kv.Printable(r.Begin), id, err)
	}
	return nil
}

func (cc *Controller) shardStates(c *flow.Ctx, core *wire.DBCoreState, id string) (*wire.ShardControlReply, error) {
	return cc.shardControl(c, core, &wire.ShardControlRequest{StorageId: id, Op: &wire.ShardControlRequest_States{States: &wire.ShardStates{}}})
}

// exactShard returns the server's shard that is exactly r, or nil.
func exactShard(rep *wire.ShardControlReply, r kv.KeyRange) *wire.ShardState {
	for _, s := range rep.GetShards() {
		if bytes.Equal(s.GetRange().GetBegin(), r.Begin) && bytes.Equal(s.GetRange().GetEnd(), r.End) {
			return s
		}
	}
	return nil
}
