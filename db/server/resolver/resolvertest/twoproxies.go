package resolvertest

import (
	"fmt"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/server/resolver"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/wire"
)

func resolveStream(ri *wire.ResolverInterface) flow.RequestStream[*wire.ResolveTransactionBatchRequest, *wire.ResolveTransactionBatchReply] {
	return flow.NewRequestStream(flow.Endpoint{Addr: flow.Address(ri.Address), Token: ri.Resolve},
		flow.ProtoCodec[*wire.ResolveTransactionBatchRequest](), flow.ProtoCodec[*wire.ResolveTransactionBatchReply]())
}

// sent is one request a proxy sent and its reply.
type sent struct {
	batch int
	reply flow.Future[*wire.ResolveTransactionBatchReply]
}

// proxy is one simulated commit proxy's part of the chain.
type proxy struct {
	mine        []int                  // indexes of its batches
	out         []sent                 // what it sent, in order
	doneSending flow.Promise[struct{}] // sent all of mine and the retries
	hold        bool                   // it also owns batch 0, sent on release
	release     flow.Promise[struct{}]
}

// proxyActor sends its batches in a random order with random pauses, and
// resends some of them later, as a proxy retrying would. A proxy holding
// the first batch sends it when released.
func proxyActor(ri *wire.ResolverInterface, chain []*wire.ResolveTransactionBatchRequest, px *proxy) func(c *flow.Ctx) error {
	mine, out, doneSending := px.mine, &px.out, px.doneSending
	return func(c *flow.Ctx) error {
		stream := resolveStream(ri)
		rng := c.Rand()
		rng.Shuffle(len(mine), func(i, j int) { mine[i], mine[j] = mine[j], mine[i] })
		var retries []int
		for _, b := range mine {
			*out = append(*out, sent{b, stream.GetReply(c.Env, chain[b])})
			if rng.IntN(6) == 0 {
				retries = append(retries, b)
			}
			if err := c.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond); err != nil {
				return err
			}
		}
		for _, b := range retries {
			*out = append(*out, sent{b, stream.GetReply(c.Env, chain[b])})
		}
		doneSending.Send(struct{}{})
		if !px.hold {
			return nil
		}
		if _, err := flow.Await(c, px.release.Future()); err != nil {
			return err
		}
		*out = append(*out, sent{0, stream.GetReply(c.Env, chain[0])})
		return nil
	}
}

// TwoProxies is the resolver's main simulation: two proxies send a chain of
// batches interleaved, out of order and partly twice, over a clogging
// network. The first batch of the chain is held back until every other
// batch has been sent, and nothing may be resolved before it arrives; then
// every reply must equal the brute-force model's, resolving in version
// order, and the metrics must count what the model counted.
func TwoProxies() sim.Test {
	return sim.Test{
		Name:        "resolver-two-proxies",
		Description: "two proxies send a resolver batches out of order and twice; replies must match a brute-force model",
		Run: func(s *sim.Simulation) error {
			const initial = kv.Version(1_000_000)
			owned := kv.KeyRange{Begin: []byte("b"), End: []byte("d")}
			var res *resolver.Resolver
			var resEnv *flow.Env
			rp := s.AddProcess(s.AddMachine(flow.Locality{}), 4500, func(e *flow.Env) {
				resEnv = e
				res = resolver.New(e, resolver.Config{ID: "r0", Keys: owned, InitialVersion: initial})
			})
			chain := randomChain(s.Rand(), 60, initial)
			var mine [2][]int
			for b := 1; b < len(chain); b++ {
				p := s.Rand().IntN(2)
				mine[p] = append(mine[p], b)
			}
			var proxies [2]*proxy
			var proxyAddrs []flow.Address
			for p := range proxies {
				px := &proxy{mine: mine[p], doneSending: flow.NewPromise[struct{}](), hold: p == 0, release: flow.NewPromise[struct{}]()}
				proxies[p] = px
				pp := s.AddProcess(s.AddMachine(flow.Locality{}), 4500, func(e *flow.Env) {
					e.Spawn("proxy", proxyActor(res.Interface(), chain, px))
				})
				proxyAddrs = append(proxyAddrs, pp.Addr)
			}
			var runErr error
			driver := s.Controller().Spawn("driver", func(c *flow.Ctx) error {
				runErr = drive(c, res, chain, proxies)
				return nil
			})
			s.Controller().Spawn("clog", func(c *flow.Ctx) error {
				return s.RandomClogging(c, s.Now().Add(5*time.Second), sim.ClogOptions{
					Targets: append(proxyAddrs, rp.Addr), MeanInterval: 300 * time.Millisecond, MaxClog: 200 * time.Millisecond})
			})
			if !s.Run(5*time.Minute, func() bool { return driver.Done().IsReady() }) {
				return fmt.Errorf("driver did not finish")
			}
			if runErr != nil {
				return runErr
			}
			return checkMetrics(resEnv.Metrics(), chain, proxies)
		},
	}
}

