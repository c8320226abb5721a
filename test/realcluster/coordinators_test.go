package realcluster

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/clusterfile"
	"github.com/strata-db/strata/db/status"
	"github.com/strata-db/strata/test/testserver"
)

// The acceptance of `coordinators auto` (FoundationDB's changeQuorum):
// five processes in five zones, three of them coordinators, configured
// triple; one coordinator dies and `coordinators auto` moves the cluster
// to coordinators that are alive. Every process's own cluster file and
// every client's is rewritten, clients with the old file follow, and no
// acknowledged commit is lost.

// startTripleOwnFiles is startTriple with a cluster file per process, as
// on separate hosts, so each rewrite can be checked.
func startTripleOwnFiles(t *testing.T) *tripleCluster {
	t.Helper()
	if testing.Short() {
		t.Skip("builds strata and runs five server processes")
	}
	cl := testserver.StartClusterOpts(t, testserver.Binary(t), testserver.ClusterOpts{N: 5, Zones: true, Coordinators: 3, Engine: "memory"})
	text, err := os.ReadFile(cl.ClusterFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range cl.Servers {
		s.Kill()
		s.ClusterFile = filepath.Join(s.Dir, "strata.cluster")
		if err := os.WriteFile(s.ClusterFile, text, 0o644); err != nil {
			t.Fatal(err)
		}
		s.Restart()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	db, err := client.Open(ctx, cl.ClusterFile)
	if err != nil {
		t.Fatalf("opening the cluster: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	tc := &tripleCluster{Cluster: cl, db: db}
	cl.WaitStatus(t, 30*time.Second, "five live processes", func(st *status.Status) bool {
		return st.Client.DatabaseStatus.Available && len(st.Cluster.Processes) == 5
	})
	cl.Configure(t, db, "triple", "memory")
	st := cl.WaitStatus(t, 60*time.Second, "healthy triple", healthyTriple)
	t.Logf("healthy triple: %s", testserver.Summary(st))
	return tc
}

// readFile parses the cluster file at path.
func readFile(t *testing.T, path string) clusterfile.ClusterFile {
	t.Helper()
	cf, err := clusterfile.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	return cf
}

// waitFiles waits until every path's cluster file is want.
func waitFiles(t *testing.T, limit time.Duration, want string, paths ...string) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		var stale []string
		for _, p := range paths {
			if cf, err := clusterfile.Read(p); err != nil || cf.String() != want {
				stale = append(stale, p+": "+cf.String())
			}
		}
		if len(stale) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster files not rewritten to %s within %v: %v", want, limit, stale)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestTripleCoordinatorsAutoAfterACoordinatorDies(t *testing.T) {
	tc := startTripleOwnFiles(t)
	old := readFile(t, tc.ClusterFile)
	load := testserver.StartLoader(tc.db, "load/", 4, 0)
	t.Cleanup(func() { load.Stop() })

	victim := tc.Server(old.Addresses()[1])
	victim.Kill()
	t.Logf("killed coordinator %s (zone %s)", victim.Address, victim.Zone)
	// A controller that knew the victim lists it unreachable; one elected
	// after the kill (the victim may have been the controller) never saw
	// it. Either way auto will not choose it.
	tc.WaitStatus(t, 30*time.Second, "recovered, the dead coordinator unreachable or unknown", func(st *status.Status) bool {
		p, ok := testserver.ProcessAt(st, victim.Address)
		return healthyTriple(st) && (!ok || testserver.Unreachable(p))
	})

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	start := time.Now()
	out, err := tc.CLI(ctx, 10*time.Second, "coordinators auto")
	t.Logf("coordinators auto (%v):\n%s", time.Since(start).Round(100*time.Millisecond), out)
	if err != nil || !strings.Contains(out, "Coordination state changed") {
		t.Fatalf("coordinators auto: %v\n%s", err, out)
	}

	// The CLI's client followed and rewrote the shared client file; status
	// names the same coordinators.
	now := readFile(t, tc.ClusterFile)
	if now.Key() == old.Key() || slices.Contains(now.Addresses(), victim.Address) {
		t.Fatalf("after coordinators auto the cluster file is %s (was %s, dead %s)", now, old, victim.Address)
	}
	if len(now.Coordinators) != 3 {
		t.Fatalf("auto chose %d coordinators (%s); with four live zones triple gets three", len(now.Coordinators), now)
	}
	st := tc.WaitStatus(t, 30*time.Second, "status on the new coordinators", func(st *status.Status) bool {
		return st.Cluster.ConnectionString == now.String()
	})
	t.Logf("moved %s -> %s: %s", old, now, testserver.Summary(st))

	// Every live server rewrote its own file.
	var paths []string
	for _, s := range tc.Servers {
		if s != victim {
			paths = append(paths, s.ClusterFile)
		}
	}
	waitFiles(t, 30*time.Second, now.String(), paths...)

	// The Go client opened before the change follows: it keeps committing.
	if _, err := load.AwaitCommit(time.Now(), 30*time.Second); err != nil {
		t.Fatalf("the client opened before the change: %v", err)
	}

	// A client whose file still names the old coordinators follows the
	// forward of the two that are alive, and rewrites its file.
	stalePath := filepath.Join(t.TempDir(), "stale.cluster")
	if err := os.WriteFile(stalePath, []byte(old.String()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	octx, ocancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer ocancel()
	stale, err := client.Open(octx, stalePath)
	if err != nil {
		t.Fatal(err)
	}
	defer stale.Close()
	if _, err := stale.Transact(octx, func(tx *client.Tx) (any, error) {
		tx.Set([]byte("coordinators/stale-client"), []byte("followed"))
		return nil, nil
	}); err != nil {
		t.Fatalf("a client with the old cluster file: %v", err)
	}
	waitFiles(t, 30*time.Second, now.String(), stalePath)

	// The dead coordinator comes back with its stale file and follows.
	victim.Restart()
	waitFiles(t, 60*time.Second, now.String(), victim.ClusterFile)
	// Auto chooses among the processes status shows reachable, so wait until
	// the restarted one reported again, not only until the data is healthy.
	tc.WaitStatus(t, 60*time.Second, "healthy triple with all five processes reachable", allFiveReachable)

	// The deployer's API: auto again, now that all five zones are alive,
	// gives triple its five coordinators.
	actx, acancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer acancel()
	five, err := tc.db.ChangeCoordinators(actx, client.CoordinatorsChange{}, time.Minute)
	if err != nil {
		t.Fatalf("ChangeCoordinators auto: %v", err)
	}
	if len(five.Coordinators) != 5 {
		t.Fatalf("auto with five live zones chose %s", five)
	}
	var all []string
	for _, s := range tc.Servers {
		all = append(all, s.ClusterFile)
	}
	waitFiles(t, 30*time.Second, five.String(), append(all, tc.ClusterFile, stalePath)...)
	t.Logf("moved again to %s", five)

	acked, errs := load.Stop()
	t.Logf("%d commits acknowledged; Transact errors: %v", len(acked), errs)
	testserver.CheckAll(t, tc.db, acked)
}

// allFiveReachable is a healthy triple whose five processes all report,
// with their zones, and none is marked unreachable.
func allFiveReachable(st *status.Status) bool {
	if !healthyTriple(st) || len(st.Cluster.Processes) != 5 {
		return false
	}
	for _, p := range st.Cluster.Processes {
		if p.Locality["zoneid"] == "" || slices.ContainsFunc(p.Messages, func(m status.Message) bool { return m.Name == "unreachable_process" }) {
			return false
		}
	}
	return true
}
