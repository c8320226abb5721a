package resolver_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/server/resolver"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/wire"
)

var (
	requestCodec = flow.ProtoCodec[*wire.ResolveTransactionBatchRequest]()
	replyCodec   = flow.ProtoCodec[*wire.ResolveTransactionBatchReply]()
)

func resolveStream(ri *wire.ResolverInterface) flow.RequestStream[*wire.ResolveTransactionBatchRequest, *wire.ResolveTransactionBatchReply] {
	return flow.NewRequestStream(flow.Endpoint{Addr: flow.Address(ri.Address), Token: ri.Resolve}, requestCodec, replyCodec)
}

// model is a brute-force resolver: every write it ever accepted, scanned in
// full, with the owned range applied to each intersection.
type model struct {
	owned kv.KeyRange
	// initial is the resolver's first version: reads before it are too
	// old, since a new generation knows no earlier write.
	initial kv.Version
	writes  []struct {
		r kv.KeyRange
		v kv.Version
	}
	conflicts, tooOld uint64
}

// meets reports whether a, b and the owned range share a key.
func (m *model) meets(a, b kv.KeyRange) bool {
	begin := maxKey(maxKey(a.Begin, b.Begin), m.owned.Begin)
	end := minKey(a.End, b.End)
	if m.owned.End != nil {
		end = minKey(end, m.owned.End)
	}
	return bytes.Compare(begin, end) < 0
}

func maxKey(a, b []byte) []byte {
	if bytes.Compare(a, b) > 0 {
		return a
	}
	return b
}

func minKey(a, b []byte) []byte {
	if bytes.Compare(a, b) < 0 {
		return a
	}
	return b
}

func wireRange(r *wire.KeyRange) kv.KeyRange { return kv.KeyRange{Begin: r.Begin, End: r.End} }

func (m *model) resolve(req *wire.ResolveTransactionBatchRequest) *wire.ResolveTransactionBatchReply {
	v := kv.Version(req.Version)
	oldest := max(m.initial, v-kv.MVCCWindow)
	all := kv.KeyRange{Begin: nil, End: []byte{0xff, 0xff}}
	rep := &wire.ResolveTransactionBatchReply{}
	for _, tx := range req.Transactions {
		rv := kv.Version(tx.ReadVersion)
		readsOwned := false
		var bad []uint32
		for j, r := range tx.ReadConflictRanges {
			readsOwned = readsOwned || m.meets(wireRange(r), all)
			for _, w := range m.writes {
				if w.v > rv && m.meets(wireRange(r), w.r) {
					bad = append(bad, uint32(j))
					break
				}
			}
		}
		cr := &wire.ConflictingRanges{}
		switch {
		case rv < oldest && readsOwned:
			rep.Committed = append(rep.Committed, 2)
			m.tooOld++
		case bad != nil:
			rep.Committed = append(rep.Committed, 0)
			m.conflicts++
			if tx.ReportConflictingKeys {
				cr.Indexes = bad
			}
		default:
			rep.Committed = append(rep.Committed, 1)
			for _, w := range tx.WriteConflictRanges {
				m.writes = append(m.writes, struct {
					r kv.KeyRange
					v kv.Version
				}{wireRange(w), v})
			}
		}
		rep.Conflicting = append(rep.Conflicting, cr)
	}
	return rep
}

// randomKey draws from five letters, so that ranges of different
// transactions overlap often, and the owned range [b, d) cuts through them.
func randomKey(rng *rand.Rand) []byte {
	k := []byte{"abcde"[rng.IntN(5)]}
	if rng.IntN(2) == 0 {
		k = append(k, "abcde"[rng.IntN(5)])
	}
	return k
}

func randomRange(rng *rand.Rand) *wire.KeyRange {
	a, b := randomKey(rng), randomKey(rng)
	switch {
	case rng.IntN(3) == 0:
		return &wire.KeyRange{Begin: a, End: kv.KeyAfter(a)}
	case bytes.Compare(a, b) > 0:
		return &wire.KeyRange{Begin: b, End: a}
	default:
		return &wire.KeyRange{Begin: a, End: b} // possibly empty
	}
}

// randomChain builds n batches chained from initial. Versions advance by up
// to 2 s, so the 5 s window covers a few batches and older read versions
// are too old.
func randomChain(rng *rand.Rand, n int, initial kv.Version) []*wire.ResolveTransactionBatchRequest {
	var out []*wire.ResolveTransactionBatchRequest
	prev := initial
	for i := range n {
		v := prev + 1 + kv.Version(rng.Int64N(int64(2*kv.VersionsPerSecond)))
		req := &wire.ResolveTransactionBatchRequest{PrevVersion: int64(prev), Version: int64(v), ProxyId: fmt.Sprint("proxy", i%2)}
		for range rng.IntN(6) {
			tx := &wire.ResolverTransaction{
				ReadVersion:           max(0, int64(prev)-rng.Int64N(int64(7*kv.VersionsPerSecond))),
				ReportConflictingKeys: rng.IntN(2) == 0,
			}
			for range rng.IntN(4) {
				tx.ReadConflictRanges = append(tx.ReadConflictRanges, randomRange(rng))
			}
			for range rng.IntN(3) {
				tx.WriteConflictRanges = append(tx.WriteConflictRanges, randomRange(rng))
			}
			req.Transactions = append(req.Transactions, tx)
		}
		out = append(out, req)
		prev = v
	}
	return out
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

// twoProxies is the resolver's main simulation: two proxies send a chain of
// batches interleaved, out of order and partly twice, over a clogging
// network. The first batch of the chain is held back until every other
// batch has been sent, and nothing may be resolved before it arrives; then
// every reply must equal the brute-force model's, resolving in version
// order, and the metrics must count what the model counted.
var twoProxies = sim.Test{
	Name: "resolver-two-proxies",
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

func TestTwoProxiesOutOfOrder(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 42, 1 << 33} {
		for _, buggify := range []bool{false, true} {
			if r := sim.RunTest(twoProxies, seed, sim.Options{Buggify: buggify}); r.Err != nil {
				t.Errorf("%s\n%v\nreproduce: %s", r, r.Err, r.ReproduceCommand())
			}
		}
	}
}
