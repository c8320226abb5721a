package flow

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestAsyncSyncerCompletesSyncsAndReportsTheirErrors(t *testing.T) {
	s, err := newAsyncSyncer()
	if err != nil {
		t.Skipf("no asynchronous fdatasync here: %v", err)
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "file"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const syncs = 3 * uringEntries // more than the queue holds at once, in turns
	for i := 0; i < syncs; i += uringEntries {
		done := make(chan error, uringEntries)
		for j := 0; j < uringEntries; j++ {
			if _, err := f.WriteAt([]byte("record"), int64(i+j)*8); err != nil {
				t.Fatal(err)
			}
			if err := s.datasync(f.Fd(), func(err error) { done <- err }); err != nil {
				t.Fatalf("starting sync %d: %v", i+j, err)
			}
		}
		for j := 0; j < uringEntries; j++ {
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("sync of a regular file: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("sync %d never completed", i+j)
			}
		}
	}

	// A pipe cannot be synced: fdatasync's error reaches the caller.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	pipeDone := make(chan error, 1)
	if err := s.datasync(w.Fd(), func(err error) { pipeDone <- err }); err != nil {
		t.Logf("syncing a pipe was refused at once: %v", err)
	} else if err := <-pipeDone; !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("syncing a pipe: %v, want EINVAL", err)
	}

	if err := s.close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := s.datasync(f.Fd(), func(error) {}); !errors.Is(err, errSyncerClosed) {
		t.Fatalf("sync after close: %v, want errSyncerClosed", err)
	}
}

func TestOSFileSyncsThroughTheAsyncSyncerAndWithoutIt(t *testing.T) {
	fsys, err := NewOSFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	o := fsys.(*osFS)
	f, err := fsys.Open("log", true)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := NewRealProcess(RealConfig{ListenAddress: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	stop := p.Start()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	syncOnce := func() error {
		_, err := Submit(ctx, p, func(e *Env) Future[struct{}] {
			pr := NewPromise[struct{}]()
			e.Spawn("sync", func(c *Ctx) error {
				if _, err := f.WriteAt([]byte("record"), 0); err != nil {
					pr.Fail(err)
					return err
				}
				settle(pr, f.Sync(c))
				return nil
			})
			return pr.Future()
		})
		return err
	}
	if err := syncOnce(); err != nil {
		t.Fatalf("sync: %v", err)
	}
	if o.syncer == nil {
		t.Skipf("the sync blocked a goroutine: no asynchronous fdatasync here (%v)", o.syncerErr)
	}
	// A closed FS's files still sync, on a goroutine of their own.
	if err := o.Close(); err != nil {
		t.Fatalf("closing the FS: %v", err)
	}
	if err := syncOnce(); err != nil {
		t.Fatalf("sync after the FS's syncer closed: %v", err)
	}
}
