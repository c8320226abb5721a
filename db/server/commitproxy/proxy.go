package commitproxy

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/wire"
)

type (
	commitRequest    = flow.Request[*wire.CommitTransactionRequest, *wire.CommitTransactionReply]
	resolveStream    = flow.RequestStream[*wire.ResolveTransactionBatchRequest, *wire.ResolveTransactionBatchReply]
	tlogCommitStream = flow.RequestStream[*wire.TLogCommitRequest, *wire.TLogCommitReply]
)

// ErrGenerationDead is the error Done fails with once the proxy stopped
// accepting commits because a sequencer, resolver or log failed.
var ErrGenerationDead = errors.New("commitproxy: generation dead")

// Proxy is a running commit proxy.
type Proxy struct {
	// inFlight are the batches started and not yet answered, by number;
	// with none, a batch waits only IdleBatchWindow (see batchDeadline).
	inFlight map[uint64]*flow.Actor
	// lastBatch is when the last batch started; batchLatency smooths the
	// batches' latencies (start to reply), which set the batch interval.
	lastBatch    time.Time
	batchLatency time.Duration

	env *flow.Env
	cfg Config

	commits   *flow.Listener[*wire.CommitTransactionRequest, *wire.CommitTransactionReply]
	locations *flow.Listener[*wire.GetKeyServerLocationsRequest, *wire.GetKeyServerLocationsReply]
	actors    []*flow.Actor

	getVersion flow.RequestStream[*wire.GetCommitVersionRequest, *wire.GetCommitVersionReply]
	report     flow.RequestStream[*wire.ReportCommittedRequest, *wire.ReportCommittedReply]
	resolvers  []resolveStream
	logs       []tlogCommitStream

	shards *shardMap
	lock   lockState
	// stateApplied is the version up to which every state transaction
	// (see state.go) is applied to shards and lock.
	stateApplied kv.Version
	// batchNum numbers this proxy's batches from 1; it is also the
	// sequencer request number.
	batchNum uint64
	// resolving and logging are the highest batch numbers that sent their
	// resolver requests and their log pushes (or gave up doing so).
	resolving, logging gate
	latest             kv.Version // highest commit version received
	knownCommitted     kv.Version // highest version every log acknowledged
	dead               bool
	done               flow.Promise[struct{}]

	m metrics
}

type metrics struct {
	transactions, committed, conflicts, tooOld, rejected, unknown, batches *flow.Counter
	latency, batchLatency                                                  *flow.Histogram
	// The stages of a batch, each from the end of the previous one:
	// waiting in the batcher (per transaction), the sequencer's version,
	// resolution (behind the previous batch's), the log push until every
	// log fsynced it (behind the previous batch's push), and the report
	// of the committed version.
	stageBatching, stageVersion, stageResolve, stageLog, stageReport *flow.Histogram
}

// New starts a commit proxy on env, listening on fresh dynamic tokens.
func New(env *flow.Env, cfg Config) (*Proxy, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("commitproxy: config: %w", err)
	}
	m := env.Metrics()
	p := &Proxy{
		env:       env,
		cfg:       cfg,
		commits:   flow.Listen(env, 0, flow.ProtoCodec[*wire.CommitTransactionRequest](), flow.ProtoCodec[*wire.CommitTransactionReply]()),
		locations: flow.Listen(env, 0, flow.ProtoCodec[*wire.GetKeyServerLocationsRequest](), flow.ProtoCodec[*wire.GetKeyServerLocationsReply]()),
		getVersion: flow.NewRequestStream(endpoint(cfg.Sequencer.GetAddress(), cfg.Sequencer.GetGetCommitVersion()),
			flow.ProtoCodec[*wire.GetCommitVersionRequest](), flow.ProtoCodec[*wire.GetCommitVersionReply]()),
		report: flow.NewRequestStream(endpoint(cfg.Sequencer.GetAddress(), cfg.Sequencer.GetReportCommitted()),
			flow.ProtoCodec[*wire.ReportCommittedRequest](), flow.ProtoCodec[*wire.ReportCommittedReply]()),
		shards:   newShardMap(cfg.Shards),
		lock:     lockState{value: bytes.Clone(cfg.Locked)},
		inFlight: map[uint64]*flow.Actor{},
		done:     flow.NewPromise[struct{}](),
		m: metrics{
			transactions: m.Counter("commitproxy.transactions"),
			committed:    m.Counter("commitproxy.committed"),
			conflicts:    m.Counter("commitproxy.conflicts"),
			tooOld:       m.Counter("commitproxy.too_old"),
			rejected:     m.Counter("commitproxy.rejected"),
			unknown:      m.Counter("commitproxy.unknown_result"),
			batches:      m.Counter("commitproxy.batches"),
			latency:      m.Histogram("commitproxy.latency"),
			batchLatency: m.Histogram("commitproxy.batch_latency"),

			stageBatching: m.Histogram("commitproxy.stage_batching"),
			stageVersion:  m.Histogram("commitproxy.stage_version"),
			stageResolve:  m.Histogram("commitproxy.stage_resolve"),
			stageLog:      m.Histogram("commitproxy.stage_log"),
			stageReport:   m.Histogram("commitproxy.stage_report"),
		},
	}
	for _, r := range cfg.Resolvers {
		p.resolvers = append(p.resolvers, flow.NewRequestStream(endpoint(r.Interface.GetAddress(), r.Interface.GetResolve()),
			flow.ProtoCodec[*wire.ResolveTransactionBatchRequest](), flow.ProtoCodec[*wire.ResolveTransactionBatchReply]()))
	}
	for _, l := range cfg.TLogs {
		p.logs = append(p.logs, flow.NewRequestStream(endpoint(l.GetAddress(), l.GetCommit()),
			flow.ProtoCodec[*wire.TLogCommitRequest](), flow.ProtoCodec[*wire.TLogCommitReply]()))
	}
	p.actors = append(p.actors,
		env.Spawn("CommitProxy.Batcher", p.batcher),
		env.Spawn("CommitProxy.KeyServerLocations", p.serveLocations),
	)
	return p, nil
}

