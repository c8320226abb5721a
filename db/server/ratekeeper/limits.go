package ratekeeper

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/strata-db/strata/db/kv"
)

// Limit is a cluster-wide rate limit and what sets it.
type Limit struct {
	// TPS is transactions per second for the whole cluster; +Inf when
	// nothing limits the rate.
	TPS float64
	// Reason is what limits it; Workload when nothing does.
	Reason Reason
	// ServerID names the limiting server; "" for Workload.
	ServerID string
	// QueueBytes is the limiting server's queue.
	QueueBytes int64
}

func unlimited() Limit { return Limit{TPS: math.Inf(1), Reason: Workload} }

// server is what ratekeeper keeps of one sampled server: its last sample
// and the smoothed totals its rates come from.
type server struct {
	q    Queue
	seen time.Time // the At of the last sample taken in
	// input and drained follow InputBytes and InputBytes-QueueBytes;
	// version and durable follow Version and DurableVersion. The byte
	// drain is smoothed slowly, so a burst of draining does not lift the
	// limit at once; durable versions advance in steps (one per engine
	// commit), so they share the versions' smoothing to compare like with
	// like.
	input, drained, version, durable meter
}

type serverKey struct {
	kind Kind
	id   string
}

// observe takes a snapshot in: new servers start with no rates, known
// ones advance their totals when their figures are newer, and servers
// missing from the snapshot are forgotten.
func (rk *Ratekeeper) observe(now time.Time, snap Snapshot) {
	k := &rk.knobs
	present := make(map[serverKey]bool, len(snap.Queues))
	for _, q := range snap.Queues {
		at := q.At
		if at.IsZero() {
			at = now
		}
		key := serverKey{q.Kind, q.ID}
		present[key] = true
		s := rk.servers[key]
		switch {
		case s == nil:
			s = &server{input: newMeter(k.Smoothing), drained: newMeter(k.SlowSmoothing),
				version: newMeter(k.Smoothing), durable: newMeter(k.Smoothing)}
			rk.servers[key] = s
			s.restart(q, at)
		case !at.After(s.seen):
			continue
		case q.InputBytes < s.q.InputBytes || q.Version < s.q.Version || q.DurableVersion < s.q.DurableVersion:
			// A restarted server (or a rolled-back one) counts afresh.
			s.restart(q, at)
		default:
			s.input.observe(float64(q.InputBytes), at)
			s.drained.observe(float64(q.InputBytes-q.QueueBytes), at)
			s.version.observe(float64(q.Version), at)
			s.durable.observe(float64(q.DurableVersion), at)
		}
		s.q, s.seen = q, at
	}
	for key := range rk.servers {
		if !present[key] {
			delete(rk.servers, key)
		}
	}
	rk.order = rk.order[:0]
	for key := range rk.servers {
		rk.order = append(rk.order, key)
	}
	slices.SortFunc(rk.order, func(a, b serverKey) int {
		return cmp.Or(cmp.Compare(a.kind, b.kind), cmp.Compare(a.id, b.id))
	})
	rk.replicas = snap.StorageReplicas
}

func (s *server) restart(q Queue, at time.Time) {
	s.input.reset(float64(q.InputBytes), at)
	s.drained.reset(float64(q.InputBytes-q.QueueBytes), at)
	s.version.reset(float64(q.Version), at)
	s.durable.reset(float64(q.DurableVersion), at)
}

// rates are a server's smoothed input and drain rates, in bytes per
// second (known only when the source reports InputBytes) and versions per
// second.
type rates struct {
	bytesKnown                  bool
	bytesIn, bytesOut           float64
	versionsIn, versionsDurable float64
}

func (s *server) rates() rates {
	return rates{
		bytesKnown:      s.q.InputBytes > 0,
		bytesIn:         max(0, s.input.rate),
		bytesOut:        max(0, s.drained.rate),
		versionsIn:      max(0, s.version.rate),
		versionsDurable: max(0, s.durable.rate),
	}
}

// springRatio is how far q is into the band [target-spring, target+spring]:
// at most 0 below it (no limit), 1 at the target, capped at 2.
func springRatio(q, target, spring int64) float64 {
	return min(float64(q-target+spring)/float64(spring), 2)
}

// mvccSeconds is how long written data must stay in a server's memory:
// the MVCC window plus slack (FoundationDB's bound on write bandwidth).
const mvccSeconds = float64(kv.MVCCWindow)/kv.VersionsPerSecond + 2

// compute returns the limit of one priority given its targets and the
// released rate actual (transactions per second, at least 1).
func (rk *Ratekeeper) compute(t Targets, actual float64) Limit {
	lim := unlimited()
	var storage []candidate
	for _, key := range rk.order {
		s := rk.servers[key]
		var c candidate
		if key.kind == StorageServer {
			c = rk.storageLimit(s, t, actual)
			if !c.Reason.freeSpace() {
				storage = append(storage, c)
				continue
			}
		} else {
			c = rk.logLimit(s, t, actual)
		}
		if c.TPS < lim.TPS {
			lim = c.Limit
		}
	}
	lim = rk.lowestStorage(lim, storage)
	lim.TPS = max(0, lim.TPS)
	return lim
}

