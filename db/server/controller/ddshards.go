package controller

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/server/commitproxy"
	"github.com/strata-db/strata/db/status"
	"github.com/strata-db/strata/db/wire"
	"google.golang.org/protobuf/proto"
)

// FoundationDB's data movement priorities (DataDistribution.actor.h), as
// status reports them in moving_data.highest_priority.
const (
	priorityRebalance     = 121 // PRIORITY_REBALANCE_OVERUTILIZED_TEAM
	priorityTeamUnhealthy = 700 // PRIORITY_TEAM_UNHEALTHY
)

// distributionStats is what data distribution reports in status: the
// shards' last measured sizes and the move under way.
type distributionStats struct {
	// bytes is each shard's last measured size, by begin key.
	bytes map[string]int64
	// moving is the move under way, nil between moves.
	moving *shardMove
	// written sums the bytes of the moves this controller finished.
	written int64
	// measured is when the shards were last measured.
	measured time.Time
}

// sizing returns the sizing knobs the controller was configured with.
func (cc *Controller) sizing() DataDistributionKnobs { return cc.cfg.DataDistribution }

// sizeShards splits the shards that grew too large, or else moves one
// shard toward the emptiest storage server (of those that answered
// heldShards). It runs only when no shard needs repair (planMove found
// nothing).
func (cc *Controller) sizeShards(c *flow.Ctx, gen *generation, held map[string]*wire.ShardControlReply) error {
	core := gen.core
	k := cc.sizing()
	if c.Now().Sub(cc.ddStats.measured) < k.measureInterval() {
		return nil
	}
	cc.ddStats.measured = c.Now()
	answering := responsive(cc.liveStorage(), held)
	loads := cc.measureShards(c, core, answering)
	var total int64
	for _, s := range loads {
		total += max(s.bytes, 0)
	}
	maxBytes := k.maxShardBytes(total)
	if splits := planSplits(loads, maxBytes, k.splitsPerRound()); len(splits) > 0 {
		return cc.runSplits(c, gen, splits)
	}
	mode, err := modeOf(core.GetConfiguration())
	if err != nil {
		return err
	}
	servers, _ := cc.storageCandidates(core, answering)
	maint := map[string]bool{}
	for id := range cc.maintenanceServers(core) {
		maint[id] = true
	}
	mv := planBalance(balanceInput{shards: loads, servers: servers, mode: mode, fit: cc.storageFitness(core),
		maintenance: maint, minDiff: k.balanceMinBytes(maxBytes)})
	if mv == nil {
		return nil
	}
	c.Trace(flow.SevInfo, "DDBalanceStarting", flow.D("Begin", kv.Printable(mv.begin)), flow.D("Bytes", mv.bytes),
		flow.D("From", fmt.Sprint(mv.src)), flow.D("To", fmt.Sprint(mv.dest)))
	if err := cc.trackedMove(c, gen, mv); err != nil {
		return err
	}
	c.Trace(flow.SevInfo, "DDBalanceDone", flow.D("Begin", kv.Printable(mv.begin)), flow.D("To", fmt.Sprint(mv.dest)))
	return nil
}

// trackedMove runs a move with status showing it in flight.
func (cc *Controller) trackedMove(c *flow.Ctx, gen *generation, mv *shardMove) error {
	if mv.bytes == 0 {
		mv.bytes = cc.ddStats.bytes[string(mv.begin)]
	}
	cc.ddStats.moving = mv
	defer func() { cc.ddStats.moving = nil }()
	if err := cc.runMove(c, gen, mv); err != nil {
		return err
	}
	cc.ddStats.written += mv.bytes * int64(len(without(mv.dest, mv.src)))
	return nil
}

