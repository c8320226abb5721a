package worker

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/strata-db/strata/db/engine"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/server/commitproxy"
	"github.com/strata-db/strata/db/server/grvproxy"
	"github.com/strata-db/strata/db/server/resolver"
	"github.com/strata-db/strata/db/server/sequencer"
	"github.com/strata-db/strata/db/server/storage"
	"github.com/strata-db/strata/db/server/tlog"
	"github.com/strata-db/strata/db/wire"
)

// HostConfig configures a worker's role host.
type HostConfig struct {
	// ProcessID names the process; role IDs are unique without it.
	ProcessID string
	// OpenEngine opens (creating if needed) the engine of a storage server
	// in dir, a directory of the process's data directory. Nil opens the
	// memory engine on the process's files (the simulator's choice).
	OpenEngine func(c *flow.Ctx, dir string) (engine.Engine, error)
	// StorageKnobs tune the storage servers; zero values take defaults.
	StorageKnobs storage.Knobs
	// OnServerDBInfo, if set, sees every newer ServerDBInfo after the host
	// applied it (the binary updates the client-facing publisher with it).
	OnServerDBInfo func(*wire.ServerDBInfo)
}

// Host is a worker's role host: it starts the roles the cluster controller
// recruits on the process, keeps its logs and storage servers across
// restarts (reopening them from the data directory), and follows the
// controller's ServerDBInfo, stopping the roles of older generations.
type Host struct {
	env *flow.Env
	cfg HostConfig

	info    *wire.ServerDBInfo
	roles   map[uint64][]stoppable // stateless roles by epoch
	logs    map[string]*hostedLog
	storage map[string]*hostedStorage
	// names are the status names of the roles hosted, by role ID.
	names map[string]string

	recruits *flow.Listener[*wire.RecruitRequest, *wire.RecruitReply]
	shardOps *flow.Listener[*wire.ShardControlRequest, *wire.ShardControlReply]
	infos    *flow.Listener[*wire.ServerDBInfo, *wire.ServerDBInfoReply]
	actors   []*flow.Actor
}

type stoppable interface{ Stop() }

type hostedLog struct {
	id     string
	epoch  uint64
	log    *tlog.TLog
	locked bool
}

type hostedStorage struct {
	id  string
	tag uint32
	srv *storage.Server
	eng engine.Engine
}

// Directory layout in the process's data directory: a marker file per
// durable role names it, so a restarted process finds its logs and storage
// servers; each role's files are in a directory of its own.
const rolesDir = "roles"

func logMarker(id string) string     { return rolesDir + "/log-" + id }
func storageMarker(id string) string { return rolesDir + "/storage-" + id }
func logDir(id string) string        { return "tlog-" + id }
func storageDir(id string) string    { return "storage-" + id }

// StartHost reopens the durable roles found in the process's data
// directory — logs come back locked, as members of an older generation
// only a recovery reads — and starts serving recruitment and ServerDBInfo
// on the well-known worker tokens.
func StartHost(c *flow.Ctx, cfg HostConfig) (*Host, error) {
	env := c.Env
	h := &Host{
		env: env, cfg: cfg,
		roles:   map[uint64][]stoppable{},
		logs:    map[string]*hostedLog{},
		storage: map[string]*hostedStorage{},
		names:   map[string]string{},
	}
	if h.cfg.OpenEngine == nil {
		h.cfg.OpenEngine = func(c *flow.Ctx, dir string) (engine.Engine, error) {
			return engine.OpenMemory(c, c.Env.Files(), dir)
		}
	}
	if err := h.reopen(c); err != nil {
		return nil, err
	}
	h.recruits = flow.Listen(env, kv.TokenRecruit, flow.ProtoCodec[*wire.RecruitRequest](), flow.ProtoCodec[*wire.RecruitReply]())
	h.infos = flow.Listen(env, kv.TokenServerDBInfo, flow.ProtoCodec[*wire.ServerDBInfo](), flow.ProtoCodec[*wire.ServerDBInfoReply]())
	h.shardOps = flow.Listen(env, kv.TokenShardControl, flow.ProtoCodec[*wire.ShardControlRequest](), flow.ProtoCodec[*wire.ShardControlReply]())
	h.actors = append(h.actors,
		env.Spawn("Worker.ShardControl", h.serveShardControl),
		env.Spawn("Worker.Recruit", h.serveRecruits),
		env.Spawn("Worker.ServerDBInfo", h.serveInfos))
	return h, nil
}

