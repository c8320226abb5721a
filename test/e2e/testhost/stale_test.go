package testhost

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// A run that dies leaves its hosts behind with their lock released; the
// next run removes them, sshd included.
func TestRemoveStaleAfterCrash(t *testing.T) {
	ctx := context.Background()
	if err := Requirements(); err != nil {
		t.Skipf("skipping: %v", err)
	}
	crashed, err := Create(ctx, 1, Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := crashed.Hosts[0]
	t.Cleanup(func() { removeSlot(ctx, crashed.Slot) })

	live, err := Create(ctx, 1, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { live.Close() })

	crashed.lock.Close() // what the kernel does when the process dies
	crashed.lock = nil
	if err := RemoveStale(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join("/run/netns", h.Namespace)); !os.IsNotExist(err) {
		t.Errorf("stale namespace %s survived RemoveStale (%v)", h.Namespace, err)
	}
	// The killed sshd is our child here, so allow its reaping a moment.
	deadline := time.Now().Add(2 * time.Second)
	for syscall.Kill(h.pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Errorf("stale sshd (pid %d) survived RemoveStale", h.pid)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := os.Stat(crashed.Dir); !os.IsNotExist(err) {
		t.Errorf("stale directory %s survived RemoveStale", crashed.Dir)
	}
	if err := live.Hosts[0].CheckNamespace(); err != nil {
		t.Errorf("RemoveStale removed a live cluster: %v", err)
	}
}
