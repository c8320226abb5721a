package apply

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/deployer/plan"
)

func freeAddress(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestDatabaseConfigureAndLease(t *testing.T) {
	if testing.Short() {
		t.Skip("builds strata and runs a server")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "strata")
	if err := os.WriteFile(bin, buildStrata(t), 0o755); err != nil {
		t.Fatal(err)
	}
	addr := freeAddress(t)
	clusterFile := []byte("test:abc123@" + addr + "\n")
	cfPath := filepath.Join(dir, "strata.cluster")
	if err := os.WriteFile(cfPath, clusterFile, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db := Database{ClusterFile: clusterFile, Timeout: 2 * time.Second}
	if _, err := db.Observe(ctx); err == nil {
		t.Fatal("Observe succeeded with no server running")
	}

	srv := exec.Command(bin, "server", "--cluster-file", cfPath, "--public-address", addr, "--datadir", filepath.Join(dir, "data"), "--logdir", filepath.Join(dir, "log"))
	srv.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })

	db.Timeout = 20 * time.Second
	got, err := db.Observe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.Configured {
		t.Fatalf("a new database observed as configured: %+v", got)
	}
	want := plan.DesiredDatabase{Redundancy: "single", StorageEngine: "memory"}
	if err := db.Configure(ctx, want, plan.Change{Address: "cluster.database"}); err != nil {
		t.Fatal(err)
	}
	got, err = db.Observe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&plan.ObservedDatabase{Configured: true, Redundancy: "single", StorageEngine: "memory", Coordinators: []string{addr}}, got); diff != "" {
		t.Fatalf("observed after configure (-want +got):\n%s", diff)
	}
	// Coordinators: the current ones are no change; one that does not
	// answer is refused before anything moves.
	if err := db.ChangeCoordinators(ctx, []string{addr}); err != nil {
		t.Fatalf("no-op coordinator change: %v", err)
	}
	dead := freeAddress(t)
	want.Coordinators = []string{addr}
	err = db.Configure(ctx, want, plan.Change{Address: plan.CoordinatorsAddress})
	if err != nil {
		t.Fatalf("coordinators as desired: %v", err)
	}
	if err := db.ChangeCoordinators(ctx, []string{dead}); !errors.Is(err, client.ErrCoordinatorsUnreachable) || !strings.Contains(err.Error(), dead) {
		t.Fatalf("change to a dead coordinator: %v, want it refused naming %s", err, dead)
	}
	if got, err := db.Observe(ctx); err != nil || !slices.Equal(got.Coordinators, []string{addr}) {
		t.Fatalf("after the refused change: %+v, %v; want the database still on %s", got, err, addr)
	}

	// The lease: one holder at a time until it expires.
	now := time.Now()
	a := Lease{ID: "a", Who: "alice@laptop", Op: "apply", Expires: now.Add(time.Minute)}
	b := Lease{ID: "b", Who: "bob@desk", Op: "apply", Expires: now.Add(time.Minute)}
	if err := db.AcquireLease(ctx, a, now); err != nil {
		t.Fatal(err)
	}
	var held *LeaseHeldError
	if err := db.AcquireLease(ctx, b, now); !errors.As(err, &held) || held.Holder.ID != "a" || !strings.Contains(err.Error(), "alice@laptop") {
		t.Fatalf("second lease: %v, want it refused naming alice", err)
	}
	if err := db.AcquireLease(ctx, b, now.Add(2*time.Minute)); err != nil {
		t.Fatalf("lease after the first expired: %v", err)
	}
	if err := db.ReleaseLease(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if l, err := db.ReadLease(ctx); err != nil || l == nil || l.ID != "b" {
		t.Fatalf("a released b's lease: %+v %v", l, err)
	}
	if err := db.ReleaseLease(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if l, err := db.ReadLease(ctx); err != nil || l != nil {
		t.Fatalf("lease after release: %+v %v", l, err)
	}
}
