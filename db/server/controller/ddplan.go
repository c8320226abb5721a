package controller

import (
	"bytes"
	"cmp"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/strata-db/strata/db/server/recruit"
)

// Shard sizing and balancing (fdb.md §6.5): the pure half of data
// distribution's split and balance decisions. The controller measures every
// shard through its members' ShardMetrics and asks these planners what to
// do; they never see the network.

// DataDistributionKnobs tune shard splitting and balancing; zero fields
// take the defaults.
type DataDistributionKnobs struct {
	// MaxShardBytes is the size above which a shard is split. 0 sizes
	// shards as FoundationDB does: the maximum grows with the square root
	// of the database's size from 40 MB to 500 MB (maxShardBytes).
	// Tests set a few KB so that shards split and move under small data.
	MaxShardBytes int64
	// BalanceMinBytes is the smallest difference in bytes between the
	// fullest and the emptiest storage server that data distribution
	// moves a shard for. 0: half the maximum shard size.
	BalanceMinBytes int64
	// SplitsPerRound bounds the splits committed together (default 16).
	SplitsPerRound int
	// MeasureInterval is the least time between two measurements of every
	// shard (one ShardMetrics request per shard; default 5 s).
	MeasureInterval time.Duration
}

// FoundationDB's shard sizing knobs (ServerKnobs.cpp, ShardSizing.cpp).
const (
	minShardBytes         = 10_000_000
	shardBytesPerSqrtByte = 45
	shardBytesRatio       = 4
	maxShardBytesCap      = 500_000_000
)

// maxShardBytes is the size above which a shard splits, for a database of
// total bytes: (MIN_SHARD_BYTES + sqrt(total)·45)·4, at most 500 MB, as
// FoundationDB's getMaxShardSize, unless the knob fixes it.
func (k DataDistributionKnobs) maxShardBytes(total int64) int64 {
	if k.MaxShardBytes > 0 {
		return k.MaxShardBytes
	}
	v := (minShardBytes + math.Sqrt(float64(max(total, 0)))*shardBytesPerSqrtByte) * shardBytesRatio
	return min(int64(v), maxShardBytesCap)
}

// balanceMinBytes is the imbalance worth a move.
func (k DataDistributionKnobs) balanceMinBytes(maxShard int64) int64 {
	if k.BalanceMinBytes > 0 {
		return k.BalanceMinBytes
	}
	return max(maxShard/2, 1)
}

func (k DataDistributionKnobs) measureInterval() time.Duration {
	if k.MeasureInterval > 0 {
		return k.MeasureInterval
	}
	return 5 * time.Second
}

func (k DataDistributionKnobs) splitsPerRound() int {
	if k.SplitsPerRound > 0 {
		return k.SplitsPerRound
	}
	return 16
}

// shardLoad is a shard of the map with its measured size.
type shardLoad struct {
	begin, end    []byte
	servers, dest []string
	// bytes estimates the shard's bytes (from a member's byte sample);
	// -1 when no member answered.
	bytes int64
	// splitKey is a key strictly inside the shard near its middle by
	// bytes, nil when the sample has none.
	splitKey []byte
}

// shardSplit cuts the shard beginning at begin in two at key at: a change
// of the shard map alone, since both halves stay on the shard's team.
type shardSplit struct {
	begin, at []byte
}

// planSplits returns the shards to split, at most limit of them, in key
// order: every shard that is not moving, is larger than maxBytes and has a
// split key strictly inside it. A half still too large splits again in a
// later round.
func planSplits(shards []shardLoad, maxBytes int64, limit int) []shardSplit {
	var out []shardSplit
	for _, s := range shards {
		if len(out) >= limit {
			break
		}
		if len(s.dest) > 0 || s.bytes <= maxBytes || !strictlyInside(s.splitKey, s.begin, s.end) {
			continue
		}
		out = append(out, shardSplit{begin: s.begin, at: s.splitKey})
	}
	return out
}

