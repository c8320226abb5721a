package grvproxy

import (
	"errors"
	"fmt"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/wire"
)

// Priorities of GetReadVersionRequest.priority.
const (
	PriorityDefault         = 0
	PriorityBatch           = 1
	PrioritySystemImmediate = 2
)

// Config parameterises a GRV proxy.
type Config struct {
	// ID names the proxy in its interface and traces.
	ID string
	// Sequencer is asked for the live committed version.
	Sequencer *wire.SequencerInterface
	// Logs are the generation's logs: the proxy answers only under a
	// confirmation from each of them that it is not locked, so a proxy of
	// a generation a recovery ended cannot hand out a stale read version
	// (FDB's confirmEpochLive). None: the sequencer alone is asked.
	Logs []*wire.TLogInterface
	// ConfirmWindow is how long after it was asked for a confirmation
	// from every log lets the proxy answer; 0 means 80ms. A new confirmation
	// is asked for in the background once the latest is half a window old,
	// so under load no batch waits for one. It is safe because a recovery
	// waits longer than the window after locking the old logs before its
	// generation takes commits (the controller's MinRecoveryDuration, 85 ms),
	// as FoundationDB's REQUIRED_MIN_RECOVERY_DURATION and
	// ENFORCED_MIN_RECOVERY_DURATION do.
	ConfirmWindow time.Duration
	// BatchWindow is the longest a request waits for an outstanding
	// sequencer call before a new one is sent; 0 means 1ms.
	BatchWindow time.Duration
	// MaxBatchTransactions bounds the transactions answered by one
	// sequencer call; 0 means 10,000.
	MaxBatchTransactions int
	// BatchPriorityRate is the rate (transactions/s) at which
	// batch-priority requests are served; 0 means unlimited.
	BatchPriorityRate float64
	// MaxQueuedBatchPriority bounds the queued batch-priority requests;
	// 0 means 10,000.
	MaxQueuedBatchPriority int
	// Ratekeeper, if set, meters the proxy (see the package doc); nil
	// leaves it unthrottled. SetRatekeeper changes it later.
	Ratekeeper *wire.RatekeeperInterface
	// RatePollInterval is how often the ratekeeper is asked for a rate;
	// 0 means 100ms.
	RatePollInterval time.Duration
}

// Proxy is a running GRV proxy.
type Proxy struct {
	env      *flow.Env
	cfg      Config
	sequence flow.RequestStream[*wire.GetLiveCommittedVersionRequest, *wire.GetLiveCommittedVersionReply]
	confirms []flow.RequestStream[*wire.TLogConfirmRunningRequest, *wire.TLogConfirmRunningReply]
	listener *flow.Listener[*wire.GetReadVersionRequest, *wire.GetReadVersionReply]
	actors   []*flow.Actor

	queues      [3][]*pending          // by priority
	queued      flow.Promise[struct{}] // fulfilled when there may be new work: a request or a new rate
	outstanding int
	returned    flow.Promise[struct{}] // fulfilled (and replaced) when a sequencer call returns

	// batchRate is the static BatchPriorityRate bucket; rkDefault and
	// rkBatch are the ratekeeper's default and batch rates, each counting
	// every transaction it meters.
	batchRate, rkDefault, rkBatch bucket
	rates                         rateState

	requests, batches, throttled *flow.Counter
	latency                      *flow.Histogram
	// sequencerLatency times a batch's sequencer call; confirmLatency a
	// confirmation, until the slowest log answered.
	sequencerLatency, confirmLatency *flow.Histogram

	// confirmedAt is when the latest successful confirmation was asked
	// for (zero: none yet); confirming is the one in flight, if any.
	confirmedAt time.Time
	confirming  *flow.Promise[struct{}]
	// ended is set once a log answered that it is locked: a recovery ended
	// the generation, and the proxy answers no more read versions, window
	// or not.
	ended error
}

type pending struct {
	req     *flow.Request[*wire.GetReadVersionRequest, *wire.GetReadVersionReply]
	arrived time.Time
	count   int
}

