package client

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/wire"
)

// shard is one cached shard location: a key range and its storage servers.
type shard struct {
	r       kv.KeyRange
	servers []*wire.StorageInterface
}

// locationCache holds known shard locations, sorted and disjoint.
type locationCache struct{ shards []shard }

// find returns the cached shard containing k, or, when before is set, the
// one containing the keys just below k (begin < k <= end).
func (lc *locationCache) find(k []byte, before bool) (shard, bool) {
	i, _ := slices.BinarySearchFunc(lc.shards, k, func(s shard, k []byte) int {
		if before {
			if bytes.Compare(s.r.End, k) < 0 {
				return -1
			}
			if bytes.Compare(s.r.Begin, k) >= 0 {
				return 1
			}
			return 0
		}
		if bytes.Compare(s.r.End, k) <= 0 {
			return -1
		}
		if bytes.Compare(s.r.Begin, k) > 0 {
			return 1
		}
		return 0
	})
	if i == len(lc.shards) {
		return shard{}, false
	}
	s := lc.shards[i]
	if before {
		return s, bytes.Compare(s.r.Begin, k) < 0 && bytes.Compare(k, s.r.End) <= 0
	}
	return s, s.r.Contains(k)
}

// maxCachedShards bounds the cache (FDB's location_cache_size default);
// past it the cache starts over, which costs only lookups.
const maxCachedShards = 100_000

// insert caches s, replacing what it overlaps.
func (lc *locationCache) insert(s shard) {
	if len(lc.shards) >= maxCachedShards {
		lc.shards = nil
	}
	lc.invalidate(s.r)
	i, _ := slices.BinarySearchFunc(lc.shards, s.r.Begin, func(x shard, k []byte) int { return bytes.Compare(x.r.Begin, k) })
	lc.shards = slices.Insert(lc.shards, i, s)
}

// invalidate drops the cached shards intersecting r.
func (lc *locationCache) invalidate(r kv.KeyRange) {
	lc.shards = slices.DeleteFunc(lc.shards, func(s shard) bool { return s.r.Intersects(r) })
}

// locate returns the shard containing key (or the keys just below it when
// before is set), asking a commit proxy on a cache miss.
func (d *Database) locate(c *flow.Ctx, key []byte, before bool) (shard, error) {
	if s, ok := d.locations.find(key, before); ok {
		return s, nil
	}
	req := &wire.GetKeyServerLocationsRequest{Begin: key, End: maxKeyspace, Limit: int32(d.cfg.LocationBatch)}
	if before {
		req = &wire.GetKeyServerLocationsRequest{Begin: nil, End: key, Limit: int32(d.cfg.LocationBatch), Reverse: true}
	}
	codecReq, codecRep := flow.ProtoCodec[*wire.GetKeyServerLocationsRequest](), flow.ProtoCodec[*wire.GetKeyServerLocationsReply]()
	pause := 10 * time.Millisecond
	for {
		p, err := d.commitProxy(c)
		if err != nil {
			return shard{}, err
		}
		ep := flow.Endpoint{Addr: flow.Address(p.Address), Token: p.GetKeyServerLocations}
		rep, err := flow.Await(c, flow.NewRequestStream(ep, codecReq, codecRep).GetReply(d.env, req))
		if err != nil && !isEndpointFailure(err) {
			return shard{}, fmt.Errorf("key server locations from %s: %w", ep.Addr, err)
		}
		if err == nil {
			for _, s := range rep.Shards {
				if bytes.Compare(s.Begin, s.End) < 0 && len(s.Servers) > 0 {
					d.locations.insert(shard{r: kv.KeyRange{Begin: s.Begin, End: s.End}, servers: s.Servers})
				}
			}
			if s, ok := d.locations.find(key, before); ok {
				return s, nil
			}
			d.env.Trace(flow.SevWarn, "ClientNoShardLocation", flow.D("Key", kv.Printable(key)), flow.D("Before", before))
			// A proxy that limited a reverse request from the front did not
			// reach the shard; ask for every shard below key.
			req.Limit = 0
		}
		if err := d.waitInfoChange(c, pause); err != nil {
			return shard{}, err
		}
		pause = min(2*pause, time.Second)
	}
}

// isLocationError reports whether a storage request failed because the
// cached location is stale or its server unreachable: the read is retried
// after refreshing the location.
func isLocationError(err error) bool {
	return isEndpointFailure(err) || errorIs(err, kv.ErrWrongShardServer)
}

// atShard runs a request against one storage server of the shard holding
// key (or the keys just below it), refreshing the location and retrying
// while the location is stale or the server unreachable.
func atShard[Rep any](c *flow.Ctx, d *Database, key []byte, before bool, req func(s shard, si *wire.StorageInterface) flow.Future[Rep]) (Rep, shard, error) {
	pause := 10 * time.Millisecond
	for {
		s, err := d.locate(c, key, before)
		if err != nil {
			var zero Rep
			return zero, shard{}, err
		}
		si := s.servers[d.env.Rand().IntN(len(s.servers))]
		rep, err := flow.Await(c, req(s, si))
		if err == nil || !isLocationError(err) {
			return rep, s, err
		}
		d.env.Metrics().Counter("ClientLocationRetries").Inc()
		d.locations.invalidate(s.r)
		if err := c.Sleep(pause); err != nil {
			var zero Rep
			return zero, shard{}, err
		}
		pause = min(2*pause, time.Second)
	}
}
