package main

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/strata-db/strata/bench"
)

// TestBenchSmoke runs `strata bench` for 2 s per phase against a server of
// its own, with two worker processes, and checks the report measured
// something for every operation the 90-10 workload does.
func TestBenchSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds strata and runs a real server with load")
	}
	binary := filepath.Join(t.TempDir(), "strata")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		t.Fatalf("building strata: %v\n%s", err, out)
	}
	cmd := exec.Command(binary, "bench", "--workload", "90-10", "--duration", "2s", "--keys", "2000",
		"--clients", "20", "--processes", "2", "--json", "--tmpdir", t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("strata bench: %v\n%s", err, out)
	}
	var rep bench.Report
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, out)
	}
	if len(rep.Results) != 2 {
		t.Fatalf("want a peak and a half-load result, got %d:\n%s", len(rep.Results), out)
	}
	for _, res := range rep.Results {
		if res.OpsPerSecond <= 0 || res.TxnPerSecond <= 0 {
			t.Errorf("%s (%s): %.0f ops/s, %.0f txn/s", res.Workload, res.Mode, res.OpsPerSecond, res.TxnPerSecond)
		}
		for _, op := range []bench.Op{bench.OpGRV, bench.OpRead, bench.OpCommit} {
			l := res.Latencies[op]
			if l.Count == 0 || l.P50 <= 0 || l.P99 < l.P50 {
				t.Errorf("%s (%s) %s latencies: %+v", res.Workload, res.Mode, op, l)
			}
		}
	}
	if rep.MemoryAfterLoad == nil || rep.MemoryAfterLoad.RSS <= 0 {
		t.Errorf("no server RSS in the report: %+v", rep.MemoryAfterLoad)
	}
}