func strictlyInside(key, begin, end []byte) bool {
	return key != nil && bytes.Compare(key, begin) > 0 && bytes.Compare(key, end) < 0
}

// balanceInput is what the balance planner weighs.
type balanceInput struct {
	shards []shardLoad
	// servers are the live storage servers (excluded ones marked).
	servers []recruit.StorageServer
	mode    recruit.Mode
	fit     map[string]recruit.Fit
	// maintenance are the servers of the zone under maintenance: their
	// shards stay where they are and they receive none.
	maintenance map[string]bool
	minDiff     int64
}

// serverLoads sums the bytes of the shards each server holds.
func serverLoads(shards []shardLoad) map[string]int64 {
	load := map[string]int64{}
	for _, s := range shards {
		for _, id := range s.servers {
			load[id] += max(s.bytes, 0)
		}
	}
	return load
}

// planBalance returns a move that evens out the storage servers' bytes, or
// nil: a shard of the fullest server whose team can take the emptiest
// server in its place (a valid team: never two replicas in one zone),
// chosen so the move cannot overshoot (the shard is at most half the
// difference, so the two servers never swap roles and moves end). It
// plans nothing while a shard moves or is unmeasured, nor across excluded
// or maintenance servers, nor onto a server of a worse process class.
func planBalance(in balanceInput) *shardMove {
	byID := map[string]recruit.StorageServer{}
	for _, s := range in.servers {
		byID[s.ID] = s
	}
	for _, s := range in.shards {
		if len(s.dest) > 0 || s.bytes < 0 {
			return nil
		}
	}
	load := serverLoads(in.shards)
	var eligible []recruit.StorageServer
	for _, s := range in.servers {
		if !s.Excluded && !in.maintenance[s.ID] {
			eligible = append(eligible, s)
		}
	}
	fullest := slices.Clone(eligible)
	slices.SortFunc(fullest, func(a, b recruit.StorageServer) int {
		return cmp.Or(cmp.Compare(load[b.ID], load[a.ID]), strings.Compare(a.ID, b.ID))
	})
	emptiest := slices.Clone(eligible)
	slices.SortFunc(emptiest, func(a, b recruit.StorageServer) int {
		return cmp.Or(cmp.Compare(load[a.ID], load[b.ID]), cmp.Compare(in.fit[a.ID], in.fit[b.ID]), strings.Compare(a.ID, b.ID))
	})
	for _, src := range fullest {
		for _, dst := range emptiest {
			diff := load[src.ID] - load[dst.ID]
			if diff < in.minDiff {
				break // the rest are fuller still
			}
			if in.fit[dst.ID] > in.fit[src.ID] {
				continue
			}
			if mv := balanceShard(in, byID, src, dst, diff); mv != nil {
				return mv
			}
		}
	}
	return nil
}

// balanceShard picks the largest shard of src no larger than diff/2 whose
// team stays valid with dst in place of src.
func balanceShard(in balanceInput, byID map[string]recruit.StorageServer, src, dst recruit.StorageServer, diff int64) *shardMove {
	var best *shardMove
	var bestBytes int64
	for _, s := range in.shards {
		if s.bytes <= 0 || 2*s.bytes > diff || s.bytes <= bestBytes ||
			!slices.Contains(s.servers, src.ID) || slices.Contains(s.servers, dst.ID) {
			continue
		}
		team := recruit.Team{dst}
		ok := true
		for _, id := range s.servers {
			m, live := byID[id]
			if !live || m.Excluded || in.maintenance[id] {
				ok = false
				break
			}
			if id != src.ID {
				team = append(team, m)
			}
		}
		if !ok || len(team) != in.mode.StorageReplicas || recruit.ValidTeam(team, in.mode) != nil {
			continue
		}
		ids := team.IDs()
		slices.Sort(ids)
		best, bestBytes = &shardMove{begin: s.begin, src: s.servers, dest: ids, bytes: s.bytes, balance: true}, s.bytes
	}
	return best
}
