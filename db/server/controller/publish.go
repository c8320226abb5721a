package controller

import (
	"maps"
	"slices"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/wire"
)

func mapsKeys[K comparable, V any](m map[K]V) func(func(K) bool) { return maps.Keys(m) }

// serverInfo builds the ServerDBInfo of the current generation.
func (cc *Controller) serverInfo(c *flow.Ctx) *wire.ServerDBInfo {
	gen := cc.gen
	info := &wire.ServerDBInfo{
		Id:              c.Rand().Uint64() | 1,
		Epoch:           gen.epoch,
		Logs:            gen.logs,
		RecoveryVersion: int64(gen.rv),
		RecoveryState:   cc.recovery.Name,
		Controller:      string(cc.env.Address()),
		Shards:          gen.core.GetShards(),
		Client: &wire.ClientDBInfo{
			Generation:    gen.epoch,
			GrvProxies:    gen.grv,
			CommitProxies: gen.commit,
		},
	}
	for _, s := range gen.core.GetStorage() {
		info.StorageMembers = append(info.StorageMembers, s.GetId())
	}
	info.StorageTagsSettled = gen.settledTags()
	ifaces := cc.storageInterfaces()
	for _, id := range slices.Sorted(maps.Keys(ifaces)) {
		info.Storage = append(info.Storage, ifaces[id])
	}
	return info
}

// publish sends the current generation's ServerDBInfo to every
// registered worker; workers that miss it get it with their next report's
// reply.
func (cc *Controller) publish(c *flow.Ctx) {
	cc.info = cc.serverInfo(c)
	for _, addr := range slices.Sorted(maps.Keys(cc.workers)) {
		if !cc.workers[addr].failed {
			cc.sendInfo(addr)
		}
	}
}

// sendInfo pushes the ServerDBInfo to one worker; a lost push is repaired
// by the worker's next report, which names the info it has.
func (cc *Controller) sendInfo(addr flow.Address) {
	if cc.info == nil {
		return
	}
	s := flow.NewRequestStream(flow.Endpoint{Addr: addr, Token: kv.TokenServerDBInfo},
		flow.ProtoCodec[*wire.ServerDBInfo](), flow.ProtoCodec[*wire.ServerDBInfoReply]())
	s.GetReply(cc.env, cc.info)
}
