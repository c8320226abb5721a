package grvproxy_test

import (
	"testing"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/server/grvproxy"
)

// BenchmarkSimulatedReadVersions gets b.N read versions from 64 concurrent
// clients through a simulated GRV proxy and sequencer: the wall-clock CPU
// cost per request under the simulator, plus the simulated latency and the
// batch size reached.
func BenchmarkSimulatedReadVersions(b *testing.B) {
	cl := newCluster(b, 1, grvproxy.Config{})
	const clients = 64
	var bodies []func(c *flow.Ctx) error
	for w := range clients {
		n := b.N / clients
		if w < b.N%clients {
			n++
		}
		bodies = append(bodies, func(c *flow.Ctx) error {
			for range n {
				if _, err := flow.Await(c, cl.grvRequest(grvproxy.PriorityDefault)); err != nil {
					return err
				}
			}
			return nil
		})
	}
	b.ResetTimer()
	cl.run(b, time.Hour, bodies...)
	b.StopTimer()
	m := cl.proxyProc.Env().Metrics()
	h := m.Histogram("grvproxy.latency")
	b.ReportMetric(float64(h.Quantile(0.5).Microseconds()), "sim-p50-µs")
	b.ReportMetric(float64(h.Quantile(0.99).Microseconds()), "sim-p99-µs")
	b.ReportMetric(float64(m.Counter("grvproxy.requests").Value())/float64(max(1, m.Counter("grvproxy.batches").Value())), "reqs/batch")
}
