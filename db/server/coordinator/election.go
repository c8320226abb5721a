package coordinator

import (
	"errors"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/wire"
	"google.golang.org/protobuf/proto"
)

// LeaderElection is the client side of the cluster controller's election
// (FoundationDB's tryBecomeLeader and monitorLeader) for one cluster.
type LeaderElection struct {
	conn Conn
}

// NewLeaderElection returns the election of conn's cluster.
func NewLeaderElection(conn Conn) (*LeaderElection, error) {
	conn, err := conn.check()
	if err != nil {
		return nil, err
	}
	return &LeaderElection{conn: conn}, nil
}

// ErrCampaignStopped fails the futures of a campaign stopped by its owner.
var ErrCampaignStopped = errors.New("coordinator: campaign stopped")

// Campaign is one candidacy. It is one-shot: once leadership is lost, a
// candidate that wants to lead again starts a new Campaign with a new
// change ID (FoundationDB's cluster controller restarts instead).
type Campaign struct {
	le     *LeaderElection
	info   *wire.LeaderInfo
	leader flow.Promise[struct{}]
	lost   flow.Promise[struct{}]
	// nominees[i] is the change ID coordinator i last said it nominates.
	nominees []uint64
	// nomineesChanged is fulfilled (and replaced) when nominees changes.
	nomineesChanged flow.Promise[struct{}]
	actors          []*flow.Actor
}

// Campaign registers info (a change ID unique to this candidacy, its
// priority: higher wins, and an opaque payload such as the controller's
// interface) with every coordinator and runs for leader on env.
//
// Leader() is fulfilled when a majority of coordinators nominated this
// candidate and confirmed a heartbeat; from then on the candidate holds a
// lease that it renews by heartbeating every HeartbeatInterval. Lost() is
// fulfilled when the lease runs out without a majority renewing it (the
// coordinators may nominate someone else only after the lease ended), or
// fails with a *ForwardedError when the coordinators moved and with
// ErrCampaignStopped after Stop. Before leadership, Leader() fails the
// same way.
func (le *LeaderElection) Campaign(env *flow.Env, info *wire.LeaderInfo) *Campaign {
	cp := &Campaign{
		le:              le,
		info:            proto.CloneOf(info),
		leader:          flow.NewPromise[struct{}](),
		lost:            flow.NewPromise[struct{}](),
		nominees:        make([]uint64, len(le.conn.File.Coordinators)),
		nomineesChanged: flow.NewPromise[struct{}](),
	}
	if cp.info.GetChangeId() == 0 {
		cp.end(errors.New("coordinator: campaign needs a nonzero change ID"))
		return cp
	}
	for i := range le.conn.File.Coordinators {
		cp.actors = append(cp.actors, env.Spawn("Campaign.Candidacy", func(c *flow.Ctx) error { return cp.pollCandidacy(c, i) }))
	}
	cp.actors = append(cp.actors, env.Spawn("Campaign.Run", cp.run))
	return cp
}

// Leader is fulfilled when this candidate becomes leader.
func (cp *Campaign) Leader() flow.Future[struct{}] { return cp.leader.Future() }

// Lost is fulfilled when this candidate's leadership ends.
func (cp *Campaign) Lost() flow.Future[struct{}] { return cp.lost.Future() }

// Stop withdraws the candidacy (and gives up leadership: the coordinators
// nominate someone else once the lease has run out).
func (cp *Campaign) Stop() { cp.end(ErrCampaignStopped) }

// end finishes the campaign with err (nil: the lease ran out).
func (cp *Campaign) end(err error) {
	for _, a := range cp.actors {
		a.Cancel()
	}
	if err == nil {
		cp.lost.Send(struct{}{})
		return
	}
	cp.leader.Fail(err)
	cp.lost.Fail(err)
}

