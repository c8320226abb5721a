package client

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
)

// onErrorDelay runs OnError and returns how long it waited (virtual time).
func onErrorDelay(c *flow.Ctx, tr *Transaction, err error) (time.Duration, error) {
	start := c.Now()
	err = tr.OnError(c, err)
	return c.Now().Sub(start), err
}

func TestOnErrorBacksOffExponentiallyWithJitter(t *testing.T) {
	runMem(t, func(c *flow.Ctx, m *memStore) error {
		tr := m.newTr()
		if err := tr.Options().SetMaxRetryDelay(100 * time.Millisecond); err != nil {
			return err
		}
		caps := []time.Duration{10, 20, 40, 80, 100, 100}
		var total time.Duration
		for i, cap := range caps {
			tr.Set([]byte("k"), []byte("v"))
			d, err := onErrorDelay(c, tr, kv.ErrNotCommitted)
			if err != nil {
				return fmt.Errorf("retry %d: %w", i, err)
			}
			if d < 0 || d >= cap*time.Millisecond {
				t.Errorf("retry %d waited %v, want in [0, %v)", i, d, cap*time.Millisecond)
			}
			total += d
		}
		if total == 0 {
			t.Error("no retry waited at all: the jitter is not a random fraction of the backoff")
		}
		if len(tr.mutations) != 0 || tr.GetCommittedVersion() != kv.InvalidVersion {
			t.Error("OnError did not reset the transaction's writes")
		}
		if tr.opts.MaxRetryDelay != 100*time.Millisecond {
			t.Error("OnError dropped the transaction's options")
		}
		return nil
	})
}

func TestOnErrorClasses(t *testing.T) {
	runMem(t, func(c *flow.Ctx, m *memStore) error {
		for _, tc := range []struct {
			err      error
			retry    bool
			exact    time.Duration // for fixed delays
			maxDelay time.Duration
		}{
			{kv.ErrTransactionTooOld, true, 10 * time.Millisecond, 0},
			{kv.ErrFutureVersion, true, 10 * time.Millisecond, 0},
			{kv.ErrNotCommitted, true, -1, 10 * time.Millisecond},
			{kv.ErrCommitUnknownResult, true, -1, 10 * time.Millisecond},
			{kv.ErrDatabaseLocked, true, -1, 10 * time.Millisecond},
			{kv.ErrProcessBehind, true, -1, 10 * time.Millisecond},
			{kv.ErrProxyMemoryLimitExceeded, true, -1, 10 * time.Millisecond},
			{kv.ErrBatchTransactionThrottled, true, -1, 10 * time.Millisecond},
			{kv.ErrTagThrottled, true, -1, 10 * time.Millisecond},
			{fmt.Errorf("wrapped: %w", kv.ErrNotCommitted), true, -1, 10 * time.Millisecond},
			{kv.ErrTransactionTimedOut, false, 0, 0},
			{kv.ErrKeyTooLarge, false, 0, 0},
			{kv.ErrTransactionCancelled, false, 0, 0},
			{errors.New("application error"), false, 0, 0},
		} {
			tr := m.newTr()
			d, err := onErrorDelay(c, tr, tc.err)
			if tc.retry != (err == nil) {
				t.Errorf("OnError(%v) = %v, retry %v", tc.err, err, tc.retry)
				continue
			}
			if !tc.retry && err != tc.err {
				t.Errorf("OnError(%v) returned %v, want the error itself", tc.err, err)
			}
			if tc.exact >= 0 && tc.retry && d != tc.exact {
				t.Errorf("OnError(%v) waited %v, want %v", tc.err, d, tc.exact)
			}
			if tc.exact < 0 && d >= tc.maxDelay {
				t.Errorf("OnError(%v) waited %v, want under %v", tc.err, d, tc.maxDelay)
			}
		}
		// too_old waits min(10ms, max retry delay).
		tr := m.newTr()
		_ = tr.Options().SetMaxRetryDelay(3 * time.Millisecond)
		if d, _ := onErrorDelay(c, tr, kv.ErrTransactionTooOld); d != 3*time.Millisecond {
			t.Errorf("too_old with max retry delay 3ms waited %v", d)
		}
		return nil
	})
}

func TestRetryLimit(t *testing.T) {
	runMem(t, func(c *flow.Ctx, m *memStore) error {
		tr := m.newTr()
		_ = tr.Options().SetRetryLimit(2)
		for i := range 2 {
			if err := tr.OnError(c, kv.ErrNotCommitted); err != nil {
				t.Errorf("retry %d refused: %v", i, err)
			}
		}
		if err := tr.OnError(c, kv.ErrNotCommitted); !errors.Is(err, kv.ErrNotCommitted) {
			t.Errorf("retry past the limit: %v, want not_committed", err)
		}
		tr.Reset()
		if tr.opts.RetryLimit != -1 {
			t.Error("Reset kept the retry limit option")
		}
		return nil
	})
}

func TestTransactRetriesUntilCommitted(t *testing.T) {
	runMem(t, func(c *flow.Ctx, m *memStore) error {
		m.failCommits = []error{kv.ErrNotCommitted, kv.ErrTransactionTooOld, kv.ErrCommitUnknownResult}
		tr := m.newTr()
		attempts := 0
		err := tr.run(c, func(tr *Transaction) error {
			attempts++
			tr.Add([]byte("n"), []byte{1})
			return nil
		}, true)
		if err != nil {
			return err
		}
		if attempts != 4 {
			t.Errorf("%d attempts, want 4", attempts)
		}
		if v, _ := m.valueAt([]byte("n"), m.version); len(v) != 1 || v[0] != 1 {
			t.Errorf("n = %v, want [1]: writes of failed attempts leaked", v)
		}
		m.failCommits = []error{kv.ErrValueTooLarge}
		if err := m.newTr().run(c, func(tr *Transaction) error { tr.Set([]byte("a"), nil); return nil }, true); !errors.Is(err, kv.ErrValueTooLarge) {
			t.Errorf("non-retryable commit error: %v", err)
		}
		return nil
	})
}

