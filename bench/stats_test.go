package bench

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestStatsSurviveJSONAndMerge(t *testing.T) {
	a, b := NewStats(), NewStats()
	a.Elapsed, b.Elapsed = time.Second, 2*time.Second
	a.Transactions, b.Transactions = 3, 4
	for i := range 1000 {
		a.Latency(OpRead).Observe(time.Duration(i) * time.Microsecond)
		b.Latency(OpCommit).Observe(time.Duration(i) * time.Millisecond)
	}
	enc, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	var got Stats
	if err := json.Unmarshal(enc, &got); err != nil {
		t.Fatal(err)
	}
	for _, q := range []float64{0.5, 0.9, 0.99} {
		if g, w := got.Latency(OpCommit).Quantile(q), b.Latency(OpCommit).Quantile(q); g != w {
			t.Errorf("commit q%.2f after JSON = %v, want %v", q, g, w)
		}
	}
	a.Merge(&got)
	summary := map[string]any{
		"txns": a.Transactions, "elapsed": a.Elapsed, "reads": a.Count(OpRead), "commits": a.Count(OpCommit),
		"read p50": a.Latency(OpRead).Quantile(0.5) >= 499*time.Microsecond && a.Latency(OpRead).Quantile(0.5) <= 600*time.Microsecond,
	}
	want := map[string]any{"txns": uint64(7), "elapsed": 2 * time.Second, "reads": uint64(1000), "commits": uint64(1000), "read p50": true}
	if d := cmp.Diff(want, summary); d != "" {
		t.Errorf("merged stats (-want +got):\n%s", d)
	}
}

// Quantiles are upper bounds within 1.6% (flow.Histogram's are within 19%).
func TestQuantilesAreWithinTwoPercent(t *testing.T) {
	l := newLatencies()
	for i := 1; i <= 10_000; i++ {
		l.Observe(time.Duration(i) * time.Microsecond)
	}
	for _, q := range []float64{0.5, 0.9, 0.99} {
		exact := time.Duration(q*10_000) * time.Microsecond
		if got := l.Quantile(q); got < exact || float64(got) > 1.016*float64(exact) {
			t.Errorf("q%.2f = %v, want within [%v, +1.6%%]", q, got, exact)
		}
	}
	if got := l.Quantile(1); got != 10*time.Millisecond {
		t.Errorf("q1 = %v, want the maximum 10ms", got)
	}
}

func TestStatsRejectUnquantisedLatency(t *testing.T) {
	var s Stats
	if err := json.Unmarshal([]byte(`{"latencies":{"read":{"quantised_ns":{"1001":1},"max_ns":1001}}}`), &s); err == nil {
		t.Fatal("accepted a latency that no histogram bucket starts at")
	}
}

func TestOpsPerSecondCountsTheWorkloadsOperations(t *testing.T) {
	st := NewStats()
	st.Elapsed = 2 * time.Second
	st.Transactions = 10
	for range 90 {
		st.Latency(OpRead).Observe(time.Millisecond)
	}
	for range 10 {
		st.Latency(OpCommit).Observe(time.Millisecond)
	}
	got := map[Workload]float64{}
	for _, w := range []Workload{Workload9010, WorkloadWrite, WorkloadRead} {
		got[w] = w.OpsPerSecond(st)
	}
	want := map[Workload]float64{Workload9010: 50, WorkloadWrite: 5, WorkloadRead: 45}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ops/s (-want +got):\n%s", d)
	}
}

func TestKeysAndValuesHaveFDBsBenchmarkSizes(t *testing.T) {
	if n := len(Key(123456)); n != 16 {
		t.Errorf("key is %d bytes, want 16", n)
	}
	if _, err := ParseWorkload("90-10"); err != nil {
		t.Error(err)
	}
	if _, err := ParseWorkload("90/10"); err == nil {
		t.Error("accepted an unknown workload")
	}
}

func TestReadMemoryOfThisProcess(t *testing.T) {
	m, err := ReadMemory(os.Getpid())
	if err != nil {
		t.Skip("no /proc here:", err)
	}
	if m.RSS <= 0 || m.Peak < m.RSS {
		t.Errorf("memory %+v", m)
	}
}

func TestCommas(t *testing.T) {
	got := []string{commas(0), commas(999), commas(1000), commas(1234567.4), commas(-1234)}
	want := []string{"0", "999", "1,000", "1,234,567", "-1,234"}
	if d := cmp.Diff(want, got); d != "" {
		t.Error(d)
	}
}

func TestReportTextShowsEveryPhaseAndOperation(t *testing.T) {
	st := NewStats()
	st.Elapsed = time.Second
	st.Transactions = 100
	for range 100 {
		st.Latency(OpGRV).Observe(300 * time.Microsecond)
		st.Latency(OpCommit).Observe(2 * time.Millisecond)
	}
	st.RetriesBy["not_committed"] = 3
	rep := &Report{Server: "127.0.0.1:1", Keys: 1000, Clients: 10, Processes: 1, Duration: time.Second,
		Pebble: &PebbleResult{WritesPerSecond: 1000}}
	rep.Results = append(rep.Results, newResult(WorkloadWrite, "peak, 10 clients", 0,
		PhaseResult{Stats: st, ServerCPU: 10 * time.Millisecond}, rep.Pebble.WritesPerSecond))
	var b strings.Builder
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"1,000 synced single-key batches/s", "peak, 10 clients", "0.10", "100.0µs", "10,000",
		"not_committed 3", "grv", "0.300ms", "commit", "2.000ms"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}