// New starts a GRV proxy on env, listening on a fresh dynamic token.
func New(env *flow.Env, cfg Config) (*Proxy, error) {
	if cfg.Sequencer == nil {
		return nil, errors.New("grvproxy: no sequencer configured")
	}
	if cfg.BatchWindow == 0 {
		cfg.BatchWindow = time.Millisecond
	}
	if cfg.MaxBatchTransactions == 0 {
		cfg.MaxBatchTransactions = 10_000
	}
	if cfg.MaxQueuedBatchPriority == 0 {
		cfg.MaxQueuedBatchPriority = 10_000
	}
	if cfg.RatePollInterval == 0 {
		cfg.RatePollInterval = 100 * time.Millisecond
	}
	if cfg.ConfirmWindow == 0 {
		cfg.ConfirmWindow = DefaultConfirmWindow
	}
	if cfg.ConfirmWindow < 0 || cfg.BatchWindow < 0 || cfg.MaxBatchTransactions < 0 || cfg.BatchPriorityRate < 0 || cfg.MaxQueuedBatchPriority < 0 || cfg.RatePollInterval < 0 {
		return nil, fmt.Errorf("grvproxy: negative limit in config %+v", cfg)
	}
	m := env.Metrics()
	p := &Proxy{
		env: env,
		cfg: cfg,
		sequence: flow.NewRequestStream(
			flow.Endpoint{Addr: flow.Address(cfg.Sequencer.GetAddress()), Token: cfg.Sequencer.GetGetLiveCommittedVersion()},
			flow.ProtoCodec[*wire.GetLiveCommittedVersionRequest](), flow.ProtoCodec[*wire.GetLiveCommittedVersionReply]()),
		listener:  flow.Listen(env, 0, flow.ProtoCodec[*wire.GetReadVersionRequest](), flow.ProtoCodec[*wire.GetReadVersionReply]()),
		queued:    flow.NewPromise[struct{}](),
		returned:  flow.NewPromise[struct{}](),
		requests:  m.Counter("grvproxy.requests"),
		batches:   m.Counter("grvproxy.batches"),
		throttled: m.Counter("grvproxy.throttled"),
		latency:   m.Histogram("grvproxy.latency"),

		sequencerLatency: m.Histogram("grvproxy.sequencer_latency"),
		confirmLatency:   m.Histogram("grvproxy.confirm_latency"),
	}
	for _, l := range cfg.Logs {
		p.confirms = append(p.confirms, flow.NewRequestStream(
			flow.Endpoint{Addr: flow.Address(l.GetAddress()), Token: l.GetConfirmRunning()},
			flow.ProtoCodec[*wire.TLogConfirmRunningRequest](), flow.ProtoCodec[*wire.TLogConfirmRunningReply]()))
	}
	if cfg.BatchPriorityRate > 0 {
		p.batchRate.set(cfg.BatchPriorityRate, env.Now())
	}
	p.rates.init(m)
	p.actors = append(p.actors,
		env.Spawn("GrvProxy.Queue", p.queueRequests),
		env.Spawn("GrvProxy.Start", p.startBatches),
	)
	p.SetRatekeeper(cfg.Ratekeeper)
	return p, nil
}

// Interface returns where the proxy listens.
func (p *Proxy) Interface() *wire.GrvProxyInterface {
	return &wire.GrvProxyInterface{
		Address:        string(p.env.Address()),
		Id:             p.cfg.ID,
		GetReadVersion: p.listener.Stream().Endpoint().Token,
	}
}

// Stop stops serving; queued requests fail with broken_promise.
func (p *Proxy) Stop() {
	for _, a := range p.actors {
		a.Cancel()
	}
	if p.rates.poller != nil {
		p.rates.poller.Cancel()
	}
	p.listener.Close()
	for i := range p.queues {
		for _, q := range p.queues[i] {
			q.req.Fail(flow.ErrBrokenPromise)
		}
		p.queues[i] = nil
	}
}

// queueRequests moves arriving requests into the priority queues.
func (p *Proxy) queueRequests(c *flow.Ctx) error {
	for {
		r, err := p.listener.Requests().Next(c)
		if err != nil {
			return err
		}
		p.requests.Inc()
		prio := r.Msg.GetPriority()
		if prio > PrioritySystemImmediate {
			prio = PriorityDefault
		}
		if prio == PriorityBatch && len(p.queues[PriorityBatch]) >= p.cfg.MaxQueuedBatchPriority {
			p.throttled.Inc()
			r.Fail(kv.ErrBatchTransactionThrottled)
			continue
		}
		p.queues[prio] = append(p.queues[prio], &pending{req: r, arrived: c.Now(), count: max(1, int(r.Msg.GetTransactionCount()))})
		p.queued.Send(struct{}{})
	}
}