func TestTimeoutAndCancel(t *testing.T) {
	runMem(t, func(c *flow.Ctx, m *memStore) error {
		m.stall = true
		tr := m.newTr()
		if err := tr.Options().SetTimeout(time.Second); err != nil {
			return err
		}
		start := c.Now()
		_, err := tr.Get(c, []byte("k"))
		if !errors.Is(err, kv.ErrTransactionTimedOut) {
			t.Errorf("stalled read: %v, want transaction_timed_out", err)
		}
		if waited := c.Now().Sub(start); waited != time.Second {
			t.Errorf("timed out after %v, want 1s", waited)
		}
		if err := tr.OnError(c, err); !errors.Is(err, kv.ErrTransactionTimedOut) {
			t.Errorf("OnError after timeout: %v", err)
		}
		tr.Reset()
		if tr.opts.Timeout != 0 {
			t.Error("Reset kept the timeout")
		}
		m.stall = false
		w := tr.Watch(c, []byte("k"))
		stamp := tr.GetVersionstamp()
		tr.Cancel()
		if _, err := tr.Get(c, []byte("k")); !errors.Is(err, kv.ErrTransactionCancelled) {
			t.Errorf("read after Cancel: %v", err)
		}
		if err := w.Future().Err(); !errors.Is(err, kv.ErrTransactionCancelled) {
			t.Errorf("watch after Cancel: %v", err)
		}
		if err := stamp.Err(); !errors.Is(err, kv.ErrTransactionCancelled) {
			t.Errorf("versionstamp after Cancel: %v", err)
		}
		if m.watches != 0 {
			t.Errorf("%d watch slots still held", m.watches)
		}
		tr.Reset()
		if _, err := tr.Get(c, []byte("k")); err != nil {
			t.Errorf("read after Reset: %v", err)
		}
		return nil
	})
}

func TestWatchFiresAfterCommitOnChange(t *testing.T) {
	runMem(t, func(c *flow.Ctx, m *memStore) error {
		m.load("k", "1")
		tr := m.newTr()
		w := tr.Watch(c, []byte("k"))
		if err := tr.Commit(c); err != nil {
			return err
		}
		if w.Future().IsReady() {
			t.Fatalf("watch ready before any change: %v", w.Future().Err())
		}
		other := m.newTr()
		other.Set([]byte("k"), []byte("1")) // same value: no change
		if err := other.Commit(c); err != nil {
			return err
		}
		if err := c.Sleep(time.Second); err != nil {
			return err
		}
		if w.Future().IsReady() {
			t.Fatal("watch fired on a write of the same value")
		}
		other.Reset()
		other.Set([]byte("k"), []byte("2"))
		if err := other.Commit(c); err != nil {
			return err
		}
		if _, err := flow.Timeout(c, w.Future(), time.Second); err != nil {
			t.Errorf("watch after a change: %v", err)
		}
		// A watch of a failed commit gets the commit's error.
		m.failCommits = []error{kv.ErrNotCommitted}
		tr = m.newTr()
		w = tr.Watch(c, []byte("k"))
		tr.Set([]byte("x"), nil)
		_ = tr.Commit(c)
		if err := w.Future().Err(); !errors.Is(err, kv.ErrNotCommitted) {
			t.Errorf("watch of a failed commit: %v", err)
		}
		// The database's watch limit.
		var ws []*Watch
		tr = m.newTr()
		for range m.maxWatch + 1 {
			ws = append(ws, tr.Watch(c, []byte("k")))
		}
		if err := ws[len(ws)-1].Future().Err(); !errors.Is(err, kv.ErrTooManyWatches) {
			t.Errorf("watch past the limit: %v", err)
		}
		return nil
	})
}

// A Reset while a commit is in flight ends that commit with
// transaction_cancelled and leaves the new attempt alone: its versionstamp
// comes from its own commit.
func TestResetDuringCommitLeavesTheNewAttemptAlone(t *testing.T) {
	runMem(t, func(c *flow.Ctx, m *memStore) error {
		m.stall = true
		tr := m.newTr()
		tr.SetReadVersion(m.version)
		tr.Set([]byte("a"), []byte("1"))
		first := tr.commit()
		if err := c.Sleep(10 * time.Millisecond); err != nil {
			return err
		}
		tr.Reset()
		tr.Set([]byte("b"), []byte("2"))
		stamp := tr.GetVersionstamp()
		if err := c.Sleep(10 * time.Millisecond); err != nil {
			return err
		}
		if err := first.Err(); !errors.Is(err, kv.ErrTransactionCancelled) {
			t.Errorf("commit across a Reset: %v, want transaction_cancelled", err)
		}
		if stamp.IsReady() {
			t.Fatalf("the new attempt's versionstamp is ready before its commit: %v", stamp.Err())
		}
		m.stall = false
		if err := tr.Commit(c); err != nil {
			return err
		}
		got, err := stamp.Get()
		if err != nil {
			return err
		}
		if v := kv.Version(binary.BigEndian.Uint64(got[:8])); v != tr.GetCommittedVersion() {
			t.Errorf("versionstamp version %d, committed at %d", v, tr.GetCommittedVersion())
		}
		return nil
	})
}
