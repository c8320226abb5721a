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
}

// Proxy is a running GRV proxy.
type Proxy struct {
	env      *flow.Env
	cfg      Config
	sequence flow.RequestStream[*wire.GetLiveCommittedVersionRequest, *wire.GetLiveCommittedVersionReply]
	listener *flow.Listener[*wire.GetReadVersionRequest, *wire.GetReadVersionReply]
	actors   []*flow.Actor

	queues      [3][]*pending // by priority
	queued      flow.Promise[struct{}]
	outstanding int
	returned    flow.Promise[struct{}] // fulfilled (and replaced) when a sequencer call returns
	tokens      float64
	refilled    time.Time

	requests, batches, throttled *flow.Counter
	latency                      *flow.Histogram
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
	if cfg.BatchWindow < 0 || cfg.MaxBatchTransactions < 0 || cfg.BatchPriorityRate < 0 || cfg.MaxQueuedBatchPriority < 0 {
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
		refilled:  env.Now(),
		requests:  m.Counter("grvproxy.requests"),
		batches:   m.Counter("grvproxy.batches"),
		throttled: m.Counter("grvproxy.throttled"),
		latency:   m.Histogram("grvproxy.latency"),
	}
	p.tokens = p.bucketSize()
	p.actors = append(p.actors,
		env.Spawn("GrvProxy.Queue", p.queueRequests),
		env.Spawn("GrvProxy.Start", p.startBatches),
	)
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

// waitForWork blocks until a request is queued, or, when only throttled
// batch-priority requests are queued, until the bucket has a token.
func (p *Proxy) waitForWork(c *flow.Ctx) error {
	p.queued = flow.NewPromise[struct{}]()
	ws := []flow.Waitable{p.queued.Future()}
	if len(p.queues[PriorityBatch]) > 0 {
		// A request larger than the bucket goes once the bucket is full.
		need := min(float64(p.queues[PriorityBatch][0].count), p.bucketSize()) - p.tokens
		ws = append(ws, c.Delay(time.Duration(need/p.cfg.BatchPriorityRate*float64(time.Second))+time.Microsecond))
	}
	_, err := flow.Select(c, ws...)
	return err
}

// bucketSize is the token bucket's capacity: a tenth of a second of rate,
// at least one transaction.
func (p *Proxy) bucketSize() float64 { return max(1, p.cfg.BatchPriorityRate/10) }

func (p *Proxy) refill(now time.Time) {
	if p.cfg.BatchPriorityRate == 0 {
		return
	}
	p.tokens = min(p.bucketSize(), p.tokens+now.Sub(p.refilled).Seconds()*p.cfg.BatchPriorityRate)
	p.refilled = now
}

// batchAdmissible reports whether the head batch-priority request may be
// served now under the rate limit.
func (p *Proxy) batchAdmissible(q *pending) bool {
	if p.cfg.BatchPriorityRate == 0 {
		return true
	}
	return p.tokens >= min(float64(q.count), p.bucketSize())
}

// oldestServable returns the arrival time of the oldest request that the
// next batch would serve, if any.
func (p *Proxy) oldestServable(now time.Time) (time.Time, bool) {
	p.refill(now)
	var oldest time.Time
	found := false
	for prio := range p.queues {
		q := p.queues[prio]
		if len(q) == 0 || prio == PriorityBatch && !p.batchAdmissible(q[0]) {
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
			if prio == PriorityBatch {
				if !p.batchAdmissible(q[n]) {
					break
				}
				p.tokens -= float64(q[n].count)
			}
			room -= q[n].count
			batch = append(batch, q[n])
			n++
		}
		clear(q[:n])
		p.queues[prio] = q[n:]
	}
	return batch
}

// startBatch asks the sequencer once and answers the batch when it replies.
func (p *Proxy) startBatch(e *flow.Env, batch []*pending) {
	p.batches.Inc()
	p.outstanding++
	p.sequence.GetReply(e, &wire.GetLiveCommittedVersionRequest{}).OnReady(func(rep *wire.GetLiveCommittedVersionReply, err error) {
		p.outstanding--
		now := e.Now()
		for _, q := range batch {
			if err != nil {
				q.req.Fail(fmt.Errorf("grvproxy: asking the sequencer: %w", err))
			} else {
				q.req.Reply(&wire.GetReadVersionReply{Version: rep.GetVersion(), Locked: rep.GetLocked()})
			}
			p.latency.Observe(now.Sub(q.arrived))
		}
		p.returned.Send(struct{}{})
		p.returned = flow.NewPromise[struct{}]()
	})
}
