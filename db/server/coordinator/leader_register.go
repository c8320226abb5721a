package coordinator

import (
	"slices"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/wire"
)

// election is a coordinator's view of one cluster key's leader election
// (FoundationDB's leaderRegister). It lives in memory only: after a restart
// the coordinator stays quiet for NomineeTimeout instead of remembering.
//
// A coordinator nominates one candidate at a time and keeps the nomination
// while the nominee heartbeats. It never replaces a live nominee with a
// better candidate: that is what makes the leader's lease safe (a
// coordinator that confirmed a heartbeat sent at s nominates nobody else
// before s + NomineeTimeout > s + Lease). A better candidate takes over
// when the leader fails.
type election struct {
	nominee      *wire.LeaderInfo
	nomineeUntil time.Time
	candidates   map[uint64]candidate // by change ID
	// firstCandidate is when the key's first candidate registered here.
	// The coordinator nominates nobody until a tick has passed since, so
	// candidates that arrive together are ranked together: after a
	// coordinators move every server campaigns at the new coordinators
	// within milliseconds, and each coordinator hears its own process's
	// candidate first. Nominating the first comer split the vote until
	// the nominations lapsed (NomineeTimeout without a controller);
	// waiting a tick lets every coordinator nominate the same best one.
	firstCandidate time.Time
	// changed is fulfilled (and replaced) when the nominee changes or the
	// key is forwarded, to answer long polls.
	changed flow.Promise[struct{}]
}

type candidate struct {
	info     *wire.LeaderInfo
	lastSeen time.Time
}

func (e *election) fire() {
	e.changed.Send(struct{}{})
	e.changed = flow.NewPromise[struct{}]()
}

func (co *Coordinator) election(key string) *election {
	e := co.elections[key]
	if e == nil {
		e = &election{candidates: map[uint64]candidate{}, changed: flow.NewPromise[struct{}]()}
		co.elections[key] = e
	}
	return e
}

// better reports whether a should be nominated over b: higher priority,
// then lower change ID, so every coordinator ranks candidates alike.
func better(a, b *wire.LeaderInfo) bool {
	if a.GetPriority() != b.GetPriority() {
		return a.GetPriority() > b.GetPriority()
	}
	return a.GetChangeId() < b.GetChangeId()
}

// reevaluate lets a lapsed nomination go, forgets candidates that stopped
// polling, and nominates the best remaining candidate if there is no
// nominee and the coordinator is not in its quiet period.
func (co *Coordinator) reevaluate(e *election) {
	now := co.env.Now()
	before := e.nominee.GetChangeId()
	if e.nominee != nil && !now.Before(e.nomineeUntil) {
		e.nominee = nil
	}
	var best *wire.LeaderInfo
	for _, id := range sortedIDs(e.candidates) {
		cand := e.candidates[id]
		if now.Sub(cand.lastSeen) > co.timing.CandidateTimeout {
			delete(e.candidates, id)
			continue
		}
		if best == nil || better(cand.info, best) {
			best = cand.info
		}
	}
	if e.nominee == nil && best != nil && !now.Before(co.quietUntil) && !now.Before(e.firstCandidate.Add(co.tickInterval())) {
		e.nominee = best
		e.nomineeUntil = now.Add(co.timing.NomineeTimeout)
	}
	if e.nominee.GetChangeId() != before {
		co.env.Trace(flow.SevInfo, "CoordinatorNominee", flow.D("ChangeID", e.nominee.GetChangeId()), flow.D("Was", before))
		e.fire()
	}
}

func sortedIDs(m map[uint64]candidate) []uint64 {
	ids := make([]uint64, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// tickInterval is how often tick reevaluates every key.
func (co *Coordinator) tickInterval() time.Duration {
	return min(co.timing.PollTimeout, co.timing.NomineeTimeout) / 4
}

// tick lets nominations lapse and quiet periods end without waiting for a
// request.
func (co *Coordinator) tick(c *flow.Ctx) error {
	for {
		if err := c.Sleep(co.tickInterval()); err != nil {
			return err
		}
		for _, key := range sortedKeys(co.elections) {
			co.reevaluate(co.elections[key])
		}
	}
}

func (co *Coordinator) serveCandidacy(c *flow.Ctx) error {
	for {
		r, err := co.candidacy.Requests().Next(c)
		if err != nil {
			return err
		}
		key := r.Msg.GetClusterKey()
		if !validKey(r, key) {
			continue
		}
		if to := co.store.forwardedTo(key); to != "" {
			r.Reply(&wire.NomineeReply{ForwardedTo: to})
			continue
		}
		e := co.election(key)
		if info := r.Msg.GetCandidate(); info.GetChangeId() != 0 {
			if e.firstCandidate.IsZero() {
				e.firstCandidate = co.env.Now()
			}
			e.candidates[info.GetChangeId()] = candidate{info: info, lastSeen: co.env.Now()}
		}
		co.reevaluate(e)
		co.longPoll(key, r.Msg.GetKnownNominee(), r)
	}
}

func (co *Coordinator) serveGetLeader(c *flow.Ctx) error {
	for {
		r, err := co.getLeader.Requests().Next(c)
		if err != nil {
			return err
		}
		key := r.Msg.GetClusterKey()
		if !validKey(r, key) {
			continue
		}
		if to := co.store.forwardedTo(key); to != "" {
			r.Reply(&wire.NomineeReply{ForwardedTo: to})
			continue
		}
		e := co.election(key)
		co.reevaluate(e)
		co.longPoll(key, r.Msg.GetKnownNominee(), r)
	}
}

// replier is a request answered with a NomineeReply.
type replier interface{ Reply(*wire.NomineeReply) }

// longPoll answers r when key's nominee differs from known, when the key
// is forwarded, or after PollTimeout.
func (co *Coordinator) longPoll(key string, known uint64, r replier) {
	e := co.election(key)
	if e.nominee.GetChangeId() != known {
		r.Reply(&wire.NomineeReply{Nominee: e.nominee})
		return
	}
	changed := e.changed.Future()
	co.env.Spawn("Coordinator.LongPoll", func(c *flow.Ctx) error {
		if _, err := flow.Select(c, changed, c.Delay(co.timing.PollTimeout)); err != nil {
			return err
		}
		if to := co.store.forwardedTo(key); to != "" {
			r.Reply(&wire.NomineeReply{ForwardedTo: to})
			return nil
		}
		r.Reply(&wire.NomineeReply{Nominee: co.elections[key].nominee})
		return nil
	})
}

func (co *Coordinator) serveHeartbeat(c *flow.Ctx) error {
	for {
		r, err := co.heartbeat.Requests().Next(c)
		if err != nil {
			return err
		}
		key := r.Msg.GetClusterKey()
		if !validKey(r, key) {
			continue
		}
		if to := co.store.forwardedTo(key); to != "" {
			r.Reply(&wire.LeaderHeartbeatReply{ForwardedTo: to})
			continue
		}
		e := co.election(key)
		co.reevaluate(e)
		ok := e.nominee != nil && e.nominee.GetChangeId() == r.Msg.GetChangeId()
		if ok {
			e.nomineeUntil = co.env.Now().Add(co.timing.NomineeTimeout)
		}
		r.Reply(&wire.LeaderHeartbeatReply{StillNominee: ok})
	}
}