func drive(c *flow.Ctx, res *resolver.Resolver, chain []*wire.ResolveTransactionBatchRequest, proxies [2]*proxy) error {
	for _, px := range proxies {
		if _, err := flow.Await(c, px.doneSending.Future()); err != nil {
			return err
		}
	}
	// Everything but the first batch is in flight or waiting.
	if err := c.Sleep(2 * time.Second); err != nil {
		return err
	}
	if v := res.Version(); v != kv.Version(chain[0].PrevVersion) {
		return fmt.Errorf("resolver reached version %d before the first batch of the chain was sent", v)
	}
	for _, px := range proxies {
		for _, x := range px.out {
			if x.reply.IsReady() {
				return fmt.Errorf("batch %d answered before its predecessors were resolved: %v", x.batch, x.reply.Err())
			}
		}
	}
	proxies[0].release.Send(struct{}{})
	if err := c.Yield(); err != nil { // let the proxy send it
		return err
	}

	m := &model{owned: kv.KeyRange{Begin: []byte("b"), End: []byte("d")}, initial: kv.Version(chain[0].PrevVersion)}
	want := make([]*wire.ResolveTransactionBatchReply, len(chain))
	for i, req := range chain {
		want[i] = m.resolve(req)
	}
	checked := map[int]bool{}
	for _, px := range proxies {
		for _, x := range px.out {
			checked[x.batch] = true
			got, err := flow.Timeout(c, x.reply, time.Minute)
			if err != nil {
				return fmt.Errorf("batch %d (version %d, prev %d), resolver at %d: %w", x.batch, chain[x.batch].Version, chain[x.batch].PrevVersion, res.Version(), err)
			}
			if diff := cmp.Diff(want[x.batch], got, protocmp.Transform()); diff != "" {
				return fmt.Errorf("batch %d (version %d): reply differs from the model (-want +got):\n%s", x.batch, chain[x.batch].Version, diff)
			}
		}
	}
	if len(checked) != len(chain) {
		return fmt.Errorf("checked the replies of %d batches of %d", len(checked), len(chain))
	}
	if v := res.Version(); v != kv.Version(chain[len(chain)-1].Version) {
		return fmt.Errorf("resolver at version %d after the chain, want %d", v, chain[len(chain)-1].Version)
	}
	return nil
}

// checkMetrics compares the resolver's counters with a fresh model run.
func checkMetrics(mt *flow.Metrics, chain []*wire.ResolveTransactionBatchRequest, proxies [2]*proxy) error {
	m := &model{owned: kv.KeyRange{Begin: []byte("b"), End: []byte("d")}, initial: kv.Version(chain[0].PrevVersion)}
	txns := 0
	for _, req := range chain {
		m.resolve(req)
		txns += len(req.Transactions)
	}
	want := map[string]uint64{
		resolver.MetricBatches:      uint64(len(chain)),
		resolver.MetricTransactions: uint64(txns),
		resolver.MetricConflicts:    m.conflicts,
		resolver.MetricTooOld:       m.tooOld,
		resolver.MetricDuplicates:   uint64(len(proxies[0].out) + len(proxies[1].out) - len(chain)),
		resolver.MetricMalformed:    0,
	}
	got := map[string]uint64{}
	for name := range want {
		got[name] = mt.Counter(name).Value()
	}
	if diff := cmp.Diff(want, got); diff != "" {
		return fmt.Errorf("metrics differ (-want +got):\n%s", diff)
	}
	if n := mt.Histogram(resolver.MetricResolveTime).Count(); n != uint64(len(chain)) {
		return fmt.Errorf("resolve time observed %d times for %d batches", n, len(chain))
	}
	return nil
}
