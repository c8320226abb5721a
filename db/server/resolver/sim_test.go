package resolver_test

import (
	"testing"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/server/resolver/resolvertest"
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

func TestTwoProxiesOutOfOrder(t *testing.T) {
	test := resolvertest.TwoProxies()
	for _, seed := range []uint64{1, 2, 3, 42, 1 << 33} {
		for _, buggify := range []bool{false, true} {
			if r := sim.RunTest(test, seed, sim.Options{Buggify: buggify}); r.Err != nil {
				t.Errorf("%s\n%v\nreproduce: %s", r, r.Err, r.ReproduceCommand())
			}
		}
	}
}
