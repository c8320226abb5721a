package resolver

import (
	"fmt"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/server/resolver/conflict"
	"github.com/strata-db/strata/db/wire"
)

// Config is what a resolver is started with.
type Config struct {
	// ID names the resolver in its interface and traces.
	ID string
	// Keys is the part of the keyspace this resolver owns; conflict ranges
	// are clipped to it. A nil End means "to the end of the keyspace", so
	// the zero value owns every key.
	Keys kv.KeyRange
	// InitialVersion is the version before the first batch: the first
	// batch resolved is the one whose prev_version is InitialVersion.
	InitialVersion kv.Version
	// RecentReplies bounds how many replies are kept for retried batches
	// (besides the MVCC window); 0 means DefaultRecentReplies.
	RecentReplies int
}

// DefaultRecentReplies is Config.RecentReplies' default: about a second of
// batches at a millisecond apart.
const DefaultRecentReplies = 1000

// Metric names, in env.Metrics().
const (
	MetricBatches      = "resolver.batches"      // batches resolved
	MetricTransactions = "resolver.transactions" // transactions resolved
	MetricConflicts    = "resolver.conflicts"    // transactions that conflicted
	MetricTooOld       = "resolver.too_old"      // transactions too old to check
	MetricDuplicates   = "resolver.duplicates"   // retried batches answered from the cache
	MetricMalformed    = "resolver.malformed"    // batches rejected
	MetricResolveTime  = "resolver.resolve_time" // time to resolve one batch
)

// Resolver is a running resolver role.
type Resolver struct {
	env      *flow.Env
	cfg      Config
	set      *conflict.Set
	listener *flow.Listener[*wire.ResolveTransactionBatchRequest, *wire.ResolveTransactionBatchReply]
	chain    versionChain
	replies  *recentReplies
	state    stateLog
	serve    *flow.Actor
	stopped  bool
}

// New starts a resolver on env, listening on a fresh dynamic token.
func New(env *flow.Env, cfg Config) *Resolver {
	if cfg.RecentReplies <= 0 {
		cfg.RecentReplies = DefaultRecentReplies
	}
	r := &Resolver{
		env: env,
		cfg: cfg,
		set: conflict.New(),
		listener: flow.Listen(env, 0,
			flow.ProtoCodec[*wire.ResolveTransactionBatchRequest](),
			flow.ProtoCodec[*wire.ResolveTransactionBatchReply]()),
		chain:   versionChain{version: cfg.InitialVersion},
		replies: newRecentReplies(cfg.RecentReplies, cfg.InitialVersion),
	}
	r.serve = env.Spawn("Resolver.serve", r.serveRequests)
	env.Trace(flow.SevInfo, "ResolverStarted", flow.D("ID", cfg.ID), flow.D("Keys", cfg.Keys.String()),
		flow.D("InitialVersion", cfg.InitialVersion))
	return r
}

// Interface returns the resolver's interface, to publish to proxies.
func (r *Resolver) Interface() *wire.ResolverInterface {
	ep := r.listener.Stream().Endpoint()
	return &wire.ResolverInterface{Address: string(ep.Addr), Id: r.cfg.ID, Resolve: ep.Token}
}

// Version returns the version of the last batch resolved.
func (r *Resolver) Version() kv.Version { return r.chain.version }

// Stop stops serving: queued and waiting batches fail with broken_promise.
func (r *Resolver) Stop() {
	if r.stopped {
		return
	}
	r.stopped = true
	r.serve.Cancel()
	r.listener.Close()
	r.chain.fail(flow.ErrBrokenPromise)
}

// Done is ready once the resolver has stopped serving.
func (r *Resolver) Done() flow.Future[struct{}] { return r.serve.Done() }

type request = *flow.Request[*wire.ResolveTransactionBatchRequest, *wire.ResolveTransactionBatchReply]

// serveRequests answers batches that can be answered now and leaves the
// others to wait, each in its own actor, for their turn in the chain.
func (r *Resolver) serveRequests(c *flow.Ctx) error {
	for {
		req, err := r.listener.Requests().Next(c)
		if err != nil {
			return err
		}
		if err := validate(req.Msg); err != nil {
			req.Fail(r.malformed(req, err))
			continue
		}
		if kv.Version(req.Msg.PrevVersion) > r.chain.version {
			r.env.Spawn("Resolver.waitForPrev", func(c *flow.Ctx) error { return r.waitThenAnswer(c, req) })
			continue
		}
		r.answer(req)
	}
}

// waitThenAnswer waits until the batch before req has been resolved.
func (r *Resolver) waitThenAnswer(c *flow.Ctx, req request) error {
	if _, err := flow.Await(c, r.chain.whenAtLeast(kv.Version(req.Msg.PrevVersion))); err != nil {
		req.Fail(err)
		return nil
	}
	r.answer(req)
	return nil
}

