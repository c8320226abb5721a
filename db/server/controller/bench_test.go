package controller

import (
	"fmt"
	"testing"

	"github.com/strata-db/strata/db/clusterfile"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/server/coordinator"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/wire"
)

// BenchmarkStatusJSON builds the status document of a 1,000-process
// cluster, every process with a storage role's metrics.
func BenchmarkStatusJSON(b *testing.B) {
	s := sim.New(1, sim.Options{})
	p := s.AddProcess(s.AddMachine(flow.Locality{}), 4500, func(*flow.Env) {})
	co, err := clusterfile.ParseCoordinator(string(p.Addr))
	if err != nil {
		b.Fatal(err)
	}
	conn := coordinator.Conn{File: clusterfile.ClusterFile{Description: "bench", ID: "abc", Coordinators: []clusterfile.Coordinator{co}}}
	cc, err := newController(p.Env(), Config{Conn: conn, Report: func() *wire.WorkerReport { return nil }}, 1)
	if err != nil {
		b.Fatal(err)
	}
	for i := range 1000 {
		rep := &wire.WorkerReport{
			Address: fmt.Sprintf("10.1.%d.%d:4500", i/250, i%250+1), ProcessId: fmt.Sprint(i), ClassType: "storage",
			Locality: map[string]string{"zoneid": fmt.Sprint(i % 5), "machineid": fmt.Sprint(i / 4)},
			Release:  "0.1.0", Roles: []string{"storage"},
			Metrics: &wire.WorkerMetrics{CpuSeconds: 1, RssBytes: 1 << 30, UptimeSeconds: 100,
				Storage: &wire.StorageMetrics{Version: 10, DurableVersion: 5, KvBytes: 1 << 30, Up: true}},
		}
		if err := cc.register(rep); err != nil {
			b.Fatal(err)
		}
	}
	var size int
	for b.Loop() {
		doc, err := cc.StatusJSON()
		if err != nil {
			b.Fatal(err)
		}
		size = len(doc)
	}
	b.ReportMetric(float64(size), "bytes/doc")
}
