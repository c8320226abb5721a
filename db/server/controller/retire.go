package controller

import (
	"slices"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/wire"
	"google.golang.org/protobuf/proto"
)

// removeRetiredStorage drops from the coordinated state's list the
// storage servers that no shard names and that will never serve again:
//
//   - drained: an exclusion names the server's process, and the server
//     holds nothing (or does not answer). FoundationDB's data distribution
//     likewise removes a storage server once an exclusion has drained it.
//   - failed: the server has not answered for ddKnobs.failedStorageGrace
//     (30 s). Data distribution has already moved its shards to live
//     teams; kept, its tag would hold every log's queue at the last version
//     it popped, and the queues would grow without end (FoundationDB
//     removes a failed storage server once its data is gone from it too).
//
// The next ServerDBInfo shows them as no members, so their workers destroy
// them and free their disks if they ever come back, and popDeadTags
// releases their tags in the logs. A process that comes back or is
// included again gets a new storage server from recruitMissingStorage.
func (cc *Controller) removeRetiredStorage(c *flow.Ctx, gen *generation, held map[string]*wire.ShardControlReply) error {
	named := namedStorage(gen.core)
	if gen.silentSince == nil {
		gen.silentSince = map[string]time.Time{}
	}
	var keep []*wire.StorageRef
	var drained, failed []string
	for _, s := range gen.core.GetStorage() {
		id := s.GetId()
		rep, answered := held[id]
		if answered || named[id] {
			delete(gen.silentSince, id)
		} else if _, ok := gen.silentSince[id]; !ok {
			gen.silentSince[id] = c.Now()
		}
		switch {
		case named[id]:
		case cc.storageExcluded(s) && len(rep.GetShards()) == 0:
			drained = append(drained, id)
			continue
		case !answered && c.Now().Sub(gen.silentSince[id]) >= cc.dd.failedStorageGrace:
			failed = append(failed, id)
			continue
		}
		keep = append(keep, s)
	}
	if len(drained)+len(failed) == 0 {
		return nil
	}
	c.Trace(flow.SevInfo, "DDRemovingRetiredStorage", flow.D("Drained", drained), flow.D("Failed", failed))
	next := proto.CloneOf(gen.core)
	next.Storage = keep
	return cc.writeCore(c, gen, next)
}

// namedStorage is the set of storage servers some shard names, as a
// member of its team or a destination of its move.
func namedStorage(core *wire.DBCoreState) map[string]bool {
	named := map[string]bool{}
	for _, s := range core.GetShards() {
		for _, id := range s.GetServers() {
			named[id] = true
		}
		for _, id := range s.GetDest() {
			named[id] = true
		}
	}
	return named
}

// storageExcluded reports whether an exclusion names the storage server's
// process, by address or locality (the process need not be running).
func (cc *Controller) storageExcluded(s *wire.StorageRef) bool {
	return slices.ContainsFunc(cc.exclusionList, func(e kv.Exclusion) bool {
		return e.Matches(s.GetProcess(), s.GetLocality())
	})
}

// deadTags are the storage tags below the settled point that no member of
// the coordinated state's list holds: tags of removed servers, and of
// recruitments given up on. No one will pop them, and a log reclaims its
// queue only up to the lowest popped point of the tags it holds.
func deadTags(core *wire.DBCoreState, settled uint32) []uint32 {
	held := map[uint32]bool{}
	for _, s := range core.GetStorage() {
		held[s.GetTag()] = true
	}
	var out []uint32
	for tag := range settled {
		if !held[tag] {
			out = append(out, tag)
		}
	}
	return out
}

// popDeadTags pops every dead tag on each of the generation's logs, once
// per generation and tag (the logs of a new generation are seeded with
// what the old ones had not popped). A tag counts as popped when every
// log answered; one that did not is tried again at the next pass.
func (cc *Controller) popDeadTags(c *flow.Ctx, gen *generation) {
	if gen.poppedTags == nil {
		gen.poppedTags = map[uint32]bool{}
	}
	var tags []uint32
	for _, tag := range deadTags(gen.core, gen.settledTags()) {
		if !gen.poppedTags[tag] {
			tags = append(tags, tag)
		}
	}
	if len(tags) == 0 {
		return
	}
	var futures []flow.Future[*wire.TLogPopReply]
	for _, l := range gen.logs {
		s := flow.NewRequestStream(flow.Endpoint{Addr: flow.Address(l.GetAddress()), Token: l.GetPop()},
			flow.ProtoCodec[*wire.TLogPopRequest](), flow.ProtoCodec[*wire.TLogPopReply]())
		for _, tag := range tags {
			futures = append(futures, s.GetReply(c.Env, &wire.TLogPopRequest{Tag: tag, To: kv.RetiredTagPop}))
		}
	}
	_ = awaitUntil(c, futures, cc.dd.requestTimeout)
	for i, tag := range tags {
		ok := true
		for j := range gen.logs {
			f := futures[j*len(tags)+i]
			ok = ok && f.IsReady() && f.Err() == nil
		}
		if ok {
			gen.poppedTags[tag] = true
		}
	}
	c.Trace(flow.SevInfo, "DDPoppedDeadTags", flow.D("Tags", tags))
}
