package register

import (
	"bytes"
	"context"
	"math"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/kv"
)

// History records the operations of concurrent clients on one database,
// timed on the monotonic clock from its creation.
type History struct {
	db     *client.DB
	prefix string
	start  time.Time

	mu      sync.Mutex
	ops     []porcupine.Operation
	lastAck time.Time // return of the latest acknowledged write or compare-and-set
}

// NewHistory records operations on the registers under prefix in db.
func NewHistory(db *client.DB, prefix string) *History {
	return &History{db: db, prefix: prefix, start: time.Now()}
}

// Operations returns a copy of the history so far.
func (h *History) Operations() []porcupine.Operation {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]porcupine.Operation(nil), h.ops...)
}

// AckedSince reports whether a write or compare-and-set that started after
// t was acknowledged.
func (h *History) AckedSince(t time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lastAck.After(t)
}

func (h *History) now() int64 { return time.Since(h.start).Nanoseconds() }

// never is the Return of an operation of unknown outcome: it may take
// effect at any time after its call, or never.
const never = math.MaxInt64

func (h *History) record(clientID int, in Input, out Output, call int64, callTime time.Time) {
	ret := h.now()
	if out.Unknown {
		ret = never
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ops = append(h.ops, porcupine.Operation{ClientId: clientID, Input: in, Call: call, Output: out, Return: ret})
	if in.Kind != Read && !out.Unknown && callTime.After(h.lastAck) {
		h.lastAck = callTime
	}
}

// Read reads register key as client clientID and records the value it
// returned; a failed read is left out. It returns the value and whether
// the read succeeded.
func (h *History) Read(ctx context.Context, clientID int, key string) (string, bool) {
	callTime, call := time.Now(), h.now()
	v, err := h.db.ReadTransact(ctx, func(tx *client.Tx) (any, error) { return tx.Get(h.k(key)) })
	if err != nil {
		return "", false
	}
	b, _ := v.([]byte)
	h.record(clientID, Input{Kind: Read, Key: key}, Output{Value: string(b)}, call, callTime)
	return string(b), true
}

// Write writes value to register key as client clientID and records it,
// unless it surely did not commit. value should be unique in the history.
func (h *History) Write(ctx context.Context, clientID int, key, value string) {
	callTime, call := time.Now(), h.now()
	_, unknown, err := h.commit(ctx, func(tx *client.Tx) (bool, error) {
		tx.Set(h.k(key), []byte(value))
		return true, nil
	})
	if err != nil && !unknown {
		return
	}
	h.record(clientID, Input{Kind: Write, Key: key, Value: value}, Output{Unknown: unknown}, call, callTime)
}

// CompareAndSet writes value to register key if it holds expect, in one
// transaction, as client clientID, and records the operation unless it
// surely did not commit. It returns whether it surely swapped.
func (h *History) CompareAndSet(ctx context.Context, clientID int, key, expect, value string) bool {
	callTime, call := time.Now(), h.now()
	swapped, unknown, err := h.commit(ctx, func(tx *client.Tx) (bool, error) {
		cur, err := tx.Get(h.k(key))
		if err != nil {
			return false, err
		}
		if !bytes.Equal(cur, []byte(expect)) {
			return false, nil
		}
		tx.Set(h.k(key), []byte(value))
		return true, nil
	})
	if err != nil && !unknown {
		return false
	}
	h.record(clientID, Input{Kind: CompareAndSet, Key: key, Value: value, Expect: expect}, Output{Swapped: swapped && !unknown, Unknown: unknown}, call, callTime)
	return swapped && !unknown
}

func (h *History) k(key string) []byte { return []byte(h.prefix + key) }

// commit runs fn and commits it with FDB's retry loop, except that a
// commit whose outcome is unknown ends the loop with unknown set: retrying
// it could apply it twice. Any commit error that does not say the
// transaction surely did not commit (a context that ended mid-commit, a
// lost connection) is unknown too. err without unknown means that no
// attempt committed.
func (h *History) commit(ctx context.Context, fn func(tx *client.Tx) (bool, error)) (result, unknown bool, err error) {
	tx, err := h.db.CreateTransaction(ctx)
	if err != nil {
		return false, false, err
	}
	for {
		result, err = fn(tx)
		if err == nil {
			err = tx.Commit()
			if err == nil {
				return result, false, nil
			}
			if !kv.IsRetryableNotCommitted(err) {
				// A transaction without writes has nothing to lose
				// or apply twice; it just failed.
				return result, result, err
			}
		}
		if ctx.Err() != nil {
			return false, false, ctx.Err()
		}
		if err := tx.OnError(err); err != nil {
			return false, false, err
		}
	}
}
