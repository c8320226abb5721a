package testserver

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-db/strata/db/client"
)

// Configure creates the database's configuration with `strata cli --exec
// "configure new <mode> <engine>"`, as an operator (or the deployer) does
// on a new cluster.
func (c *Cluster) Configure(t testing.TB, db *client.DB, mode, engine string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := c.CLI(ctx, 15*time.Second, "configure new "+mode+" "+engine)
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	t.Logf("configure new %s %s: %s", mode, engine, strings.TrimSpace(out))
}

// Loader writes new keys from several goroutines through the Go client,
// one key per transaction, and remembers every key whose commit was
// acknowledged.
type Loader struct {
	db    *client.DB
	pause time.Duration
	stop  context.CancelFunc
	wg    sync.WaitGroup

	mu     sync.Mutex
	acked  map[string]string
	latest time.Time // start of the latest-started acknowledged commit
	errs   map[string]int
}

// StartLoader runs workers goroutines committing keys under prefix, each
// resting pause between its transactions, until Stop.
func StartLoader(db *client.DB, prefix string, workers int, pause time.Duration) *Loader {
	ctx, cancel := context.WithCancel(context.Background())
	l := &Loader{db: db, pause: pause, stop: cancel, acked: map[string]string{}, errs: map[string]int{}}
	for w := range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				l.commitOne(ctx, fmt.Sprintf("%s%02d/%07d", prefix, w, i))
				if pause > 0 {
					select {
					case <-ctx.Done():
					case <-time.After(pause):
					}
				}
			}
		}()
	}
	return l
}

// commitOne writes key with Transact's retry loop, bounded so a stuck
// commit does not outlive the run.
func (l *Loader) commitOne(ctx context.Context, key string) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	value := "v" + key
	started := time.Now()
	_, err := l.db.Transact(ctx, func(tx *client.Tx) (any, error) {
		tx.Set([]byte(key), []byte(value))
		return nil, nil
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil {
			l.errs[err.Error()]++
		}
		return
	}
	l.acked[key] = value
	if started.After(l.latest) {
		l.latest = started
	}
}

// CommittedSince reports whether a commit that started after t was
// acknowledged.
func (l *Loader) CommittedSince(t time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.latest.After(t)
}

// AwaitCommit waits up to limit until a commit that started after since is
// acknowledged, and returns how long after since it was seen (to 5 ms).
func (l *Loader) AwaitCommit(since time.Time, limit time.Duration) (time.Duration, error) {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if l.CommittedSince(since) {
			return time.Since(since), nil
		}
	}
	return 0, fmt.Errorf("no commit acknowledged within %v", limit)
}

// Stop stops the workers and returns the acknowledged keys and values,
// and the errors Transact returned, counted by message. It may be called
// more than once.
func (l *Loader) Stop() (acked map[string]string, errs map[string]int) {
	l.stop()
	l.wg.Wait()
	return l.acked, l.errs
}

// CheckAll reads every key of want back and fails the test for any that
// is missing or holds another value.
func CheckAll(t testing.TB, db *client.DB, want map[string]string) {
	t.Helper()
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	lost := 0
	for len(keys) > 0 {
		batch := keys[:min(200, len(keys))]
		keys = keys[len(batch):]
		got, err := readKeys(db, batch)
		if err != nil {
			t.Fatalf("reading acknowledged keys back: %v", err)
		}
		for i, v := range got {
			if string(v) != want[batch[i]] {
				if lost++; lost <= 10 {
					t.Errorf("acknowledged %s = %q, read %q", batch[i], want[batch[i]], v)
				}
			}
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged commits lost", lost, len(want))
	}
}

// readKeys reads keys in one transaction.
func readKeys(db *client.DB, keys []string) ([][]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	got, err := db.ReadTransact(ctx, func(tx *client.Tx) (any, error) {
		vals := make([][]byte, len(keys))
		for i, k := range keys {
			v, err := tx.Get([]byte(k))
			if err != nil {
				return nil, err
			}
			vals[i] = v
		}
		return vals, nil
	})
	if err != nil {
		return nil, err
	}
	return got.([][]byte), nil
}

// WriteKeys commits n keys under prefix, 100 per transaction, each key's
// value "v" and the key, and returns them.
func WriteKeys(t testing.TB, db *client.DB, prefix string, n int) map[string]string {
	t.Helper()
	want := map[string]string{}
	for i := 0; i < n; i += 100 {
		batch := map[string]string{}
		for j := i; j < min(i+100, n); j++ {
			k := fmt.Sprintf("%s%07d", prefix, j)
			batch[k] = "v" + k
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		_, err := db.Transact(ctx, func(tx *client.Tx) (any, error) {
			for k, v := range batch {
				tx.Set([]byte(k), []byte(v))
			}
			return nil, nil
		})
		cancel()
		if err != nil {
			t.Fatalf("writing %s keys: %v", prefix, err)
		}
		for k, v := range batch {
			want[k] = v
		}
	}
	return want
}