func endpoint(addr string, token uint64) flow.Endpoint {
	return flow.Endpoint{Addr: flow.Address(addr), Token: token}
}

// Interface returns where the proxy listens.
func (p *Proxy) Interface() *wire.CommitProxyInterface {
	return &wire.CommitProxyInterface{
		Address:               string(p.env.Address()),
		Id:                    p.cfg.ID,
		Commit:                p.commits.Stream().Endpoint().Token,
		GetKeyServerLocations: p.locations.Stream().Endpoint().Token,
	}
}

// Done fails with ErrGenerationDead (wrapping the cause) once the proxy has
// stopped accepting commits; it stays unset while the proxy is healthy.
func (p *Proxy) Done() flow.Future[struct{}] { return p.done.Future() }

// Stop stops the proxy: it accepts no more commits or location requests,
// and its batches in flight give up, answering commit_unknown_result. A
// worker stops a proxy when a newer generation exists: this one's batches
// can no longer commit (its logs are locked), and one waiting for a dead
// sequencer would otherwise keep its clients waiting out SequencerTimeout
// (10 s), with the new generation already accepting commits.
func (p *Proxy) Stop() {
	for _, a := range p.actors {
		a.Cancel()
	}
	for _, num := range slices.Sorted(maps.Keys(p.inFlight)) {
		p.inFlight[num].Cancel()
	}
	p.commits.Close()
	p.locations.Close()
}

// die marks the generation dead: no further batch goes to the logs, and no
// commit is accepted. The outcome of batches already pushed is unknown.
func (p *Proxy) die(stage string, err error) {
	if p.dead {
		return
	}
	p.dead = true
	sev := flow.SevError
	if errors.Is(err, flow.ErrOperationCancelled) {
		sev = flow.SevInfo // stopped: a newer generation took over
	}
	p.env.Trace(sev, "CommitProxyGenerationDead", flow.D("ID", p.cfg.ID), flow.D("Stage", stage), flow.D("Error", err.Error()))
	p.commits.Close()
	// Its shard map is frozen from here on (data distribution and other
	// proxies' state transactions reach only the live generation), so it
	// must not answer for shards either: a client that reached it through
	// a process still publishing this generation (one cut off from the
	// controller) would read from servers that no longer hold them.
	p.locations.Close()
	p.done.Fail(fmt.Errorf("%w: %s: %w", ErrGenerationDead, stage, err))
}

// batcher collects checked transactions into batches and starts each.
func (p *Proxy) batcher(c *flow.Ctx) error {
	requests := p.commits.Requests()
	{
		// The generation's first commit, at once (FDB's recovery
		// transaction): until a version of the generation is committed no
		// read version is given out (see the sequencer's serveLive).
		var b batch
		p.startBatch(c.Env, &b)
	}
	for {
		var b batch
		idle := p.cfg.IdleCommitInterval
		if idle > 0 {
			i, err := flow.Select(c, requests, c.Delay(idle))
			if err != nil {
				return err
			}
			if i == 1 {
				p.startBatch(c.Env, &b) // idle: an empty batch keeps versions moving
				continue
			}
		}
		r, err := requests.Next(c)
		if err != nil {
			return err
		}
		p.accept(c, &b, r)
		deadline := p.batchDeadline(c.Now())
		for len(b.txns) < p.cfg.MaxBatchTransactions && b.bytes < p.cfg.MaxBatchBytes {
			if requests.Len() == 0 {
				wait := deadline.Sub(c.Now())
				if wait <= 0 {
					break
				}
				if _, err := flow.Select(c, requests, c.Delay(wait)); err != nil {
					return err
				}
				if requests.Len() == 0 {
					break // the window closed
				}
			}
			r, err := requests.Next(c)
			if err != nil {
				return err
			}
			p.accept(c, &b, r)
		}
		if len(b.txns) > 0 {
			p.startBatch(c.Env, &b)
		}
	}
}

