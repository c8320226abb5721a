package recovery

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/status"
	"github.com/strata-db/strata/test/testserver"
)

// gap is one kill: how long commits stopped, and what the killed process
// held.
type gap struct {
	d     time.Duration
	roles []string
}

func BenchmarkSequencerKill(b *testing.B) {
	cl := testserver.StartClusterOpts(b, testserver.Binary(b), testserver.ClusterOpts{N: 5, Zones: true, Coordinators: 3})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	db, err := client.Open(ctx, cl.ClusterFile)
	if err != nil {
		b.Fatalf("opening the cluster: %v", err)
	}
	defer db.Close()
	cl.WaitStatus(b, 30*time.Second, "five live processes", func(st *status.Status) bool {
		return st.Client.DatabaseStatus.Available && len(st.Cluster.Processes) == 5
	})
	cl.Configure(b, db, "triple", "ssd")
	// Healthy, every process back and one sequencer among them, so that
	// each kill starts from the same state.
	healthy := func(st *status.Status) bool {
		for _, p := range st.Cluster.Processes {
			if testserver.Unreachable(p) {
				return false
			}
		}
		return testserver.Healthy(st, "triple", 3) && len(st.Cluster.Processes) == 5 &&
			len(testserver.WithRole(st, status.RoleMaster)) == 1
	}
	cl.WaitStatus(b, 60*time.Second, "healthy triple", healthy)

	// Light load: four writers, one-key transactions, 10 ms apart.
	load := testserver.StartLoader(db, "recovery/", 4, 10*time.Millisecond)
	defer load.Stop()
	var gaps []gap
	for b.Loop() {
		gaps = append(gaps, killSequencer(b, cl, load))
		cl.WaitStatus(b, 60*time.Second, "healthy triple after the restart", healthy)
	}
	acked, errs := load.Stop()
	b.Logf("%d commits acknowledged; Transact errors: %v", len(acked), errs)
	testserver.CheckAll(b, db, acked)
	report(b, gaps)
}

// killSequencer kill -9s the sequencer's process, waits for a commit that
// started after the kill, and restarts the process.
func killSequencer(b *testing.B, cl *testserver.Cluster, load *testserver.Loader) gap {
	b.Helper()
	victim, roles := cl.Sequencer(b)
	victim.Kill()
	killed := time.Now()
	d, err := load.AwaitCommit(killed, 60*time.Second)
	if err != nil {
		b.Fatalf("after killing %s %v: %v", victim.Address, roles, err)
	}
	victim.Restart()
	b.Logf("killed %s %v: commits resumed after %v", victim.Address, roles, d.Round(time.Millisecond))
	if d > slowGap {
		keepLogs(b, cl, killed)
	}
	return gap{d: d, roles: roles}
}

// slowGap is the gap beyond which the servers' trace logs are kept for a
// look at what took the time.
const slowGap = 2 * time.Second

// keepLogs copies every server's trace log directory out of the
// benchmark's temporary directories, which are removed at its end.
func keepLogs(b *testing.B, cl *testserver.Cluster, killed time.Time) {
	b.Helper()
	dir, err := os.MkdirTemp("", "strata-recovery-"+killed.Format("150405.000")+"-")
	if err != nil {
		b.Logf("keeping logs: %v", err)
		return
	}
	for i, s := range cl.Servers {
		dst := filepath.Join(dir, fmt.Sprintf("%d-%s", i, strings.ReplaceAll(s.Address, ":", "_")))
		if out, err := exec.Command("cp", "-r", s.LogDir(), dst).CombinedOutput(); err != nil {
			b.Logf("keeping %s's logs: %v: %s", s.Address, err, out)
		}
	}
	b.Logf("trace logs of the kill at %s kept in %s", killed.Format("15:04:05.000"), dir)
}

// report prints every gap and the quantiles as benchmark metrics.
func report(b *testing.B, gaps []gap) {
	if len(gaps) == 0 {
		return
	}
	ds := make([]time.Duration, len(gaps))
	var sum time.Duration
	withCC := 0
	for i, g := range gaps {
		ds[i] = g.d
		sum += g.d
		if slices.Contains(g.roles, status.RoleClusterController) {
			withCC++
		}
	}
	slices.Sort(ds)
	q := func(f float64) time.Duration { return ds[min(len(ds)-1, int(f*float64(len(ds))))] }
	var all []string
	for _, d := range ds {
		all = append(all, d.Round(time.Millisecond).String())
	}
	b.Logf("%d kills (%d of them also killed the cluster controller); gaps sorted: %s", len(ds), withCC, strings.Join(all, " "))
	b.ReportMetric(float64(sum.Nanoseconds())/float64(len(ds)), "ns/op")
	b.ReportMetric(float64(q(0.5).Milliseconds()), "p50-ms")
	b.ReportMetric(float64(q(0.9).Milliseconds()), "p90-ms")
	b.ReportMetric(float64(ds[len(ds)-1].Milliseconds()), "max-ms")
}
