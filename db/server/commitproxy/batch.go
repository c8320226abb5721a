package commitproxy

import (
	"errors"
	"fmt"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/wire"
)

// batch is one commit batch on its way through the pipeline.
type batch struct {
	num            uint64
	txns           []*txn
	bytes          int
	started        time.Time
	versionRequest *wire.GetCommitVersionRequest
	versionReply   flow.Future[*wire.GetCommitVersionReply]
	prev           kv.Version
	version        kv.Version
	// state are the other proxies' state transactions before version.
	state []*wire.StateTransaction
}

// txn is one transaction of a batch and, once decided, its outcome.
type txn struct {
	req     *commitRequest
	arrived time.Time
	// err is set when the transaction will not commit (or its outcome is
	// unknown); nil after resolution means it committed.
	err error
}

// Resolver verdicts (ResolveTransactionBatchReply.committed).
const (
	verdictConflict  = 0
	verdictCommitted = 1
	verdictTooOld    = 2
)

// errResolverReply reports a resolver reply that does not match its request.
var errResolverReply = errors.New("commitproxy: resolver reply does not match the batch")

// commitBatch runs one batch: version, resolution, logging, report, reply.
// Stages that must follow version order (sending to resolvers, pushing to
// logs) wait for the previous batch of this proxy to pass them; the others
// overlap with neighbouring batches.
func (p *Proxy) commitBatch(c *flow.Ctx, b *batch) error {
	err := p.runBatch(c, b)
	// Whatever happened, later batches must not wait on this one.
	p.resolving.set(b.num)
	p.logging.set(b.num)
	if err != nil {
		for _, t := range b.txns {
			if t.err == nil {
				t.err = kv.ErrCommitUnknownResult
			}
		}
	}
	for i, t := range b.txns {
		if t.err != nil {
			p.finish(t, t.err)
			continue
		}
		p.m.committed.Inc()
		p.m.latency.Observe(c.Now().Sub(t.arrived))
		t.req.Reply(&wire.CommitTransactionReply{Version: int64(b.version), BatchIndex: uint32(i)})
	}
	p.m.batchLatency.Observe(c.Now().Sub(b.started))
	if err == nil {
		p.observeBatchLatency(c.Now().Sub(b.started))
	}
	if errors.Is(err, flow.ErrOperationCancelled) {
		return err
	}
	return nil
}

// finish answers a transaction that did not commit (or may have).
func (p *Proxy) finish(t *txn, err error) {
	switch {
	case errors.Is(err, kv.ErrNotCommitted):
		p.m.conflicts.Inc()
	case errors.Is(err, kv.ErrTransactionTooOld):
		p.m.tooOld.Inc()
	case errors.Is(err, kv.ErrCommitUnknownResult):
		p.m.unknown.Inc()
	default:
		p.m.rejected.Inc()
	}
	t.req.Fail(err)
}

// runBatch takes the batch through the pipeline. An error means the
// generation died; transactions without a verdict then get
// commit_unknown_result.
func (p *Proxy) runBatch(c *flow.Ctx, b *batch) error {
	rep, err := retrying(c, p.getVersion, b.versionRequest, b.versionReply, p.cfg.SequencerTimeout)
	if err != nil {
		p.die("getting a commit version", err)
		return err
	}
	stage := c.Now()
	p.m.stageVersion.Observe(stage.Sub(b.started))
	b.prev, b.version = kv.Version(rep.GetPrevVersion()), kv.Version(rep.GetVersion())
	p.latest = max(p.latest, b.version)
	for _, t := range b.txns {
		if kv.Version(t.req.Msg.GetReadVersion()) >= b.version {
			t.err = fmt.Errorf("commitproxy: read version %d not below commit version %d: %w", t.req.Msg.GetReadVersion(), b.version, kv.ErrFutureVersion)
		}
	}

	if _, err := flow.Await(c, p.resolving.atLeast(b.num-1)); err != nil {
		return err
	}
	if p.dead {
		return ErrGenerationDead
	}
	replies := p.sendToResolvers(c.Env, b)
	p.resolving.set(b.num)
	if err := p.collectVerdicts(c, b, replies); err != nil {
		p.die("resolving", err)
		return err
	}
	stage = p.observeStage(c, p.m.stageResolve, stage)

	if _, err := flow.Await(c, p.logging.atLeast(b.num-1)); err != nil {
		return err
	}
	if p.dead {
		return ErrGenerationDead
	}
	req := p.logRequest(b)
	acks := make([]flow.Future[*wire.TLogCommitReply], len(p.logs))
	for i, l := range p.logs {
		acks[i] = l.GetReply(c.Env, req)
	}
	p.logging.set(b.num)
	if err := awaitAll(c, acks, p.cfg.LogTimeout); err != nil {
		p.die("pushing to the logs", err)
		return err
	}
	p.knownCommitted = max(p.knownCommitted, b.version)
	stage = p.observeStage(c, p.m.stageLog, stage)

	report := &wire.ReportCommittedRequest{Version: int64(b.version)}
	if _, err := retrying(c, p.report, report, p.report.GetReply(c.Env, report), p.cfg.SequencerTimeout); err != nil {
		p.die("reporting the committed version", err)
		return err
	}
	p.observeStage(c, p.m.stageReport, stage)
	return nil
}

