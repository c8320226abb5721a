package client

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
)

// startRealFakeCluster serves a fakeCluster from a real process on
// 127.0.0.1 and writes a cluster file naming it.
func startRealFakeCluster(t *testing.T) string {
	t.Helper()
	p, err := flow.NewRealProcess(flow.RealConfig{ListenAddress: "127.0.0.1:0", ProcessID: "fake"})
	if err != nil {
		t.Fatal(err)
	}
	stop := p.Start()
	t.Cleanup(func() { _ = stop() })
	_, err = flow.Submit(context.Background(), p, func(e *flow.Env) flow.Future[struct{}] {
		newFakeCluster(e, "m")
		return flow.Ready(struct{}{})
	})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "fdb.cluster")
	text := fmt.Sprintf("# test cluster\ntest:abc@%s\n", p.Address())
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil { //lint:allow os the test writes a cluster file for Open
		t.Fatal(err)
	}
	return path
}

func TestGoAPIAgainstARealProcess(t *testing.T) {
	path := startRealFakeCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) //lint:allow time a wall-clock bound for a real-process test
	defer cancel()
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	_, err = db.Transact(ctx, func(tx *Tx) (any, error) {
		tx.Set([]byte("a"), []byte("1"))
		tx.Set([]byte("z"), []byte("2"))
		tx.Add([]byte("n"), []byte{5})
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	v, err := db.ReadTransact(ctx, func(tx *Tx) (any, error) {
		rows, err := tx.GetRange([]byte(""), []byte("\xff"), RangeOptions{})
		return rowsString(rows), err
	})
	if err != nil || v != `a=1 n=\x05 z=2 ` {
		t.Fatalf("range across both shards = %v, %v", v, err)
	}

	// Writes return before the loop applies them, so they must not keep
	// the caller's buffers: reusing them at once changes nothing written.
	buf := []byte("reused")
	_, err = db.Transact(ctx, func(tx *Tx) (any, error) {
		key, value := buf[:1], buf[1:]
		tx.Set(key, value)
		copy(buf, "XXXXXX")
		got, err := tx.Get([]byte("r"))
		if string(got) != "eused" {
			return nil, fmt.Errorf("read-your-writes after the caller reused its buffer: %q, %v", got, err)
		}
		return nil, err
	})
	if err != nil {
		t.Fatal(err)
	}

	// Concurrent read-modify-write transactions from several goroutines.
	const workers, each = 6, 5
	var wg sync.WaitGroup //lint:allow sync the test drives the goroutine-safe API from several goroutines
	errs := make([]error, workers)
	for w := range workers {
		wg.Add(1)
		go func() { //lint:allow go the test drives the goroutine-safe API from several goroutines
			defer wg.Done()
			for range each {
				_, err := db.Transact(ctx, func(tx *Tx) (any, error) {
					v, err := tx.Get([]byte("counter"))
					if err != nil {
						return nil, err
					}
					n := byte(0)
					if len(v) == 1 {
						n = v[0]
					}
					tx.Set([]byte("counter"), []byte{n + 1})
					return nil, nil
				})
				if err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	got, err := db.ReadTransact(ctx, func(tx *Tx) (any, error) { return tx.Get([]byte("counter")) })
	if err != nil || len(got.([]byte)) != 1 || got.([]byte)[0] != workers*each {
		t.Fatalf("counter = %v, %v; want %d", got, err, workers*each)
	}

	// A watch, a versionstamp, and a blocked call ended by its context.
	tx, err := db.CreateTransaction(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w, err := tx.Watch([]byte("a"))
	if err != nil {
		t.Fatal(err)
	}
	tx.Set([]byte("b"), []byte("x"))
	vs, err := tx.GetVersionstamp()
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	stamp, err := vs.Get(ctx)
	if err != nil || stamp == ([10]byte{}) {
		t.Fatalf("versionstamp %x, %v", stamp, err)
	}
	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond) //lint:allow time a wall-clock bound for a real-process test
	defer cancelShort()
	if err := w.Wait(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("watch of an unchanged key returned %v", err)
	}
	if _, err := db.Transact(ctx, func(tx *Tx) (any, error) { tx.Set([]byte("a"), []byte("changed")); return nil, nil }); err != nil {
		t.Fatal(err)
	}
	if err := w.Wait(ctx); err != nil {
		t.Fatalf("watch after a change: %v", err)
	}
	done, cancelDone := context.WithCancel(ctx)
	cancelDone()
	if _, err := db.Transact(done, func(tx *Tx) (any, error) { return tx.Get([]byte("a")) }); !errors.Is(err, context.Canceled) {
		t.Fatalf("Transact with a done context = %v", err)
	}
	_, err = db.Transact(ctx, func(tx *Tx) (any, error) {
		tx.Set(make([]byte, kv.MaxKeySize+1), nil)
		return nil, nil
	})
	if !errors.Is(err, kv.ErrKeyTooLarge) {
		t.Fatalf("over-long key = %v, want key_too_large", err)
	}
}

func TestOpenRejectsBadClusterFiles(t *testing.T) {
	if _, err := Open(context.Background(), filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("Open of a missing cluster file succeeded")
	}
}
