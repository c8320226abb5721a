package realcluster

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"testing"
	"time"

	"github.com/strata-db/strata/db/status"
	"github.com/strata-db/strata/test/testserver"
	"github.com/strata-db/strata/tui"
)

// readStatus runs `strata status --json`.
func readStatus(bin, clusterFile string) (*status.Status, error) {
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "status", "--json", "-C", clusterFile, "--timeout", "5s")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("strata status: %w: %s", err, stderr.String())
	}
	return status.Parse(out)
}

func unreachable(p status.Process) bool {
	for _, m := range p.Messages {
		if m.Name == "unreachable_process" {
			return true
		}
	}
	return false
}

func hasRole(p status.Process, role string) bool {
	for _, r := range p.Roles {
		if r.Role == role {
			return true
		}
	}
	return false
}

// waitStatus polls status until ok accepts it.
func waitStatus(t *testing.T, bin, clusterFile string, limit time.Duration, what string, ok func(*status.Status) bool) *status.Status {
	t.Helper()
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		st, err := readStatus(bin, clusterFile)
		if err == nil && st.Cluster != nil && ok(st) {
			return st
		}
		last = err
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s: not within %v (last error: %v)", what, limit, last)
	return nil
}

func TestStatusListsProcessesAndMarksAKilledOneUnreachable(t *testing.T) {
	if testing.Short() {
		t.Skip("builds strata and runs three server processes")
	}
	bin := testserver.Binary(t)
	// double across three zones, so that the database stays available
	// whichever process (other than the controller) dies: in single, the
	// process holding the one log or the one copy of the data cannot go.
	cl := testserver.StartClusterOpts(t, bin, testserver.ClusterOpts{N: 3, Zones: true})
	waitStatus(t, bin, cl.ClusterFile, 30*time.Second, "3 registered processes", func(st *status.Status) bool {
		return len(st.Cluster.Processes) == 3
	})
	cl.Configure(t, nil, "double", "ssd")
	st := waitStatus(t, bin, cl.ClusterFile, 60*time.Second, "3 live processes in a healthy double database", func(st *status.Status) bool {
		if len(st.Cluster.Processes) != 3 || !st.Client.DatabaseStatus.Available || !testserver.Healthy(st, "double", 2) {
			return false
		}
		for _, p := range st.Cluster.Processes {
			if unreachable(p) {
				return false
			}
		}
		return true
	})
	// The dashboard's live source reads the same document.
	live := &tui.LiveSource{ClusterFile: cl.ClusterFile}
	defer live.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if got, err := live.Fetch(ctx); err != nil || len(got.Cluster.Processes) != 3 {
		t.Fatalf("dash's live source: %v, %+v", err, got)
	}
	// Kill a process that does not lead: the controller recovers without
	// it, and its data has a second replica.
	var victim *testserver.Server
	for _, s := range cl.Servers {
		for _, p := range st.Cluster.Processes {
			if p.Address == s.Address && !hasRole(p, status.RoleClusterController) {
				victim = s
			}
		}
	}
	if victim == nil {
		t.Fatalf("no process to kill besides the controller: %+v", st.Cluster.Processes)
	}
	victim.Kill()
	killed := time.Now()
	st = waitStatus(t, bin, cl.ClusterFile, 10*time.Second, "killed process unreachable", func(st *status.Status) bool {
		for _, p := range st.Cluster.Processes {
			if p.Address == victim.Address {
				return unreachable(p)
			}
		}
		return false
	})
	t.Logf("killed process marked unreachable after %v", time.Since(killed).Round(100*time.Millisecond))
	if n := len(st.Cluster.Processes); n != 3 {
		t.Errorf("status lists %d processes after the kill, want 3 (the dead one kept as unreachable)", n)
	}
	waitStatus(t, bin, cl.ClusterFile, 15*time.Second, "database available without the killed process", func(st *status.Status) bool {
		return st.Client.DatabaseStatus.Available
	})
}
