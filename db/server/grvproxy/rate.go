package grvproxy

import (
	"errors"
	"math"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/wire"
)

// rateState is the proxy's side of the ratekeeper: where it is, what the
// proxy released so far, and how long the last granted rates hold.
type rateState struct {
	stream    *flow.RequestStream[*wire.GetRateInfoRequest, *wire.GetRateInfoReply]
	poller    *flow.Actor
	released  [3]uint64 // transactions released, by priority, since the proxy started
	leaseEnds time.Time
	limited   bool // rates from the ratekeeper are in force
	failing   bool // the last poll failed (traced once per outage)

	polls, pollFailures, leasesExpired *flow.Counter
}

func (r *rateState) init(m *flow.Metrics) {
	r.polls = m.Counter("grvproxy.rate_polls")
	r.pollFailures = m.Counter("grvproxy.rate_poll_failures")
	r.leasesExpired = m.Counter("grvproxy.rate_leases_expired")
}

// maxLease bounds the lease a reply may grant, so a bad reply cannot pin a
// rate for long.
const maxLease = time.Minute

// SetRatekeeper points the proxy at a ratekeeper, for instance after the
// cluster controller moved. The rates in force keep their lease until the
// new ratekeeper answers. nil stops polling and lifts the limits at once.
func (p *Proxy) SetRatekeeper(rk *wire.RatekeeperInterface) {
	if rk == nil {
		if p.rates.poller != nil {
			p.rates.poller.Cancel()
			p.rates.poller = nil
		}
		p.rates.stream = nil
		p.unthrottle()
		return
	}
	st := flow.NewRequestStream(flow.Endpoint{Addr: flow.Address(rk.GetAddress()), Token: rk.GetGetRateInfo()},
		flow.ProtoCodec[*wire.GetRateInfoRequest](), flow.ProtoCodec[*wire.GetRateInfoReply]())
	p.rates.stream = &st
	if p.rates.poller == nil {
		p.rates.poller = p.env.Spawn("GrvProxy.Rate", p.pollRates)
	}
}

// pollRates asks the ratekeeper for rates every RatePollInterval. A poll
// not answered within the interval is abandoned; when polls keep failing
// past the lease, the proxy runs unthrottled (see the package doc).
func (p *Proxy) pollRates(c *flow.Ctx) error {
	for {
		next := c.Delay(p.cfg.RatePollInterval)
		if st := p.rates.stream; st != nil {
			r := &p.rates
			r.polls.Inc()
			f := st.GetReply(c.Env, &wire.GetRateInfoRequest{
				ProxyId:           p.cfg.ID,
				ReleasedDefault:   r.released[PriorityDefault],
				ReleasedBatch:     r.released[PriorityBatch],
				ReleasedImmediate: r.released[PrioritySystemImmediate],
			})
			if _, err := flow.Select(c, f, next); err != nil {
				return err
			}
			var rep *wire.GetRateInfoReply
			var err error = flow.ErrTimedOut
			if f.IsReady() {
				rep, err = f.Get()
			}
			if err == nil {
				err = p.applyRates(c.Now(), rep)
			}
			if err != nil {
				p.pollFailed(c.Now(), err)
			}
		}
		if _, err := flow.Await(c, next); err != nil {
			return err
		}
	}
}

// applyRates puts a reply's rates in force for its lease.
func (p *Proxy) applyRates(now time.Time, rep *wire.GetRateInfoReply) error {
	def, batch, lease := rep.GetTransactionsPerSecond(), rep.GetBatchTransactionsPerSecond(), rep.GetLeaseSeconds()
	if math.IsNaN(def) || math.IsNaN(batch) || math.IsNaN(lease) || def < 0 || batch < 0 || lease <= 0 {
		return errBadRateReply
	}
	r := &p.rates
	if r.failing {
		r.failing = false
		p.env.Trace(flow.SevInfo, "GrvProxyRatekeeperReachable", flow.D("ID", p.cfg.ID))
	}
	r.leaseEnds = now.Add(min(time.Duration(lease*float64(time.Second)), maxLease))
	r.limited = !math.IsInf(def, 1) || !math.IsInf(batch, 1)
	p.rkDefault.set(def, now)
	p.rkBatch.set(min(batch, def), now)
	p.wake()
	return nil
}

var errBadRateReply = errors.New("grvproxy: ratekeeper replied with a negative or NaN rate or lease")

// pollFailed keeps the rates in force until their lease ends, then lifts
// them.
func (p *Proxy) pollFailed(now time.Time, err error) {
	r := &p.rates
	r.pollFailures.Inc()
	if !r.failing {
		r.failing = true
		p.env.Trace(flow.SevWarn, "GrvProxyRatekeeperUnreachable", flow.D("ID", p.cfg.ID), flow.D("Error", err.Error()))
	}
	if r.limited && !now.Before(r.leaseEnds) {
		r.leasesExpired.Inc()
		p.env.Trace(flow.SevWarnAlw, "GrvProxyRateLeaseExpired", flow.D("ID", p.cfg.ID), flow.D("Error", err.Error()))
		p.unthrottle()
	}
}

// unthrottle lifts the ratekeeper's limits.
func (p *Proxy) unthrottle() {
	p.rates.limited = false
	p.rkDefault.set(math.Inf(1), p.env.Now())
	p.rkBatch.set(math.Inf(1), p.env.Now())
	p.wake()
}

// wake makes the batch starter re-evaluate its queues.
func (p *Proxy) wake() { p.queued.Send(struct{}{}) }