// Stop stops every role and closes the host's endpoints.
func (h *Host) Stop() {
	h.recruits.Close()
	h.infos.Close()
	h.shardOps.Close()
	for _, a := range h.actors {
		a.Cancel()
	}
	for _, e := range slices.Sorted(maps.Keys(h.roles)) {
		for _, r := range h.roles[e] {
			r.Stop()
		}
	}
	for _, id := range slices.Sorted(maps.Keys(h.logs)) {
		h.logs[id].log.Stop()
	}
	for _, id := range slices.Sorted(maps.Keys(h.storage)) {
		if s := h.storage[id]; s.srv != nil {
			s.srv.Stop()
		}
	}
}

// reopen restarts the logs and storage servers whose markers are in the
// data directory, and removes the files of roles whose marker is missing
// (a recruitment that did not finish).
func (h *Host) reopen(c *flow.Ctx) error {
	names, err := h.env.Files().List(rolesDir)
	if err != nil {
		return fmt.Errorf("worker: listing %s: %w", rolesDir, err)
	}
	for _, name := range names {
		data, err := readFile(h.env.Files(), rolesDir+"/"+name)
		if err != nil {
			return err
		}
		switch {
		case strings.HasPrefix(name, "log-"):
			err = h.reopenLog(c, data)
		case strings.HasPrefix(name, "storage-"):
			err = h.reopenStorage(c, data)
		}
		if err != nil {
			return fmt.Errorf("worker: reopening %s: %w", name, err)
		}
	}
	return h.removeOrphans(c)
}

func (h *Host) reopenLog(c *flow.Ctx, data []byte) error {
	var ref wire.LogRef
	if err := unmarshal(data, &ref); err != nil {
		return err
	}
	l, err := tlog.New(c, tlog.Config{ID: ref.GetId(), Dir: logDir(ref.GetId()), Locked: true})
	if errors.Is(err, tlog.ErrIncomplete) {
		// The marker is written only once the log is seeded, so an
		// incomplete log under it is a destroy (its generation was
		// superseded) that a crash interrupted: finish it. Dropping the
		// marker makes removeOrphans delete the files.
		h.env.Trace(flow.SevInfo, "WorkerFinishedLogDestroy", flow.D("ID", ref.GetId()))
		return removeFile(c, h.env.Files(), logMarker(ref.GetId()))
	}
	if err != nil {
		return err
	}
	h.logs[ref.GetId()] = &hostedLog{id: ref.GetId(), epoch: ref.GetEpoch(), log: l, locked: true}
	h.names[ref.GetId()] = "log"
	return nil
}

func (h *Host) reopenStorage(c *flow.Ctx, data []byte) error {
	var ref wire.StorageRef
	if err := unmarshal(data, &ref); err != nil {
		return err
	}
	eng, err := h.cfg.OpenEngine(c, storageDir(ref.GetId()))
	if err != nil {
		return err
	}
	// The server starts once the controller names the logs to pull from.
	h.storage[ref.GetId()] = &hostedStorage{id: ref.GetId(), tag: ref.GetTag(), eng: eng}
	h.names[ref.GetId()] = "storage"
	return nil
}

// startReopened starts the reopened storage servers on info's logs.
func (h *Host) startReopened(info *wire.ServerDBInfo) {
	for _, id := range slices.Sorted(maps.Keys(h.storage)) {
		s := h.storage[id]
		if s.srv != nil {
			continue
		}
		srv, err := storage.Reopen(h.env, s.eng, info.GetLogs(), h.cfg.StorageKnobs)
		if err != nil {
			h.env.Trace(flow.SevError, "WorkerStorageReopenFailed", flow.D("ID", s.id), flow.D("Error", err.Error()))
			continue
		}
		s.srv = srv
		h.dropUnassigned(s, info.GetShards())
	}
}