// observeStage records the time since a stage began in h and returns now,
// when the next stage begins.
func (p *Proxy) observeStage(c *flow.Ctx, h *flow.Histogram, began time.Time) time.Time {
	now := c.Now()
	h.Observe(now.Sub(began))
	return now
}

// sendToResolvers sends every resolver the whole batch, each transaction's
// conflict ranges clipped to the resolver's range. Transactions already
// refused go with no ranges, so they leave no writes behind.
func (p *Proxy) sendToResolvers(e *flow.Env, b *batch) []flow.Future[*wire.ResolveTransactionBatchReply] {
	out := make([]flow.Future[*wire.ResolveTransactionBatchReply], len(p.resolvers))
	for i, r := range p.cfg.Resolvers {
		req := &wire.ResolveTransactionBatchRequest{
			PrevVersion:  int64(b.prev),
			Version:      int64(b.version),
			ProxyId:      p.cfg.ID,
			Transactions: make([]*wire.ResolverTransaction, len(b.txns)),

			LastReceivedVersion: int64(p.stateApplied),
		}
		for j, t := range b.txns {
			rt := &wire.ResolverTransaction{ReadVersion: t.req.Msg.GetReadVersion(), ReportConflictingKeys: t.req.Msg.GetReportConflictingKeys()}
			if t.err == nil {
				rt.ReadConflictRanges = clipRanges(t.req.Msg.GetReadConflictRanges(), r.Range)
				rt.WriteConflictRanges = clipRanges(t.req.Msg.GetWriteConflictRanges(), r.Range)
				rt.StateMutations = stateMutations(t.req.Msg.GetMutations())
				rt.LockAware = t.req.Msg.GetLockAware()
			} else {
				// A refused transaction's read version may be anything a
				// client sent (even at or above the batch's version, which
				// the resolver refuses as malformed, failing the whole
				// batch): it reads nothing, so give it a harmless one.
				rt.ReadVersion = int64(b.prev)
			}
			req.Transactions[j] = rt
		}
		out[i] = p.resolvers[i].GetReply(e, req)
	}
	return out
}

// collectVerdicts waits for every resolver and decides each transaction: it
// commits only if every resolver says so; too old wins over conflict.
func (p *Proxy) collectVerdicts(c *flow.Ctx, b *batch, replies []flow.Future[*wire.ResolveTransactionBatchReply]) error {
	if err := awaitAll(c, replies, p.cfg.ResolverTimeout); err != nil {
		return err
	}
	tooOld := make([]bool, len(b.txns))
	conflict := make([]bool, len(b.txns))
	reps := make([]*wire.ResolveTransactionBatchReply, len(replies))
	for i, f := range replies {
		rep, _ := f.Get()
		reps[i] = rep
		verdicts := rep.GetCommitted()
		if len(verdicts) != len(b.txns) {
			return fmt.Errorf("resolver %d: %d verdicts for %d transactions: %w", i, len(verdicts), len(b.txns), errResolverReply)
		}
		for j, v := range verdicts {
			switch v {
			case verdictCommitted:
			case verdictConflict:
				conflict[j] = true
			case verdictTooOld:
				tooOld[j] = true
			default:
				return fmt.Errorf("resolver %d: verdict %d: %w", i, v, errResolverReply)
			}
		}
	}
	b.state = combineState(reps)
	for j, t := range b.txns {
		switch {
		case t.err != nil:
		case tooOld[j]:
			t.err = kv.ErrTransactionTooOld
		case conflict[j]:
			t.err = kv.ErrNotCommitted
		}
	}
	return nil
}

