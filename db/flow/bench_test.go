package flow_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/wire"
	"github.com/strata-db/strata/db/workloads"
	"github.com/strata-db/strata/test/testserver"
)

// benchServer starts the echo server as a separate OS process and waits
// until it answers.
func benchServer(b *testing.B) (*flow.RealProcess, flow.Address) {
	b.Helper()
	addr := testserver.FreeAddress(b)
	startEchoServer(b, addr)
	client := startClient(b, flow.Knobs{})
	if err := runActor(b, client, 20*time.Second, func(c *flow.Ctx) error {
		return echoUntilOK(c, flow.Address(addr), 0)
	}); err != nil {
		b.Fatal(err)
	}
	return client, flow.Address(addr)
}

// BenchmarkTCPPipelined measures request/reply round trips per second
// between two processes on loopback with many requests in flight.
func BenchmarkTCPPipelined(b *testing.B) {
	client, server := benchServer(b)
	const inFlight = 256
	var next atomic.Int64
	b.ResetTimer()
	start := time.Now()
	err := runActor(b, client, 10*time.Minute, func(c *flow.Ctx) error {
		stream := workloads.EchoStream(server)
		workers := make([]flow.Future[struct{}], inFlight)
		for w := range workers {
			workers[w] = c.Spawn("pipeline", func(c *flow.Ctx) error {
				req := &wire.EchoRequest{Payload: make([]byte, 16), From: "bench"}
				for next.Add(1) <= int64(b.N) {
					if _, err := flow.Await(c, stream.GetReply(c.Env, req)); err != nil {
						return err
					}
				}
				return nil
			}).Done()
		}
		_, err := flow.WaitAll(c, workers)
		return err
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "roundtrips/s")
}

// BenchmarkTCPLatency measures one outstanding request at a time and
// reports p50 and p99 round-trip latency.
func BenchmarkTCPLatency(b *testing.B) {
	client, server := benchServer(b)
	var h flow.Histogram
	b.ResetTimer()
	err := runActor(b, client, 10*time.Minute, func(c *flow.Ctx) error {
		stream := workloads.EchoStream(server)
		req := &wire.EchoRequest{Payload: make([]byte, 16), From: "bench"}
		for range b.N {
			start := c.Now()
			if _, err := flow.Await(c, stream.GetReply(c.Env, req)); err != nil {
				return err
			}
			h.Observe(c.Now().Sub(start))
		}
		return nil
	})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(h.Quantile(0.5).Microseconds()), "p50-µs")
	b.ReportMetric(float64(h.Quantile(0.99).Microseconds()), "p99-µs")
}