// dropUnassigned removes from a restarted storage server the parts of its
// shards the shard map no longer assigns to it: data distribution moved
// them while the server was down, so it would serve stale reads of them.
func (h *Host) dropUnassigned(s *hostedStorage, shards []*wire.ShardAssignment) {
	if len(shards) == 0 {
		return
	}
	for _, owned := range s.srv.Shards() {
		for _, r := range unassigned(owned.Range, s.id, shards) {
			if err := s.srv.RemoveShard(r); err != nil {
				h.env.Trace(flow.SevError, "WorkerDropShardFailed", flow.D("ID", s.id), flow.D("Shard", r.String()), flow.D("Error", err.Error()))
				continue
			}
			h.env.Trace(flow.SevInfo, "WorkerDroppedUnassignedShard", flow.D("ID", s.id), flow.D("Shard", r.String()))
		}
	}
}

// unassigned returns the parts of r the shard map does not assign to id
// (as a member or a destination).
func unassigned(r kv.KeyRange, id string, shards []*wire.ShardAssignment) []kv.KeyRange {
	var out []kv.KeyRange
	for i, sh := range shards {
		end := kv.AllKeys.End
		if i+1 < len(shards) {
			end = shards[i+1].GetBegin()
		}
		part := r.Intersect(kv.KeyRange{Begin: sh.GetBegin(), End: end})
		if part.Empty() {
			continue
		}
		if slices.Contains(sh.GetServers(), id) || slices.Contains(sh.GetDest(), id) {
			continue
		}
		if n := len(out); n > 0 && bytes.Equal(out[n-1].End, part.Begin) {
			out[n-1].End = part.End
			continue
		}
		out = append(out, part)
	}
	return out
}

// removeOrphans deletes the files of log and storage directories that no
// marker names.
func (h *Host) removeOrphans(c *flow.Ctx) error {
	files, err := h.env.Files().List("")
	if err != nil {
		return err
	}
	removed := false
	for _, f := range files {
		dir, _, ok := strings.Cut(f, "/")
		if !ok {
			continue
		}
		id, isLog := strings.CutPrefix(dir, "tlog-")
		if isLog && h.logs[id] == nil || !isLog && strings.HasPrefix(dir, "storage-") && h.storage[strings.TrimPrefix(dir, "storage-")] == nil {
			if err := h.env.Files().Remove(f); err != nil && !errors.Is(err, flow.ErrNotExist) {
				return err
			}
			removed = true
		}
	}
	if removed {
		return h.env.Files().SyncDir(c)
	}
	return nil
}