// logRequest builds the batch's log push: the committed transactions'
// mutations in batch order, versionstamps substituted, tagged by the shard
// map (after applying the other proxies' state transactions before it and
// the batch's own \xff/keyServers/ changes, in order).
func (p *Proxy) logRequest(b *batch) *wire.TLogCommitRequest {
	p.applyOthersState(b.state)
	p.stateApplied = max(p.stateApplied, b.version)
	tags := newTagger()
	for i, t := range b.txns {
		if t.err != nil {
			continue
		}
		if err := p.lock.refuses(t.req.Msg); err != nil {
			t.err = err // locked by an earlier transaction of this batch or one before
			continue
		}
		stamp := Versionstamp(b.version, uint16(i))
		muts := make([]*wire.Mutation, 0, len(t.req.Msg.GetMutations()))
		for _, mu := range t.req.Msg.GetMutations() {
			out, err := substituteVersionstamp(mu, stamp)
			if err != nil {
				// Checked when the transaction arrived, so this is a bug;
				// refuse the transaction rather than write a bad key.
				t.err = err
				muts = nil
				break
			}
			muts = append(muts, out)
		}
		for _, mu := range muts {
			touched, err := p.shards.apply(mu)
			if touched && err != nil {
				p.env.Trace(flow.SevWarnAlw, "CommitProxyBadKeyServers", flow.D("Key", kv.Printable(mu.GetKey())), flow.D("Error", err.Error()))
			}
			p.lock.apply(mu)
			tags.add(p.shards, mu)
			if p.cfg.TagLockChanges && touchesLock(mu) {
				tags.byTag[kv.TxsTag] = append(tags.byTag[kv.TxsTag], mu)
			}
			if touched && err == nil {
				tags.removeShards(p.shards.removed)
			}
		}
	}
	return &wire.TLogCommitRequest{
		PrevVersion:           int64(b.prev),
		Version:               int64(b.version),
		KnownCommittedVersion: int64(p.knownCommitted),
		Messages:              tags.messages(),
	}
}

// awaitAll waits for every future, failing on the first error or when
// timeout passes.
func awaitAll[T any](c *flow.Ctx, fs []flow.Future[T], timeout time.Duration) error {
	deadline := c.Now().Add(timeout)
	for i, f := range fs {
		if _, err := flow.Timeout(c, f, deadline.Sub(c.Now())); err != nil {
			return fmt.Errorf("%d of %d: %w", i, len(fs), err)
		}
	}
	return nil
}

// retrying waits for first, the reply to req, and while the peer was only
// unreachable (request_maybe_delivered) sends req again once it is back,
// until timeout. Only for requests that are safe to repeat: the sequencer
// answers a repeated GetCommitVersion as it did the first time, and
// ReportCommitted takes a maximum. Retries back off from retryBackoff to
// maxRetryBackoff: a peer the failure monitor still counts as available
// while its connections fail at once (its process rebooting) made this
// loop spin, 39,000 retries in 6 s in one simulation.
func retrying[Req, Rep any](c *flow.Ctx, st flow.RequestStream[Req, Rep], req Req, first flow.Future[Rep], timeout time.Duration) (Rep, error) {
	deadline := c.Now().Add(timeout)
	f := first
	backoff := retryBackoff
	for {
		rep, err := flow.Timeout(c, f, deadline.Sub(c.Now()))
		if !errors.Is(err, flow.ErrRequestMaybeDelivered) {
			return rep, err
		}
		addr := st.Endpoint().Addr
		c.Trace(flow.SevWarn, "CommitProxyRetrying", flow.D("To", string(addr)))
		back := c.Spawn("CommitProxy.WaitAvailable", func(c *flow.Ctx) error { return c.WaitAvailable(c, addr) })
		_, serr := flow.Select(c, back.Done(), c.Delay(deadline.Sub(c.Now())))
		back.Cancel()
		if serr != nil {
			return rep, serr
		}
		if !back.Done().IsReady() || back.Done().Err() != nil {
			return rep, err
		}
		if err := c.Sleep(min(backoff, deadline.Sub(c.Now()))); err != nil {
			return rep, err
		}
		backoff = min(2*backoff, maxRetryBackoff)
		f = st.GetReply(c.Env, req)
	}
}

const (
	retryBackoff    = 10 * time.Millisecond
	maxRetryBackoff = time.Second
)
