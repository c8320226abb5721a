package ratekeeper_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/server/grvproxy"
	"github.com/strata-db/strata/db/server/ratekeeper"
	"github.com/strata-db/strata/db/server/sequencer"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/wire"
)

// TestGrvProxyFollowsTheLimit closes the loop through the real roles: a
// GRV proxy polling the ratekeeper, clients asking it for read versions,
// and a storage server (modelled) whose queue grows with every read
// version handed out and drains at a set capacity.
func TestGrvProxyFollowsTheLimit(t *testing.T) {
	runSim(t, 21, func(s *sim.Simulation) error {
		knobs := ratekeeper.Knobs{Default: ratekeeper.Targets{StorageTargetBytes: 5e6, StorageSpringBytes: 1e6},
			Batch: ratekeeper.Targets{StorageTargetBytes: 3e6, StorageSpringBytes: 1e6}}
		r := newRig(t, s, knobs, ratekeeper.Queue{ID: "ss-1", Kind: ratekeeper.StorageServer, Version: 10_000_000, DurableVersion: 4_500_000})
		served := &fakeProxy{} // counts the read versions the clients got
		pl := &storagePlant{p: served, q: &r.src.queues[0], bytesPerTxn: 100, drain: 1e6}
		r.src.step = pl.step

		var seq *wire.SequencerInterface
		s.AddProcess(s.AddMachine(flow.Locality{}), 1, func(e *flow.Env) {
			sq, err := sequencer.New(e, sequencer.Config{ID: "seq"})
			if err != nil {
				t.Fatal(err)
			}
			seq = sq.Interface()
		})
		var grv *wire.GrvProxyInterface
		s.AddProcess(s.AddMachine(flow.Locality{}), 1, func(e *flow.Env) {
			p, err := grvproxy.New(e, grvproxy.Config{ID: "grv", Sequencer: seq, Ratekeeper: r.rk.Interface()})
			if err != nil {
				t.Fatal(err)
			}
			grv = p.Interface()
		})
		st := flow.NewRequestStream(flow.Endpoint{Addr: flow.Address(grv.Address), Token: grv.GetReadVersion},
			flow.ProtoCodec[*wire.GetReadVersionRequest](), flow.ProtoCodec[*wire.GetReadVersionReply]())
		// 20 clients, each pausing 10 ms between read versions.
		for range 20 {
			r.client.Spawn("Client", func(c *flow.Ctx) error {
				for {
					if _, err := flow.Await(c, st.GetReply(c.Env, &wire.GetReadVersionRequest{TransactionCount: 1})); err != nil {
						return err
					}
					served.released++
					if err := c.Sleep(10 * time.Millisecond); err != nil {
						return err
					}
				}
			})
		}
		rate := func(d time.Duration) float64 {
			before := served.released
			r.during(d, nil)
			return (served.released - before) / d.Seconds()
		}
		// Unthrottled the clients get what the round trips allow.
		free := rate(10 * time.Second)
		if free < 1000 {
			return fmt.Errorf("%.0f read versions a second unthrottled", free)
		}
		// The storage server now drains 500 transactions' worth a second.
		pl.drain = 50e3
		r.during(90*time.Second, nil)
		got := rate(20 * time.Second)
		normal, _ := r.rk.Limits()
		if got < 400 || got > 600 || normal.Reason != ratekeeper.StorageWriteQueue || normal.ServerID != "ss-1" {
			return fmt.Errorf("%.0f read versions a second with capacity for 500; limit %+v", got, normal)
		}
		if pl.queue > 7e6 {
			return fmt.Errorf("queue %.0f B, target 5e6", pl.queue)
		}
		pl.drain = 1e6
		r.during(30*time.Second, nil)
		if got := rate(5 * time.Second); got < 0.95*free {
			return fmt.Errorf("%.0f read versions a second after the queue drained, %.0f before", got, free)
		}
		return nil
	})
}