// answer handles a batch whose prev_version has been reached: it resolves
// it if it is next in the chain, or replays the reply of a batch already
// resolved.
func (r *Resolver) answer(req request) {
	prev, v := kv.Version(req.Msg.PrevVersion), kv.Version(req.Msg.Version)
	switch {
	case prev == r.chain.version:
		r.resolve(req)
	case v <= r.chain.version:
		r.answerDuplicate(req)
	default:
		req.Fail(r.malformed(req, fmt.Errorf("resolver: batch (%d, %d) does not chain: version %d already resolved: %w",
			prev, v, r.chain.version, flow.ErrMalformedRequest)))
	}
}

func (r *Resolver) resolve(req request) {
	prev, v := kv.Version(req.Msg.PrevVersion), kv.Version(req.Msg.Version)
	state, err := r.state.since(req.Msg.ProxyId, kv.Version(req.Msg.LastReceivedVersion), v)
	if err != nil {
		// Not resolved: the batch stays out of the chain, and the proxy
		// ends the generation.
		r.env.Trace(flow.SevWarnAlw, "ResolverStateForgotten", flow.D("Proxy", req.Msg.ProxyId),
			flow.D("LastReceived", req.Msg.LastReceivedVersion), flow.D("Forgotten", r.state.forgotten))
		req.Fail(err)
		return
	}
	start := r.env.Now()
	batch := clip(req.Msg, r.cfg.Keys)
	// Reads older than the window, or older than this resolver's first
	// version, are too old: a resolver of a new generation knows no write
	// from before it, so it cannot detect conflicts with them.
	results := r.set.Resolve(batch.txns, v, max(r.cfg.InitialVersion, v-kv.MVCCWindow))
	reply := batch.reply(req.Msg, results)
	reply.StateTransactions = state
	r.state.record(req.Msg, reply.Committed)
	r.record(results, r.env.Now().Sub(start))
	r.replies.add(prev, v, reply)
	r.chain.advance(v)
	req.Reply(reply)
}

func (r *Resolver) record(results []conflict.Result, took time.Duration) {
	m := r.env.Metrics()
	m.Counter(MetricBatches).Inc()
	m.Counter(MetricTransactions).Add(uint64(len(results)))
	for _, res := range results {
		switch res.Outcome {
		case conflict.Conflict:
			m.Counter(MetricConflicts).Inc()
		case conflict.TooOld:
			m.Counter(MetricTooOld).Inc()
		}
	}
	m.Histogram(MetricResolveTime).Observe(took)
}

// answerDuplicate replays the reply of a batch resolved before: a proxy's
// retry must not see a different outcome than the one already applied.
func (r *Resolver) answerDuplicate(req request) {
	prev, v := kv.Version(req.Msg.PrevVersion), kv.Version(req.Msg.Version)
	cached, ok := r.replies.get(v)
	switch {
	case !ok && v > r.replies.evicted:
		// Every batch after the last forgotten one is kept: v was never
		// part of the chain.
		req.Fail(r.malformed(req, fmt.Errorf("resolver: batch (%d, %d) is not in the resolved chain, now at %d: %w",
			prev, v, r.chain.version, flow.ErrMalformedRequest)))
	case !ok:
		// The batch was resolved (its writes are in the conflict set), but
		// what the resolver said is forgotten, so the outcome is unknown.
		err := fmt.Errorf("resolver: batch %d resolved long ago, its reply is no longer kept: %w", v, kv.ErrCommitUnknownResult)
		r.env.Trace(flow.SevWarn, "ResolverReplyForgotten", flow.D("Version", v), flow.D("From", req.From))
		req.Fail(err)
	case cached.prev != prev:
		req.Fail(r.malformed(req, fmt.Errorf("resolver: batch (%d, %d) conflicts with the resolved batch (%d, %d): %w",
			prev, v, cached.prev, v, flow.ErrMalformedRequest)))
	case len(cached.reply.Committed) != len(req.Msg.Transactions):
		req.Fail(r.malformed(req, fmt.Errorf("resolver: batch %d resent with %d transactions, resolved with %d: %w",
			v, len(req.Msg.Transactions), len(cached.reply.Committed), flow.ErrMalformedRequest)))
	default:
		r.env.Metrics().Counter(MetricDuplicates).Inc()
		req.Reply(cached.reply)
	}
}

// malformed counts and traces a rejected batch and returns err.
func (r *Resolver) malformed(req request, err error) error {
	r.env.Metrics().Counter(MetricMalformed).Inc()
	r.env.Trace(flow.SevWarn, "ResolverMalformedBatch", flow.D("From", req.From), flow.D("Error", err.Error()))
	return err
}