// Roles returns the status names of the roles the process hosts, sorted.
// A storage server counts once it holds a shard, and a log while it
// belongs to the current generation: an empty storage server or an old
// generation's log is no role a user must keep the process for.
func (h *Host) Roles() []string {
	var out []string
	for id, n := range h.names {
		switch n {
		case "storage":
			if s := h.storage[id]; s == nil || s.srv == nil || len(s.srv.Shards()) == 0 {
				continue
			}
		case "log":
			if l := h.logs[id]; l == nil || l.locked || l.epoch < h.info.GetEpoch() {
				continue
			}
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Epoch returns the epoch of the newest ServerDBInfo the host has seen.
func (h *Host) Epoch() uint64 { return h.info.GetEpoch() }

// InfoID returns the id of the newest ServerDBInfo the host has seen.
func (h *Host) InfoID() uint64 { return h.info.GetId() }

// HostedLogs returns the logs the process hosts, for its reports.
func (h *Host) HostedLogs() []*wire.HostedLog {
	out := make([]*wire.HostedLog, 0, len(h.logs))
	for _, l := range h.logs {
		out = append(out, &wire.HostedLog{Id: l.id, Epoch: l.epoch, Iface: l.log.Interface(), Locked: l.locked})
	}
	slices.SortFunc(out, func(a, b *wire.HostedLog) int { return strings.Compare(a.Id, b.Id) })
	return out
}

// HostedStorage returns the interfaces of the process's storage servers.
func (h *Host) HostedStorage() []*wire.StorageInterface {
	out := make([]*wire.StorageInterface, 0, len(h.storage))
	for _, s := range h.storage {
		if s.srv != nil {
			out = append(out, s.srv.Interface())
		}
	}
	slices.SortFunc(out, func(a, b *wire.StorageInterface) int { return strings.Compare(a.Id, b.Id) })
	return out
}

func (h *Host) serveInfos(c *flow.Ctx) error {
	for {
		r, err := h.infos.Requests().Next(c)
		if err != nil {
			return err
		}
		h.apply(r.Msg)
		r.Reply(&wire.ServerDBInfoReply{})
	}
}

// apply adopts info if it is newer than what the host has: roles of older
// generations stop, logs it does not name are destroyed (see
// destroyUnnamedLogs), and storage servers follow the new logs from the
// recovery version.
func (h *Host) apply(info *wire.ServerDBInfo) {
	if info.GetEpoch() < h.info.GetEpoch() || info.GetId() == h.info.GetId() {
		return
	}
	newEpoch := info.GetEpoch() > h.info.GetEpoch()
	// A host that missed a generation cannot tell its storage servers the
	// missed recovery versions; they must roll back further.
	gap := h.info.GetEpoch() != 0 && info.GetEpoch() > h.info.GetEpoch()+1
	h.info = info
	h.destroyStrays()
	if newEpoch {
		h.env.Trace(flow.SevInfo, "WorkerNewGeneration", flow.D("Epoch", info.GetEpoch()),
			flow.D("RecoveryVersion", info.GetRecoveryVersion()))
		h.stopOldGenerations(info.GetEpoch())
		for _, id := range slices.Sorted(maps.Keys(h.storage)) {
			s := h.storage[id]
			if s.srv == nil {
				continue
			}
			setLogs := s.srv.SetLogs
			if gap {
				setLogs = s.srv.SetLogsAfterGap
			}
			if err := setLogs(info.GetLogs(), kv.Version(info.GetRecoveryVersion())); err != nil {
				h.env.Trace(flow.SevError, "WorkerStorageSetLogsFailed", flow.D("ID", s.id), flow.D("Error", err.Error()))
			}
		}
	}
	h.destroyUnnamedLogs(info)
	h.startReopened(info)
	if h.cfg.OnServerDBInfo != nil {
		h.cfg.OnServerDBInfo(info)
	}
}

func (h *Host) stopOldGenerations(epoch uint64) {
	for _, e := range slices.Sorted(maps.Keys(h.roles)) {
		if e >= epoch {
			continue
		}
		for _, r := range h.roles[e] {
			r.Stop()
		}
		delete(h.roles, e)
	}
	h.pruneStatelessNames()
}

// destroyUnnamedLogs destroys the hosted logs of info's epoch or older
// that info does not name: logs of older generations, and logs recruited
// by a recovery attempt that failed and was retried in the same epoch
// with other logs. The published generation was seeded without them, so
// nothing will read them again; kept, they would hold their disk and
// memory and could stand in for the live log in the worker's metrics.
// Logs of a newer epoch belong to a recovery under way and stay.
func (h *Host) destroyUnnamedLogs(info *wire.ServerDBInfo) {
	named := map[string]bool{}
	for _, l := range info.GetLogs() {
		named[l.GetId()] = true
	}
	for _, id := range slices.Sorted(maps.Keys(h.logs)) {
		l := h.logs[id]
		if l.epoch > info.GetEpoch() || named[id] {
			continue
		}
		h.env.Trace(flow.SevInfo, "WorkerDestroyingLog", flow.D("ID", id), flow.D("Epoch", l.epoch))
		h.destroyLog(l)
	}
}

// destroyLog stops hosting a log and deletes its files and marker.
func (h *Host) destroyLog(l *hostedLog) {
	id := l.id
	delete(h.logs, id)
	delete(h.names, id)
	h.env.Spawn("Worker.DestroyLog", func(c *flow.Ctx) error {
		if err := l.log.Destroy(c); err != nil {
			c.Trace(flow.SevWarn, "WorkerDestroyLogFailed", flow.D("ID", id), flow.D("Error", err.Error()))
		}
		if err := removeFile(c, h.env.Files(), logMarker(id)); err != nil {
			c.Trace(flow.SevWarn, "WorkerDestroyLogFailed", flow.D("ID", id), flow.D("Error", err.Error()))
		}
		return nil
	})
}

// pruneStatelessNames drops the names of stopped stateless roles.
func (h *Host) pruneStatelessNames() {
	live := map[string]bool{}
	for _, rs := range h.roles {
		for _, r := range rs {
			if n, ok := r.(named); ok {
				live[n.roleID()] = true
			}
		}
	}
	for id, n := range h.names {
		if n != "log" && n != "storage" && !live[id] {
			delete(h.names, id)
		}
	}
}

type named interface{ roleID() string }

// statelessRole pairs a role's stop with its ID.
type statelessRole struct {
	id   string
	stop func()
}

func (r statelessRole) Stop()          { r.stop() }
func (r statelessRole) roleID() string { return r.id }

func (h *Host) serveRecruits(c *flow.Ctx) error {
	for {
		r, err := h.recruits.Requests().Next(c)
		if err != nil {
			return err
		}
		req := r.Msg
		c.Spawn("Worker.StartRole", func(c *flow.Ctx) error {
			rep, err := h.start(c, req)
			if err != nil {
				c.Trace(flow.SevWarn, "WorkerRecruitFailed", flow.D("ID", req.GetId()), flow.D("Error", err.Error()))
				r.Fail(err)
				return nil
			}
			r.Reply(rep)
			return nil
		})
	}
}

// ErrStaleGeneration refuses a recruitment for a generation older than one
// the worker already follows.
var ErrStaleGeneration = &flow.Error{Code: 2810, Name: "stale_generation"}

// ErrBadRecruit refuses a malformed recruitment.
var ErrBadRecruit = &flow.Error{Code: 2811, Name: "bad_recruitment"}

func (h *Host) start(c *flow.Ctx, req *wire.RecruitRequest) (*wire.RecruitReply, error) {
	epoch, id := req.GetEpoch(), req.GetId()
	if epoch < h.info.GetEpoch() {
		return nil, ErrStaleGeneration
	}
	if id == "" || h.names[id] != "" {
		return nil, ErrBadRecruit
	}
	switch role := req.GetRole().(type) {
	case *wire.RecruitRequest_Sequencer:
		s, err := sequencer.New(h.env, sequencer.Config{ID: id, InitialVersion: kv.Version(role.Sequencer.GetRecoveryVersion()),
			RecoveryGap: sequencer.DefaultRecoveryGap})
		if err != nil {
			return nil, err
		}
		h.keep(epoch, id, "sequencer", s.Stop)
		return &wire.RecruitReply{Iface: &wire.RecruitReply_Sequencer{Sequencer: s.Interface()}}, nil
	case *wire.RecruitRequest_Resolver:
		rr := role.Resolver.GetRange()
		res := resolver.New(h.env, resolver.Config{ID: id, Keys: kv.KeyRange{Begin: rr.GetBegin(), End: rr.GetEnd()},
			InitialVersion: kv.Version(role.Resolver.GetRecoveryVersion())})
		h.keep(epoch, id, "resolver", res.Stop)
		return &wire.RecruitReply{Iface: &wire.RecruitReply_Resolver{Resolver: res.Interface()}}, nil
	case *wire.RecruitRequest_CommitProxy:
		p, err := h.startCommitProxy(id, role.CommitProxy)
		if err != nil {
			return nil, err
		}
		h.keep(epoch, id, "commit_proxy", p.Stop)
		// A proxy that declared its generation dead no longer counts as
		// hosted: the controller sees it missing and recovers.
		h.actors = append(h.actors, h.env.Spawn("Worker.WatchCommitProxy", func(c *flow.Ctx) error {
			if _, err := flow.Await(c, p.Done()); err != nil && errors.Is(err, flow.ErrOperationCancelled) {
				return err
			}
			delete(h.names, id)
			return nil
		}))
		return &wire.RecruitReply{Iface: &wire.RecruitReply_CommitProxy{CommitProxy: p.Interface()}}, nil
	case *wire.RecruitRequest_GrvProxy:
		p, err := grvproxy.New(h.env, grvproxy.Config{ID: id, Sequencer: role.GrvProxy.GetSequencer(), Logs: role.GrvProxy.GetLogs(), Ratekeeper: role.GrvProxy.GetRatekeeper()})
		if err != nil {
			return nil, err
		}
		h.keep(epoch, id, "grv_proxy", p.Stop)
		return &wire.RecruitReply{Iface: &wire.RecruitReply_GrvProxy{GrvProxy: p.Interface()}}, nil
	case *wire.RecruitRequest_Log:
		return h.startLog(c, epoch, id, role.Log)
	case *wire.RecruitRequest_Storage:
		return h.startStorage(c, id, role.Storage)
	default:
		return nil, ErrBadRecruit
	}
}

func (h *Host) keep(epoch uint64, id, name string, stop func()) {
	h.roles[epoch] = append(h.roles[epoch], statelessRole{id: id, stop: stop})
	h.names[id] = name
	if epoch < h.info.GetEpoch() {
		// The generation ended while the role started.
		h.stopOldGenerations(h.info.GetEpoch())
	}
}

func (h *Host) startCommitProxy(id string, init *wire.InitCommitProxy) (*commitproxy.Proxy, error) {
	if len(init.GetResolvers()) != len(init.GetResolverRanges()) {
		return nil, ErrBadRecruit
	}
	cfg := commitproxy.Config{ID: id, Sequencer: init.GetSequencer(), TLogs: init.GetLogs(), Locked: init.GetLocked(), TagLockChanges: true}
	for i, r := range init.GetResolvers() {
		rr := init.GetResolverRanges()[i]
		cfg.Resolvers = append(cfg.Resolvers, commitproxy.Resolver{Interface: r, Range: kv.KeyRange{Begin: rr.GetBegin(), End: rr.GetEnd()}})
	}
	for _, s := range init.GetShards() {
		cfg.Shards = append(cfg.Shards, commitproxy.Shard{Range: kv.KeyRange{Begin: s.GetBegin(), End: s.GetEnd()}, Servers: s.GetServers()})
	}
	return commitproxy.New(h.env, cfg)
}

// startLog seeds a log of a new generation from the old one's locked logs,
// then writes its marker: a crash before the marker leaves only files
// that the next start removes.
func (h *Host) startLog(c *flow.Ctx, epoch uint64, id string, init *wire.InitLog) (*wire.RecruitReply, error) {
	cfg := tlog.Config{ID: id, Dir: logDir(id), InitialVersion: init.GetRecoveryVersion()}
	if len(init.GetRecoverFrom()) > 0 {
		rec := &tlog.Recovery{From: init.GetRecoverFrom(), Version: init.GetRecoveryVersion()}
		for _, t := range init.GetTags() {
			rec.Tags = append(rec.Tags, &wire.TLogTagState{Tag: t.GetTag(), Popped: t.GetPopped()})
		}
		cfg.Recover = rec
	}
	h.names[id] = "log" // reserved while it seeds
	l, err := tlog.New(c, cfg)
	if err != nil {
		delete(h.names, id)
		return nil, err
	}
	if err := writeMarker(c, h.env.Files(), logMarker(id), &wire.LogRef{Id: id, Process: h.cfg.ProcessID, Epoch: epoch}); err != nil {
		l.Stop()
		delete(h.names, id)
		return nil, err
	}
	h.logs[id] = &hostedLog{id: id, epoch: epoch, log: l}
	if epoch < h.info.GetEpoch() {
		h.stopOldGenerations(h.info.GetEpoch())
	}
	if h.info != nil && epoch <= h.info.GetEpoch() {
		// Seeding took long enough for the recovery that recruited it to
		// be abandoned and its epoch (or a later one) published without
		// it: no later ServerDBInfo would name it, and its tags' data
		// would never be popped.
		h.destroyUnnamedLogs(h.info)
		if h.logs[id] == nil {
			return nil, fmt.Errorf("worker: log %s: epoch %d was published without it", id, h.info.GetEpoch())
		}
	}
	return &wire.RecruitReply{Iface: &wire.RecruitReply_Log{Log: l.Interface()}}, nil
}

// startStorage creates a storage server with its own engine and marker.
func (h *Host) startStorage(c *flow.Ctx, id string, init *wire.InitStorage) (*wire.RecruitReply, error) {
	h.names[id] = "storage"
	eng, err := h.cfg.OpenEngine(c, storageDir(id))
	if err != nil {
		delete(h.names, id)
		return nil, err
	}
	cfg := storage.Config{ID: id, Tag: init.GetTag(), Engine: eng, Logs: init.GetLogs(), Knobs: h.cfg.StorageKnobs}
	for _, r := range init.GetShards() {
		cfg.Shards = append(cfg.Shards, kv.KeyRange{Begin: r.GetBegin(), End: r.GetEnd()})
	}
	srv, err := storage.New(h.env, cfg)
	if err != nil {
		eng.Close()
		delete(h.names, id)
		return nil, err
	}
	// The marker promises a server the engine can reopen: wait until the
	// engine holds its identity, or a kill before its first durable commit
	// would leave a marker that never reopens.
	if err := awaitIdentity(c, srv); err != nil {
		srv.Stop()
		delete(h.names, id)
		return nil, err
	}
	if err := writeMarker(c, h.env.Files(), storageMarker(id), &wire.StorageRef{Id: id, Tag: init.GetTag(), Process: h.cfg.ProcessID}); err != nil {
		srv.Stop()
		delete(h.names, id)
		return nil, err
	}
	h.storage[id] = &hostedStorage{id: id, tag: init.GetTag(), srv: srv, eng: eng}
	if h.env.BuggifyP("WorkerSlowStorageRecruit", 0.1) {
		// Answer after the controller's recruitment timeout: the
		// server it started is a stray the controller does not know.
		if err := c.Sleep(6 * time.Second); err != nil {
			return nil, err
		}
	}
	// The controller may have given up on this recruitment while the
	// server started; then it is a stray already.
	if h.destroyStrays(); h.storage[id] == nil {
		return nil, fmt.Errorf("storage %s: the controller gave up on its tag %d", id, init.GetTag())
	}
	return &wire.RecruitReply{Iface: &wire.RecruitReply_Storage{Storage: srv.Interface()}}, nil
}

// destroyStrays destroys the hosted storage servers the current
// ServerDBInfo shows the database will never use: not in its list of
// storage servers, with a tag below those still being handed out. Such a
// server was started by a recruitment that timed out at the controller; left
// running it would pull and pop a tag nobody else uses, hold files, and
// count as a role the process hosts. (FoundationDB's storage servers
// likewise remove themselves once they are not in the server list.)
func (h *Host) destroyStrays() {
	settled := h.info.GetStorageTagsSettled()
	members := h.info.GetStorageMembers()
	for _, id := range slices.Sorted(maps.Keys(h.storage)) {
		s := h.storage[id]
		if s.tag >= settled || slices.Contains(members, id) {
			continue
		}
		h.env.Trace(flow.SevWarn, "WorkerDestroyingStrayStorage", flow.D("ID", id), flow.D("Tag", s.tag),
			flow.D("SettledTags", settled))
		delete(h.storage, id)
		delete(h.names, id)
		if s.srv != nil {
			s.srv.Stop()
		}
		h.env.Spawn("Worker.DestroyStorage", func(c *flow.Ctx) error {
			if err := h.destroyStorageFiles(c, s); err != nil {
				c.Trace(flow.SevWarn, "WorkerDestroyStorageFailed", flow.D("ID", id), flow.D("Error", err.Error()))
			}
			return nil
		})
	}
}

// destroyStorageFiles closes a stopped storage server's engine and removes
// its marker, then its files: a crash in between leaves files no marker
// names, which the next start removes.
func (h *Host) destroyStorageFiles(c *flow.Ctx, s *hostedStorage) error {
	if err := s.eng.Close(); err != nil && !errors.Is(err, engine.ErrClosed) {
		return fmt.Errorf("closing the engine: %w", err)
	}
	fs := h.env.Files()
	if err := removeFile(c, fs, storageMarker(s.id)); err != nil {
		return fmt.Errorf("removing the marker: %w", err)
	}
	files, err := fs.List(storageDir(s.id))
	if err != nil {
		return fmt.Errorf("listing the files: %w", err)
	}
	for _, f := range files {
		name := storageDir(s.id) + "/" + f
		if err := fs.Remove(name); err != nil && !errors.Is(err, flow.ErrNotExist) {
			return fmt.Errorf("removing %s: %w", name, err)
		}
	}
	return fs.SyncDir(c)
}

// awaitIdentity waits until srv's engine durably records its identity.
func awaitIdentity(c *flow.Ctx, srv *storage.Server) error {
	i, err := flow.Select(c, srv.MetadataDurable(), srv.Done())
	switch {
	case err != nil:
		return err
	case i == 1:
		return fmt.Errorf("storage %s stopped before recording its identity", srv.Interface().GetId())
	}
	return nil
}

// fillMetrics adds the metrics of the process's roles: its first storage
// server's and its newest log's state, and the process's role counters.
func (h *Host) fillMetrics(env *flow.Env, m *wire.WorkerMetrics) {
	for _, id := range slices.Sorted(maps.Keys(h.storage)) {
		s := h.storage[id]
		if s.srv == nil {
			continue
		}
		st, es := s.srv.Stats(), s.eng.Stats()
		m.Storage = &wire.StorageMetrics{
			Version: int64(st.Version), DurableVersion: int64(st.DurableVersion), QueueBytes: st.QueueBytes,
			KvBytes: es.KeyValueBytes, DiskBytes: es.DiskBytes, Up: !s.srv.Done().IsReady(), Id: id,
		}
		break
	}
	var newest *hostedLog
	for _, id := range slices.Sorted(maps.Keys(h.logs)) {
		l := h.logs[id]
		if newest == nil || l.epoch > newest.epoch {
			newest = l
		}
	}
	if newest != nil {
		m.Log = logMetrics(newest.id, newest.log.Stats())
	}
	met := env.Metrics()
	m.TransactionsStarted = met.Counter("grvproxy.requests").Value()
	m.TransactionsCommitted = met.Counter("commitproxy.committed").Value()
	m.TransactionsConflicted = met.Counter("commitproxy.conflicts").Value()
	m.Reads = met.Counter("storage.reads").Value()
	m.Writes = met.Counter("storage.mutations").Value()
}

// ErrNoSuchStorage answers a shard request for a storage server the
// process does not run, or runs no longer: one that stopped (its tag was
// popped past its version, its engine failed) serves nothing, so data
// distribution must copy its shards from their other replicas and then
// retire it, as it does for a server whose process is gone.
var ErrNoSuchStorage = &flow.Error{Code: 2812, Name: "no_such_storage_server"}

// serveShardControl applies data distribution's requests to the process's
// storage servers.
func (h *Host) serveShardControl(c *flow.Ctx) error {
	for {
		r, err := h.shardOps.Requests().Next(c)
		if err != nil {
			return err
		}
		rep, err := h.shardControl(r.Msg)
		if err != nil {
			r.Fail(err)
			continue
		}
		r.Reply(rep)
	}
}

func (h *Host) shardControl(req *wire.ShardControlRequest) (*wire.ShardControlReply, error) {
	s := h.storage[req.GetStorageId()]
	if s == nil || s.srv == nil || s.srv.Done().IsReady() {
		return nil, ErrNoSuchStorage
	}
	keys := func(r *wire.KeyRange) kv.KeyRange { return kv.KeyRange{Begin: r.GetBegin(), End: r.GetEnd()} }
	switch op := req.GetOp().(type) {
	case *wire.ShardControlRequest_Add:
		if err := s.srv.AddShard(keys(op.Add.GetRange()), op.Add.GetSources(), kv.Version(op.Add.GetTaggedFrom())); err != nil {
			return nil, err
		}
	case *wire.ShardControlRequest_Remove:
		if err := s.srv.RemoveShard(keys(op.Remove.GetRange())); err != nil {
			return nil, err
		}
	case *wire.ShardControlRequest_States:
	default:
		return nil, ErrBadRecruit
	}
	rep := &wire.ShardControlReply{}
	durable := s.srv.Stats().DurableVersion
	for _, sh := range s.srv.Shards() {
		readable := sh.State == storage.ShardReadable
		rep.Shards = append(rep.Shards, &wire.ShardState{
			Range:    &wire.KeyRange{Begin: sh.Range.Begin, End: sh.Range.End},
			Readable: readable, Bytes: sh.Bytes, Durable: readable && durable >= sh.ReadableVersion,
		})
	}
	return rep, nil
}
