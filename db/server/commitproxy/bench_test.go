package commitproxy_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/strata-db/strata/db/flow"
)

// BenchmarkSimulatedCommits runs b.N transactions (read version, then a
// blind write) from 32 concurrent clients through a simulated sequencer,
// GRV proxy, commit proxy, two fake resolvers and two fake logs (fsync up
// to 1ms): the wall-clock CPU cost per transaction of the whole pipeline
// under the simulator, plus the simulated commit latency and batch size.
func BenchmarkSimulatedCommits(b *testing.B) {
	cl := newCluster(b, 1, time.Millisecond, nil)
	const clients = 32
	var bodies []func(c *flow.Ctx) error
	for w := range clients {
		n := b.N / clients
		if w < b.N%clients {
			n++
		}
		bodies = append(bodies, func(c *flow.Ctx) error {
			for i := range n {
				rv, err := cl.readVersion(c)
				if err != nil {
					return err
				}
				req := set(fmt.Sprintf("k%02d-%08d", w, i), "value-0123456789")
				req.ReadVersion = rv
				if _, err := flow.Await(c, cl.commit(req)); err != nil {
					return err
				}
			}
			return nil
		})
	}
	b.ResetTimer()
	var actors []*flow.Actor
	for _, body := range bodies {
		actors = append(actors, cl.client.Spawn("driver", body))
	}
	cl.s.Run(time.Hour, func() bool {
		for _, a := range actors {
			if !a.Done().IsReady() {
				return false
			}
		}
		return true
	})
	b.StopTimer()
	for _, a := range actors {
		if err := a.Done().Err(); err != nil || !a.Done().IsReady() {
			b.Fatalf("driver: %v", err)
		}
	}
	m := cl.proxyProc.Env().Metrics()
	h := m.Histogram("commitproxy.latency")
	b.ReportMetric(float64(h.Quantile(0.5).Microseconds()), "sim-p50-µs")
	b.ReportMetric(float64(h.Quantile(0.99).Microseconds()), "sim-p99-µs")
	b.ReportMetric(float64(m.Counter("commitproxy.committed").Value())/float64(max(1, m.Counter("commitproxy.batches").Value())), "txns/batch")
}