// startBatches decides when the next batch goes to the sequencer.
func (p *Proxy) startBatches(c *flow.Ctx) error {
	for {
		first, ok := p.oldestServable(c.Now())
		if !ok {
			if err := p.waitForWork(c); err != nil {
				return err
			}
			continue
		}
		if p.outstanding > 0 {
			deadline := first.Add(p.cfg.BatchWindow)
			if wait := deadline.Sub(c.Now()); wait > 0 {
				returned := p.returned.Future()
				if _, err := flow.Select(c, returned, c.Delay(wait)); err != nil {
					return err
				}
				continue // re-evaluate: new requests or a returned call
			}
		}
		p.startBatch(c.Env, p.takeBatch(c.Now()))
	}
}

// waitForWork blocks until there may be new work (a request queued or a
// new rate), or, when only throttled requests are queued, until the head
// one's buckets allow it.
func (p *Proxy) waitForWork(c *flow.Ctx) error {
	p.queued = flow.NewPromise[struct{}]()
	ws := []flow.Waitable{p.queued.Future()}
	if d, ok := p.throttledWait(); ok {
		ws = append(ws, c.Delay(d+time.Microsecond))
	}
	_, err := flow.Select(c, ws...)
	return err
}

// throttledWait is how long until the head default- or batch-priority
// request may start; false if none is queued or none ever will be at the
// current rates (a new rate wakes the proxy).
func (p *Proxy) throttledWait() (time.Duration, bool) {
	var wait time.Duration
	found := false
	consider := func(d time.Duration, ok bool) {
		if ok && (!found || d < wait) {
			wait, found = d, true
		}
	}
	if q := p.queues[PriorityDefault]; len(q) > 0 {
		consider(p.rkDefault.wait(q[0].count))
	}
	if q := p.queues[PriorityBatch]; len(q) > 0 {
		d1, ok1 := p.batchRate.wait(q[0].count)
		d2, ok2 := p.rkDefault.wait(q[0].count)
		d3, ok3 := p.rkBatch.wait(q[0].count)
		consider(max(d1, d2, d3), ok1 && ok2 && ok3)
	}
	return wait, found
}

func (p *Proxy) refill(now time.Time) {
	p.batchRate.refill(now)
	p.rkDefault.refill(now)
	p.rkBatch.refill(now)
}

// admissible reports whether the head request q of priority prio may be
// served now under the rate limits. System-immediate is never throttled.
func (p *Proxy) admissible(prio int, q *pending) bool {
	switch prio {
	case PriorityDefault:
		return p.rkDefault.admits(q.count)
	case PriorityBatch:
		return p.batchRate.admits(q.count) && p.rkDefault.admits(q.count) && p.rkBatch.admits(q.count)
	default:
		return true
	}
}

// admit spends the tokens of a request being served. The ratekeeper's
// rates cap all transactions (FoundationDB's: batch work runs only in the
// room the batch rate leaves above everything else), so every request
// counts against the buckets it is not gated by.
func (p *Proxy) admit(prio int, q *pending) {
	switch prio {
	case PriorityDefault:
		p.rkDefault.take(q.count)
		p.rkBatch.charge(q.count)
	case PriorityBatch:
		p.batchRate.take(q.count)
		p.rkDefault.take(q.count)
		p.rkBatch.take(q.count)
	default:
		p.rkDefault.charge(q.count)
		p.rkBatch.charge(q.count)
	}
	p.rates.released[prio] += uint64(q.count)
}

// oldestServable returns the arrival time of the oldest request that the
// next batch would serve, if any.
func (p *Proxy) oldestServable(now time.Time) (time.Time, bool) {
	p.refill(now)
	var oldest time.Time
	found := false
	for prio := range p.queues {
		q := p.queues[prio]
		if len(q) == 0 || !p.admissible(prio, q[0]) {
			continue
		}
		if !found || q[0].arrived.Before(oldest) {
			oldest, found = q[0].arrived, true
		}
	}
	return oldest, found
}

// takeBatch removes the requests of the next batch from the queues.
func (p *Proxy) takeBatch(now time.Time) []*pending {
	var batch []*pending
	room := p.cfg.MaxBatchTransactions
	for _, prio := range []int{PrioritySystemImmediate, PriorityDefault, PriorityBatch} {
		q := p.queues[prio]
		n := 0
		for n < len(q) && (room > 0 || len(batch) == 0) {
			if !p.admissible(prio, q[n]) {
				break
			}
			p.admit(prio, q[n])
			room -= q[n].count
			batch = append(batch, q[n])
			n++
		}
		clear(q[:n])
		p.queues[prio] = q[n:]
	}
	return batch
}

// DefaultConfirmWindow is Config.ConfirmWindow's default. A recovery must
// wait longer than this after locking the old logs before accepting
// commits.
const DefaultConfirmWindow = 80 * time.Millisecond

