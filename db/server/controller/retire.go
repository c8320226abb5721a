package controller

import (
	"slices"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/wire"
	"google.golang.org/protobuf/proto"
)

// removeDrainedStorage drops from the coordinated state's list the storage
// servers of excluded processes that data distribution has emptied: no
// shard names them, and one that answers holds nothing. The next
// ServerDBInfo then shows them as no members, so their workers destroy
// them and free their disks, and popDeadTags releases their tags in the
// logs. FoundationDB's data distribution likewise removes a storage server
// once an exclusion has drained it, and the server deletes its files.
// A process included again gets a new storage server from
// recruitMissingStorage.
func (cc *Controller) removeDrainedStorage(c *flow.Ctx, gen *generation, held map[string]*wire.ShardControlReply) error {
	named := map[string]bool{}
	for _, s := range gen.core.GetShards() {
		for _, id := range s.GetServers() {
			named[id] = true
		}
		for _, id := range s.GetDest() {
			named[id] = true
		}
	}
	var keep []*wire.StorageRef
	var removed []string
	for _, s := range gen.core.GetStorage() {
		id := s.GetId()
		if named[id] || !cc.storageExcluded(s) || len(held[id].GetShards()) > 0 {
			keep = append(keep, s)
			continue
		}
		removed = append(removed, id)
	}
	if len(removed) == 0 {
		return nil
	}
	c.Trace(flow.SevInfo, "DDRemovingDrainedStorage", flow.D("Servers", removed))
	next := proto.CloneOf(gen.core)
	next.Storage = keep
	return cc.writeCore(c, gen, next)
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