// batchLatencyFraction is the batch interval, as a fraction of the
// smoothed batch latency, while the pipeline is busy (FoundationDB's
// COMMIT_TRANSACTION_BATCH_INTERVAL_LATENCY_FRACTION); latencySmoothing
// weighs each batch's latency into the smoothed one.
const (
	batchLatencyFraction = 0.1
	latencySmoothing     = 0.1
)

// batchDeadline is when a batch whose first transaction arrived at now
// closes. An idle pipeline gains nothing from waiting: IdleBatchWindow. A
// busy one spaces batch starts by the batch interval, counted from the
// last batch's start (as FoundationDB's commitBatcher), not from this
// batch's first arrival: a transaction arriving long after the last batch
// started goes at once, and one arriving just after waits out the rest of
// the interval. The interval follows the pipeline's latency: a tenth of it,
// within [MinBatchWindow, BatchWindow], so batches grow as the pipeline
// slows and a fast pipeline is not held up by a fixed window.
func (p *Proxy) batchDeadline(now time.Time) time.Time {
	deadline := now.Add(p.cfg.IdleBatchWindow)
	if len(p.inFlight) == 0 {
		return deadline
	}
	interval := time.Duration(batchLatencyFraction * float64(p.batchLatency))
	interval = min(max(interval, p.cfg.MinBatchWindow), p.cfg.BatchWindow)
	if next := p.lastBatch.Add(interval); next.After(deadline) {
		return next
	}
	return deadline
}

// observeBatchLatency weighs one batch's latency into the smoothed one.
func (p *Proxy) observeBatchLatency(d time.Duration) {
	p.batchLatency += time.Duration(latencySmoothing * float64(d-p.batchLatency))
}

// accept checks a transaction and adds it to b, or answers it with the
// error that keeps it out.
func (p *Proxy) accept(c *flow.Ctx, b *batch, r *commitRequest) {
	p.m.transactions.Inc()
	size, err := checkTransaction(r.Msg)
	// Not the lock: this proxy may not yet know of a lock or unlock
	// another proxy committed. It is checked once the batch has the
	// state transactions before it (logRequest).
	if err == nil {
		err = checkLockWrites(r.Msg)
	}
	if err == nil && p.latest-kv.Version(r.Msg.GetReadVersion()) > kv.MVCCWindow {
		err = fmt.Errorf("commitproxy: read version %d, latest commit version %d: %w", r.Msg.GetReadVersion(), p.latest, kv.ErrTransactionTooOld)
	}
	t := &txn{req: r, arrived: c.Now()}
	if err != nil {
		p.finish(t, err)
		return
	}
	b.txns = append(b.txns, t)
	b.bytes += size
}

// startBatch asks the sequencer for the batch's version (requests leave in
// batch order) and runs the rest of its commit in its own actor.
func (p *Proxy) startBatch(e *flow.Env, b *batch) {
	if p.dead {
		for _, t := range b.txns {
			p.finish(t, kv.ErrCommitUnknownResult)
		}
		return
	}
	p.batchNum++
	b.num = p.batchNum
	b.started = e.Now()
	p.lastBatch = b.started
	for _, t := range b.txns {
		p.m.stageBatching.Observe(b.started.Sub(t.arrived))
	}
	b.versionRequest = &wire.GetCommitVersionRequest{ProxyId: p.cfg.ID, RequestNum: b.num}
	b.versionReply = p.getVersion.GetReply(e, b.versionRequest)
	p.m.batches.Inc()
	num := b.num
	p.inFlight[num] = e.Spawn("CommitProxy.Batch", func(c *flow.Ctx) error {
		defer delete(p.inFlight, num)
		return p.commitBatch(c, b)
	})
}

// serveLocations answers GetKeyServerLocations from the shard map.
func (p *Proxy) serveLocations(c *flow.Ctx) error {
	for {
		r, err := p.locations.Requests().Next(c)
		if err != nil {
			return err
		}
		begin, end := r.Msg.GetBegin(), r.Msg.GetEnd()
		if len(end) == 0 {
			end = kv.AllKeys.End // no end: to the end of the key space
		}
		if bytes.Compare(begin, end) > 0 {
			r.Fail(fmt.Errorf("commitproxy: locations of %s: %w", kv.KeyRange{Begin: begin, End: end}, kv.ErrInvertedRange))
			continue
		}
		limit := int(max(r.Msg.GetLimit(), 0))
		r.Reply(&wire.GetKeyServerLocationsReply{Shards: p.shards.locations(begin, end, limit, r.Msg.GetReverse())})
	}
}