// startBatch asks the sequencer once and answers the batch under a
// confirmation from the logs.
func (p *Proxy) startBatch(e *flow.Env, batch []*pending) {
	p.batches.Inc()
	p.outstanding++
	var (
		rep      *wire.GetLiveCommittedVersionReply
		err      error
		awaiting = 2
		started  = e.Now()
	)
	done := func() {
		if awaiting--; awaiting == 0 {
			p.answerConfirmed(e, batch, rep, err)
		}
	}
	p.confirmation(e).OnReady(func(_ struct{}, cerr error) {
		if cerr != nil && err == nil {
			err = cerr
		}
		done()
	})
	p.sequence.GetReply(e, &wire.GetLiveCommittedVersionRequest{}).OnReady(func(r *wire.GetLiveCommittedVersionReply, serr error) {
		rep = r
		p.sequencerLatency.Observe(e.Now().Sub(started))
		if serr != nil && err == nil {
			err = serr
		}
		done()
	})
}

// answerConfirmed answers the batch if a confirmation still covers now;
// one may have lapsed while the sequencer answered, and then the batch
// waits for the next.
func (p *Proxy) answerConfirmed(e *flow.Env, batch []*pending, rep *wire.GetLiveCommittedVersionReply, err error) {
	if err != nil || p.covered(e.Now()) {
		p.answer(e, batch, rep, err)
		return
	}
	p.confirmation(e).OnReady(func(_ struct{}, cerr error) {
		if cerr != nil {
			err = cerr
		}
		p.answerConfirmed(e, batch, rep, err)
	})
}

// covered reports whether a confirmation lets the proxy answer at now.
func (p *Proxy) covered(now time.Time) bool {
	if p.ended != nil {
		return false
	}
	return len(p.confirms) == 0 || (!p.confirmedAt.IsZero() && now.Sub(p.confirmedAt) < p.cfg.ConfirmWindow)
}

// confirmation returns a future set once a confirmation covers answering:
// at once if one does now (asking for the next in the background once it
// is half a window old), otherwise when the one in flight or a new one
// succeeds. It fails if a log is locked or unreachable.
func (p *Proxy) confirmation(e *flow.Env) flow.Future[struct{}] {
	if p.ended != nil {
		return flow.Failed[struct{}](p.ended)
	}
	now := e.Now()
	if p.covered(now) {
		if len(p.confirms) > 0 && now.Sub(p.confirmedAt) >= p.cfg.ConfirmWindow/2 {
			p.confirm(e)
		}
		return flow.Ready(struct{}{})
	}
	return p.confirm(e)
}

// confirm asks every log to confirm it is not locked, unless a request is
// already in flight, and returns the outcome's future.
func (p *Proxy) confirm(e *flow.Env) flow.Future[struct{}] {
	if p.confirming != nil {
		return p.confirming.Future()
	}
	started := e.Now()
	done := flow.NewPromise[struct{}]()
	p.confirming = &done
	var err error
	left := len(p.confirms)
	for _, s := range p.confirms {
		s.GetReply(e, &wire.TLogConfirmRunningRequest{}).OnReady(func(_ *wire.TLogConfirmRunningReply, cerr error) {
			if cerr != nil && err == nil {
				err = fmt.Errorf("confirming the generation with its logs: %w", cerr)
			}
			if errors.Is(cerr, kv.ErrTLogStopped) && p.ended == nil {
				// Locked: stop answering now rather than when the
				// window closes, so fewer clients get a read version
				// only to commit into the ended generation.
				p.ended = err
			}
			if left--; left > 0 {
				return
			}
			p.confirming = nil
			p.confirmLatency.Observe(e.Now().Sub(started))
			if err != nil {
				done.Fail(err)
				return
			}
			if started.After(p.confirmedAt) {
				p.confirmedAt = started
			}
			done.Send(struct{}{})
		})
	}
	return done.Future()
}

// answer replies to a batch with the live committed version or the error.
func (p *Proxy) answer(e *flow.Env, batch []*pending, rep *wire.GetLiveCommittedVersionReply, err error) {
	p.outstanding--
	now := e.Now()
	for _, q := range batch {
		if err != nil {
			q.req.Fail(fmt.Errorf("grvproxy: answering a read version: %w", err))
		} else {
			q.req.Reply(&wire.GetReadVersionReply{Version: rep.GetVersion(), Locked: rep.GetLocked()})
		}
		p.latency.Observe(now.Sub(q.arrived))
	}
	p.returned.Send(struct{}{})
	p.returned = flow.NewPromise[struct{}]()
}