// measureShards asks one member of every shard among the live ones that
// answer for the shard's size and split key (ShardMetrics), all at once; a
// shard none answered for is -1 bytes.
func (cc *Controller) measureShards(c *flow.Ctx, core *wire.DBCoreState, live map[string]bool) []shardLoad {
	shards := core.GetShards()
	out := make([]shardLoad, len(shards))
	futures := make([]flow.Future[*wire.ShardMetricsReply], len(shards))
	asked := make([]bool, len(shards))
	var pending []flow.Future[*wire.ShardMetricsReply]
	for i, s := range shards {
		r := shardRange(core, i)
		out[i] = shardLoad{begin: r.Begin, end: r.End, servers: s.GetServers(), dest: s.GetDest(), bytes: -1}
		members := liveOnly(s.GetServers(), live)
		if len(members) == 0 {
			continue
		}
		iface := cc.storageIfaces(core, members[:1])[0]
		st := flow.NewRequestStream(endpoint(iface.GetAddress(), iface.GetShardMetrics()),
			flow.ProtoCodec[*wire.ShardMetricsRequest](), flow.ProtoCodec[*wire.ShardMetricsReply]())
		futures[i], asked[i] = st.GetReply(c.Env, &wire.ShardMetricsRequest{Begin: r.Begin, End: r.End}), true
		pending = append(pending, futures[i])
	}
	_ = awaitUntil(c, pending, cc.dd.requestTimeout)
	bytes := map[string]int64{}
	for i, f := range futures {
		if asked[i] && f.IsReady() && f.Err() == nil {
			rep, _ := f.Get()
			out[i].bytes, out[i].splitKey = rep.GetBytes(), rep.GetSplitKey()
			bytes[string(out[i].begin)] = rep.GetBytes()
		}
	}
	cc.ddStats.bytes = bytes
	return out
}

// runSplits cuts shards at the planned keys. Both halves stay on the
// shard's team, so no data moves: every commit proxy first commits the new
// boundaries (\xff/keyServers/at = the shard's servers, which changes no
// tag), then the coordinated state records them. The order keeps every
// boundary of the coordinated state known to every proxy of the
// generation; a boundary a proxy has beyond it (the state's write failed)
// names the same servers as its neighbour and is cleared by the next
// location commit of the shard around it (commitShardLocation).
func (cc *Controller) runSplits(c *flow.Ctx, gen *generation, splits []shardSplit) error {
	next := proto.CloneOf(gen.core)
	var muts []*wire.Mutation
	var conflicts []*wire.KeyRange
	for _, sp := range splits {
		i := shardIndex(next, sp.begin)
		if i < 0 {
			continue
		}
		s, r := next.Shards[i], shardRange(next, i)
		if len(s.GetDest()) > 0 || !strictlyInside(sp.at, r.Begin, r.End) {
			continue
		}
		val, err := deterministic.Marshal(&wire.ShardLocation{Servers: cc.storageIfaces(next, s.GetServers())})
		if err != nil {
			return err
		}
		key := append(slices.Clone(commitproxy.KeyServersPrefix), sp.at...)
		muts = append(muts, &wire.Mutation{Type: uint32(kv.SetValue), Key: key, Param: val})
		conflicts = append(conflicts, &wire.KeyRange{Begin: key, End: append(slices.Clone(key), 0)})
		next.Shards = slices.Insert(next.Shards, i+1, &wire.ShardAssignment{Begin: slices.Clone(sp.at), Servers: slices.Clone(s.GetServers())})
	}
	if len(muts) == 0 {
		return nil
	}
	if _, err := cc.commitKeyServers(c, gen, muts, conflicts); err != nil {
		return err
	}
	if err := cc.writeCore(c, gen, next); err != nil {
		return err
	}
	c.Trace(flow.SevInfo, "DDShardsSplit", flow.D("Count", len(muts)), flow.D("Shards", len(next.GetShards())))
	return nil
}

// movingData is status's data.moving_data: the bytes of the move under
// way, of the other shards waiting to move (a destination recorded, by
// their last measured sizes), and of the moves finished.
func (cc *Controller) movingData(core *wire.DBCoreState) status.MovingData {
	st := cc.ddStats
	md := status.MovingData{TotalWrittenBytes: st.written}
	if mv := st.moving; mv != nil {
		md.InFlightBytes = mv.bytes
		md.HighestPriority = priorityTeamUnhealthy
		if mv.balance {
			md.HighestPriority = priorityRebalance
		}
	}
	for _, s := range core.GetShards() {
		if len(s.GetDest()) == 0 || (st.moving != nil && string(st.moving.begin) == string(s.GetBegin())) {
			continue
		}
		md.InQueueBytes += st.bytes[string(s.GetBegin())]
		md.HighestPriority = max(md.HighestPriority, priorityTeamUnhealthy)
	}
	return md
}

// errNoSuchStorageCode is worker.ErrNoSuchStorage's code: the worker
// hosts no storage server of that ID.
const errNoSuchStorageCode = 2812

func isNoSuchStorage(err error) bool {
	var fe *flow.Error
	return errors.As(err, &fe) && fe.Code == errNoSuchStorageCode
}
