package realcluster

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/status"
	"github.com/strata-db/strata/test/testserver"
)

// The acceptance of triple redundancy on loopback: five processes, each in
// a zone of its own, three of them coordinators, configured triple; then
// the failures triple must survive.

// tripleCluster is a healthy triple cluster and a Go client on it.
type tripleCluster struct {
	*testserver.Cluster
	db *client.DB
}

// startTriple starts five zoned processes, configures triple and waits
// until the data is healthy on three-replica teams. before, if set, runs
// once the processes are up, before configure.
func startTriple(t *testing.T, before func(*tripleCluster)) *tripleCluster {
	t.Helper()
	if testing.Short() {
		t.Skip("builds strata and runs five server processes")
	}
	cl := testserver.StartClusterOpts(t, testserver.Binary(t), testserver.ClusterOpts{N: 5, Zones: true, Coordinators: 3, Engine: "memory"})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	db, err := client.Open(ctx, cl.ClusterFile)
	if err != nil {
		t.Fatalf("opening the cluster: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	tc := &tripleCluster{Cluster: cl, db: db}
	cl.WaitStatus(t, 20*time.Second, "five live processes", func(st *status.Status) bool {
		return st.Client.DatabaseStatus.Available && len(st.Cluster.Processes) == 5
	})
	if before != nil {
		before(tc)
	}
	cl.Configure(t, db, "triple", "memory")
	start := time.Now()
	st := cl.WaitStatus(t, 30*time.Second, "healthy triple", healthyTriple)
	t.Logf("healthy triple %v after configure: %s", time.Since(start).Round(100*time.Millisecond), testserver.Summary(st))
	return tc
}

// healthyTriple accepts a healthy triple cluster.
func healthyTriple(st *status.Status) bool { return testserver.Healthy(st, "triple", 3) }

// zonesWith returns the distinct zones of the reachable processes playing
// role.
func zonesWith(st *status.Status, role string) map[string]bool { return testserver.ZonesWith(st, role) }

func TestTripleKillSequencerUnderLoadLosesNoAcknowledgedCommit(t *testing.T) {
	tc := startTriple(t, nil)
	load := testserver.StartLoader(tc.db, "load/", 8, 0)
	t.Cleanup(func() { load.Stop() })
	time.Sleep(3 * time.Second)
	victim, roles := tc.Sequencer(t)
	victim.Kill()
	killed := time.Now()
	t.Logf("killed %s (zone %s, roles %v) with SIGKILL", victim.Address, victim.Zone, roles)
	time.Sleep(time.Second)
	victim.Restart()
	t.Logf("restarted %s", victim.Address)
	resumed, err := load.AwaitCommit(killed, 30*time.Second)
	if err != nil {
		t.Fatalf("after the kill: %v", err)
	}
	t.Logf("commits resumed %v after the kill", resumed.Round(10*time.Millisecond))
	time.Sleep(2 * time.Second)
	acked, errs := load.Stop()
	t.Logf("%d commits acknowledged; Transact errors: %v", len(acked), errs)
	testserver.CheckAll(t, tc.db, acked)
	st := tc.WaitStatus(t, 30*time.Second, "healthy triple after the restart", healthyTriple)
	t.Logf("healthy again: %s", testserver.Summary(st))
}

func TestTripleKilledStorageIsReReplicated(t *testing.T) {
	tc := startTriple(t, nil)
	want := testserver.WriteKeys(t, tc.db, "data/", 1000)
	st, err := tc.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// A storage process that is not the controller; one without the
	// sequencer if there is one, so that only data distribution acts.
	var victim *testserver.Server
	for _, addr := range testserver.WithRole(st, status.RoleStorage) {
		p, _ := testserver.ProcessAt(st, addr)
		if testserver.HasRole(p, status.RoleClusterController) {
			continue
		}
		if victim == nil || !testserver.HasRole(p, status.RoleMaster) {
			victim = tc.Server(addr)
		}
	}
	if victim == nil {
		t.Fatalf("no storage process besides the controller: %s", testserver.Summary(st))
	}
	victim.Kill()
	killed := time.Now()
	t.Logf("killed storage process %s (zone %s) for good", victim.Address, victim.Zone)
	seen := map[string]bool{}
	st = tc.WaitStatus(t, 40*time.Second, "healthy triple without the killed process", func(st *status.Status) bool {
		seen[st.Cluster.Data.State.Name] = true
		if !healthyTriple(st) {
			return false
		}
		zones := zonesWith(st, status.RoleStorage)
		return !zones[victim.Zone] && len(zones) >= 3
	})
	t.Logf("healthy %v after the kill (data states seen: %v): %s", time.Since(killed).Round(100*time.Millisecond), seen, testserver.Summary(st))
	if !seen[status.DataHealing] {
		t.Errorf("status never showed %q between the kill and healthy; saw %v", status.DataHealing, seen)
	}
	testserver.CheckAll(t, tc.db, want)

	// The dead server's tag must not hold the logs' queues: under writes
	// for longer than a healthy lag, every log's reclaimable point comes
	// back to within it once the dead server is retired.
	load := testserver.StartLoader(tc.db, "after/", 4, 0)
	t.Cleanup(func() { load.Stop() })
	const healthyLag = 10 * time.Second
	time.Sleep(healthyLag + 5*time.Second)
	tc.WaitStatus(t, 90*time.Second, "every log's queue reclaimable again", func(st *status.Status) bool {
		lags := 0
		for _, p := range st.Cluster.Processes {
			for _, r := range p.Roles {
				if r.Role != status.RoleLog {
					continue
				}
				if r.PoppedLag == nil || r.PoppedLag.Seconds > healthyLag.Seconds() {
					return false
				}
				lags++
			}
		}
		return lags > 0
	})
	t.Logf("logs reclaim again %v after the kill", time.Since(killed).Round(100*time.Millisecond))
}

func TestTripleExcludeMovesDataOff(t *testing.T) {
	tc := startTriple(t, func(tc *tripleCluster) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if out, err := tc.CLI(ctx, 10*time.Second, "exclude"); err != nil && strings.Contains(out, "arrives with cluster formation") { // an old binary
			t.Skipf("blocked: this build's strata cli has no exclude (%s), and the cluster controller never reads \\xff/conf/excluded/ (Controller.exclusions is never filled)", strings.TrimSpace(out))
		}
	})
	want := testserver.WriteKeys(t, tc.db, "data/", 1000)
	st, err := tc.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var victim string
	for _, addr := range testserver.WithRole(st, status.RoleStorage) {
		if p, _ := testserver.ProcessAt(st, addr); !testserver.HasRole(p, status.RoleClusterController) {
			victim = addr
		}
	}
	if victim == "" {
		t.Fatalf("no storage process besides the controller: %s", testserver.Summary(st))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	start := time.Now()
	out, err := tc.CLI(ctx, 35*time.Second, "exclude "+victim)
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	t.Logf("exclude %s returned after %v: %s", victim, time.Since(start).Round(100*time.Millisecond), strings.TrimSpace(out))
	// exclude returns only once the data moved: the very next status has
	// no storage on the excluded process and still three replicas.
	st, err = tc.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := testserver.ProcessAt(st, victim); !ok || testserver.HasRole(p, status.RoleStorage) || !p.Excluded {
		t.Errorf("after exclude returned, status shows %s as %+v", victim, p)
	}
	if zones := zonesWith(st, status.RoleStorage); len(zones) < 3 {
		t.Errorf("after exclude, storage in %d zones: %s", len(zones), testserver.Summary(st))
	}
	testserver.CheckAll(t, tc.db, want)
	// Drained, the excluded process's storage server is removed from the
	// database and destroyed: its disk is freed.
	dir := tc.serverAt(t, victim).Dir
	waitFor(t, 20*time.Second, "the excluded process's storage server destroyed", func() bool {
		return len(storageFiles(t, dir)) == 0
	})
	if out, err := tc.CLI(ctx, 10*time.Second, "include all"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	tc.WaitStatus(t, 20*time.Second, "no exclusion after include all", func(st *status.Status) bool {
		p, ok := testserver.ProcessAt(st, victim)
		return ok && !p.Excluded && len(st.Cluster.Configuration.ExcludedServers) == 0
	})
	// Included again, the process gets a new storage server.
	waitFor(t, 20*time.Second, "a new storage server on the included process", func() bool {
		return len(storageFiles(t, dir)) > 0
	})
	testserver.CheckAll(t, tc.db, want)
}

func (tc *tripleCluster) serverAt(t *testing.T, addr string) *testserver.Server {
	t.Helper()
	for _, s := range tc.Servers {
		if s.Address == addr {
			return s
		}
	}
	t.Fatalf("no server at %s", addr)
	return nil
}

// storageFiles lists the storage servers' markers in a server's data
// directory.
func storageFiles(t *testing.T, serverDir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(serverDir, "data", "roles", "storage-*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