// candidate is one server's limit and fault domain.
type candidate struct {
	Limit
	zone string
}

// lowestStorage lowers lim to the lowest storage server limit, ignoring
// the lagging servers of up to MaxZonesFallingBehind fault domains (never
// more than replicas minus one, so some copy of every shard keeps up).
func (rk *Ratekeeper) lowestStorage(lim Limit, cs []candidate) Limit {
	slices.SortStableFunc(cs, func(a, b candidate) int { return cmp.Compare(a.TPS, b.TPS) })
	allowed := min(rk.replicas-1, rk.knobs.MaxZonesFallingBehind)
	ignored := map[string]bool{}
	for _, c := range cs {
		if c.TPS >= lim.TPS {
			break
		}
		if len(ignored) < allowed {
			ignored[c.zone] = true
			continue
		}
		if !ignored[c.zone] {
			return c.Limit
		}
	}
	return lim
}

// spaceBounds shrinks a target and spring to fit the server's free disk
// space, and names the reason when that bound is what sets the target.
func (rk *Ratekeeper) spaceBounds(q Queue, target, spring int64, reason, bytesReason, ratioReason Reason) (int64, int64, Reason) {
	if q.TotalBytes <= 0 {
		return target, spring, reason
	}
	minFree := max(rk.knobs.MinAvailableSpaceBytes, int64(rk.knobs.MinAvailableSpaceRatio*float64(q.TotalBytes)))
	avail := q.FreeBytes - minFree
	spring = max(1, min(spring, avail/5))
	if t := max(1, min(target, avail)); t != target {
		target, reason = t, ratioReason
		if minFree == rk.knobs.MinAvailableSpaceBytes {
			reason = bytesReason
		}
	}
	return target, spring, reason
}

// storageLimit is the rate one storage server allows: the lowest of its
// write-bandwidth bound, its queue's and its durability lag's.
func (rk *Ratekeeper) storageLimit(s *server, t Targets, actual float64) candidate {
	q := s.q
	c := candidate{Limit: Limit{TPS: math.Inf(1), Reason: Workload, ServerID: q.ID, QueueBytes: q.QueueBytes}, zone: q.Zone}
	if c.zone == "" {
		c.zone = "\x00" + q.ID
	}
	target, spring, reason := rk.spaceBounds(q, t.StorageTargetBytes, t.StorageSpringBytes, Workload, StorageMinFreeSpace, StorageMinFreeSpaceRatio)
	r := s.rates()
	known := r.bytesKnown && r.bytesIn > 0
	if known {
		// Do not let the server fill its target faster than it may drop
		// data from memory.
		c.TPS = actual * (float64(target-spring) / mvccSeconds) / r.bytesIn
		if reason == Workload {
			reason = StorageMVCCBandwidth
		}
	}
	if ratio := springRatio(q.QueueBytes, target, spring); ratio > 0 {
		x := 1 / ratio
		if known {
			x = max(r.bytesOut, actual/rk.knobs.MaxTransactionsPerByte) / (r.bytesIn * ratio)
		}
		if l := actual * x; l < c.TPS {
			c.TPS = l
			if reason == Workload || reason == StorageMVCCBandwidth {
				reason = StorageWriteQueue
			}
		}
	}
	lag := q.Version - q.DurableVersion
	if ratio := springRatio(lag, t.DurabilityLagTargetVersions, t.DurabilityLagSpringVersions); ratio > 0 {
		x := 1 / ratio
		if r.versionsIn > 0 {
			x = r.versionsDurable / (r.versionsIn * ratio)
		}
		if l := actual * x; l < c.TPS {
			c.TPS, reason = l, StorageDurabilityLag
		}
	}
	c.Reason = reason
	return c
}

// logLimit is the rate one log allows: the lower of its queue's and its
// write-bandwidth bound.
func (rk *Ratekeeper) logLimit(s *server, t Targets, actual float64) candidate {
	q := s.q
	c := candidate{Limit: Limit{TPS: math.Inf(1), Reason: Workload, ServerID: q.ID}}
	target, spring, reason := rk.spaceBounds(q, t.LogTargetBytes, t.LogSpringBytes, LogWriteQueue, LogMinFreeSpace, LogMinFreeSpaceRatio)
	r := s.rates()
	known := r.bytesKnown && r.bytesIn > 0
	if ratio := springRatio(q.QueueBytes, target, spring); ratio > 0 {
		x := 1 / ratio
		if known {
			x = max(r.bytesOut, actual/rk.knobs.MaxTransactionsPerByte) / (r.bytesIn * ratio)
		}
		if ratio < 0.75 {
			// Well below the target: never cut by more than 5%.
			x = max(x, 0.95)
		}
		c.TPS, c.Reason = actual*x, reason
	}
	if known {
		if l := actual * (float64(target-spring) / mvccSeconds) / r.bytesIn; l < c.TPS {
			c.TPS, c.Reason = l, LogMVCCBandwidth
		}
	}
	return c
}