// pollCandidacy keeps the candidacy registered at coordinator i and
// tracks whom it nominates.
func (cp *Campaign) pollCandidacy(c *flow.Ctx, i int) error {
	conn := cp.le.conn
	stream := flow.NewRequestStream(conn.endpoint(i, offCandidacy), flow.ProtoCodec[*wire.CandidacyRequest](), flow.ProtoCodec[*wire.NomineeReply]())
	for {
		req := &wire.CandidacyRequest{ClusterKey: conn.File.Key(), Candidate: cp.info, KnownNominee: cp.nominees[i]}
		rep, err := flow.Await(c, stream.GetReply(c.Env, req))
		if err != nil {
			if err := c.Sleep(conn.Timing.RetryDelay); err != nil {
				return err
			}
			continue
		}
		if to := rep.GetForwardedTo(); to != "" {
			cp.end(forwarded(to))
			return nil
		}
		if id := rep.GetNominee().GetChangeId(); id != cp.nominees[i] {
			cp.nominees[i] = id
			cp.nomineesChanged.Send(struct{}{})
			cp.nomineesChanged = flow.NewPromise[struct{}]()
		}
	}
}

func (cp *Campaign) nominatedByMajority() bool {
	n := 0
	for _, id := range cp.nominees {
		if id == cp.info.GetChangeId() {
			n++
		}
	}
	return n > len(cp.nominees)/2
}

// run waits for a majority of nominations, confirms them with a heartbeat
// round, then renews the lease until a round fails to before it runs out.
func (cp *Campaign) run(c *flow.Ctx) error {
	t := cp.le.conn.Timing
	var leaseUntil time.Time
	for leaseUntil.IsZero() {
		for !cp.nominatedByMajority() {
			if _, err := flow.Await(c, cp.nomineesChanged.Future()); err != nil {
				return err
			}
		}
		sent := c.Now()
		if ok, err := cp.heartbeatRound(c, sent.Add(t.Lease)); err != nil {
			return err
		} else if ok {
			leaseUntil = sent.Add(t.Lease)
			continue
		}
		if err := c.Sleep(t.RetryDelay); err != nil {
			return err
		}
	}
	c.Trace(flow.SevInfo, "BecameLeader", flow.D("ChangeID", cp.info.GetChangeId()))
	cp.leader.Send(struct{}{})
	for {
		if err := c.Sleep(t.HeartbeatInterval); err != nil {
			return err
		}
		sent := c.Now()
		ok, err := cp.heartbeatRound(c, leaseUntil)
		if err != nil {
			return err
		}
		if !ok {
			// A majority said no, or the lease ran out first. Giving up
			// early is always safe; holding on past the lease never is.
			c.Trace(flow.SevWarn, "LostLeadership", flow.D("ChangeID", cp.info.GetChangeId()))
			cp.end(nil)
			return nil
		}
		leaseUntil = sent.Add(t.Lease)
	}
}

// heartbeatRound asks every coordinator to confirm the nomination and
// reports whether a majority did before deadline. It ends early when a
// majority can no longer confirm.
func (cp *Campaign) heartbeatRound(c *flow.Ctx, deadline time.Time) (bool, error) {
	conn := cp.le.conn
	n := len(conn.File.Coordinators)
	done := flow.NewPromise[bool]()
	yes, no := 0, 0
	var actors []*flow.Actor
	for i := range n {
		actors = append(actors, c.Spawn("Campaign.Heartbeat", func(c *flow.Ctx) error {
			stream := flow.NewRequestStream(conn.endpoint(i, offLeaderHeartbeat), flow.ProtoCodec[*wire.LeaderHeartbeatRequest](), flow.ProtoCodec[*wire.LeaderHeartbeatReply]())
			req := &wire.LeaderHeartbeatRequest{ClusterKey: conn.File.Key(), ChangeId: cp.info.GetChangeId()}
			for {
				rep, err := flow.Await(c, stream.GetReply(c.Env, req))
				if err != nil {
					if err := c.Sleep(conn.Timing.RetryDelay); err != nil {
						return err
					}
					continue
				}
				if to := rep.GetForwardedTo(); to != "" {
					done.Fail(forwarded(to))
					return nil
				}
				if rep.GetStillNominee() {
					yes++
				} else {
					no++
				}
				switch {
				case yes > n/2:
					done.Send(true)
				case no >= n-n/2:
					done.Send(false)
				}
				return nil
			}
		}))
	}
	defer func() {
		for _, a := range actors {
			a.Cancel()
		}
	}()
	if _, err := flow.Select(c, done.Future(), c.Delay(deadline.Sub(c.Now()))); err != nil {
		return false, err
	}
	if !done.IsSet() {
		return false, nil
	}
	ok, err := done.Future().Get()
	var fe *ForwardedError
	if errors.As(err, &fe) {
		cp.end(err)
		return false, flow.ErrOperationCancelled
	}
	return ok, err
}
