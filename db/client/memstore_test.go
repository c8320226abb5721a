package client

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
)

// memStore is an in-memory versioned key-value store implementing backend:
// the database a transaction talks to in unit tests, with no servers.
// Conflicts are checked as a resolver does, over every commit after the
// transaction's read version.
type memStore struct {
	env     *flow.Env
	version kv.Version
	history map[string][]memVersion
	commits []memCommit
	// batch caps the rows of one getRange reply, to exercise the client's
	// batching; 0 means no cap.
	batch int
	// failCommits are returned, in order, by the next commits.
	failCommits []error
	// stall makes reads block until cancelled.
	stall bool
	// requests records every commit request.
	requests []commitRequest
	changed  flow.Promise[struct{}]
	watches  int
	maxWatch int
	grvs     int
}

type memVersion struct {
	v      kv.Version
	value  []byte
	exists bool
}

type memCommit struct {
	v      kv.Version
	writes []kv.KeyRange
}

func newMemStore(env *flow.Env) *memStore {
	return &memStore{env: env, version: 1000, history: map[string][]memVersion{}, changed: flow.NewPromise[struct{}](), maxWatch: 10}
}

func (m *memStore) valueAt(k []byte, v kv.Version) ([]byte, bool) {
	h := m.history[string(k)]
	for i := len(h) - 1; i >= 0; i-- {
		if h[i].v <= v {
			return h[i].value, h[i].exists
		}
	}
	return nil, false
}

// keysAt returns the keys present at v, sorted.
func (m *memStore) keysAt(v kv.Version) [][]byte {
	var out [][]byte
	for k := range m.history {
		if _, ok := m.valueAt([]byte(k), v); ok {
			out = append(out, []byte(k))
		}
	}
	slices.SortFunc(out, bytes.Compare)
	return out
}

func (m *memStore) put(k []byte, v []byte, exists bool, at kv.Version) {
	m.history[string(k)] = append(m.history[string(k)], memVersion{v: at, value: v, exists: exists})
}

func (m *memStore) block(c *flow.Ctx) error {
	if m.stall {
		_, err := flow.Await(c, flow.NewPromise[struct{}]().Future())
		return err
	}
	return c.Sleep(time.Millisecond)
}

func (m *memStore) readVersion(_ Priority, _ bool) flow.Future[kv.Version] {
	m.grvs++
	p := flow.NewPromise[kv.Version]()
	m.env.Spawn("memStore.readVersion", func(c *flow.Ctx) error {
		if err := m.block(c); err != nil {
			p.Fail(err)
			return nil
		}
		p.Send(m.version)
		return nil
	})
	return p.Future()
}

func (m *memStore) getValue(c *flow.Ctx, key []byte, v kv.Version) ([]byte, bool, error) {
	if err := m.block(c); err != nil {
		return nil, false, err
	}
	val, ok := m.valueAt(key, v)
	return val, ok, nil
}

func (m *memStore) getKey(c *flow.Ctx, sel kv.KeySelector, v kv.Version) ([]byte, error) {
	if err := m.block(c); err != nil {
		return nil, err
	}
	return resolveSelector(m.keysAt(v), sel, maxKeyspace), nil
}

// resolveSelector is the reference resolution of a key selector over a
// sorted key list, clamped to "" and max.
func resolveSelector(keys [][]byte, sel kv.KeySelector, max []byte) []byte {
	// idx: the index of the last key < sel.Key (<= if OrEqual); -1 if none.
	idx := -1
	for i, k := range keys {
		c := bytes.Compare(k, sel.Key)
		if c < 0 || c == 0 && sel.OrEqual {
			idx = i
		}
	}
	idx += sel.Offset
	switch {
	case idx < 0:
		return []byte{}
	case idx >= len(keys) || bytes.Compare(keys[idx], max) >= 0:
		return bytes.Clone(max)
	}
	return keys[idx]
}

func (m *memStore) getRange(c *flow.Ctx, r kv.KeyRange, v kv.Version, limit, _ int, reverse bool) ([]kv.KeyValue, []byte, error) {
	if err := m.block(c); err != nil {
		return nil, nil, err
	}
	var rows []kv.KeyValue
	for _, k := range m.keysAt(v) {
		if r.Contains(k) {
			val, _ := m.valueAt(k, v)
			rows = append(rows, kv.KeyValue{Key: k, Value: val})
		}
	}
	if reverse {
		slices.Reverse(rows)
	}
	n := len(rows)
	if limit > 0 {
		n = min(n, limit)
	}
	if m.batch > 0 {
		n = min(n, m.batch)
	}
	if n == len(rows) {
		if reverse {
			return rows, r.Begin, nil
		}
		return rows, r.End, nil
	}
	rows = rows[:n]
	if n == 0 {
		return nil, nil, flow.ErrInternal
	}
	last := rows[n-1].Key
	if reverse {
		return rows, last, nil
	}
	return rows, kv.KeyAfter(last), nil
}

func (m *memStore) commit(req commitRequest, abort flow.Future[struct{}]) flow.Future[commitResult] {
	p := flow.NewPromise[commitResult]()
	a := m.env.Spawn("memStore.commit", func(c *flow.Ctx) error {
		v, idx, err := m.commitNow(c, req)
		if err != nil {
			p.Fail(err)
		} else {
			p.Send(commitResult{version: v, index: idx})
		}
		return nil
	})
	abort.OnReady(func(struct{}, error) { a.Cancel() })
	return p.Future()
}

// commitNow commits req after the store's latency.
func (m *memStore) commitNow(c *flow.Ctx, req commitRequest) (kv.Version, uint16, error) {
	m.requests = append(m.requests, req)
	if err := m.block(c); err != nil {
		return 0, 0, err
	}
	if len(m.failCommits) > 0 {
		err := m.failCommits[0]
		m.failCommits = m.failCommits[1:]
		return 0, 0, err
	}
	if req.ReadVersion < m.version-kv.MVCCWindow {
		return 0, 0, kv.ErrTransactionTooOld
	}
	for _, cm := range m.commits {
		if cm.v <= req.ReadVersion {
			continue
		}
		for _, w := range cm.writes {
			for _, r := range req.ReadConflicts {
				if w.Intersects(r) {
					return 0, 0, kv.ErrNotCommitted
				}
			}
		}
	}
	m.version += 10
	v := m.version
	var stamp [10]byte
	binary.BigEndian.PutUint64(stamp[:], uint64(v))
	for _, mu := range req.Mutations {
		m.apply(mu, v, stamp)
	}
	m.commits = append(m.commits, memCommit{v: v, writes: req.WriteConflicts})
	changed := m.changed
	m.changed = flow.NewPromise[struct{}]()
	changed.Send(struct{}{})
	return v, 0, nil
}

func (m *memStore) apply(mu kv.Mutation, v kv.Version, stamp [10]byte) {
	switch mu.Type {
	case kv.ClearRange:
		for k := range m.history {
			if (kv.KeyRange{Begin: mu.Key, End: mu.Param}).Contains([]byte(k)) {
				m.put([]byte(k), nil, false, v)
			}
		}
	case kv.SetVersionstampedKey:
		k := bytes.Clone(mu.Key[:len(mu.Key)-4])
		pos := binary.LittleEndian.Uint32(mu.Key[len(mu.Key)-4:])
		copy(k[pos:], stamp[:])
		m.put(k, mu.Param, true, v)
	case kv.SetVersionstampedVal:
		val := bytes.Clone(mu.Param[:len(mu.Param)-4])
		pos := binary.LittleEndian.Uint32(mu.Param[len(mu.Param)-4:])
		copy(val[pos:], stamp[:])
		m.put(mu.Key, val, true, v)
	default:
		old, ok := m.valueAt(mu.Key, v)
		nv, keep := kv.ApplyAtomic(mu.Type, old, ok, mu.Param)
		m.put(mu.Key, nv, keep, v)
	}
}

func (m *memStore) watch(c *flow.Ctx, key, value []byte, present bool, _ kv.Version) (kv.Version, error) {
	for {
		now, ok := m.valueAt(key, m.version)
		if ok != present || !bytes.Equal(now, value) {
			return m.version, nil
		}
		if _, err := flow.Await(c, m.changed.Future()); err != nil {
			return 0, err
		}
	}
}

func (m *memStore) acquireWatch() bool {
	if m.watches >= m.maxWatch {
		return false
	}
	m.watches++
	return true
}

func (m *memStore) releaseWatch() { m.watches-- }

// memEpoch is when the unit tests' virtual clocks start.
var memEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// runMem runs body as an actor on a fresh virtual loop with a memStore and
// fails the test on its error.
func runMem(t *testing.T, body func(c *flow.Ctx, m *memStore) error) {
	t.Helper()
	loop := flow.NewVirtualLoop(memEpoch)
	env := flow.NewEnv(loop, flow.EnvConfig{Address: "test:1", Seed: 7})
	m := newMemStore(env)
	a := env.Spawn("test", func(c *flow.Ctx) error { return body(c, m) })
	loop.RunUntil(memEpoch.Add(time.Hour), func() bool { return a.Done().IsReady() })
	if !a.Done().IsReady() {
		t.Fatal("test actor did not finish")
	}
	if err := a.Done().Err(); err != nil {
		t.Fatal(err)
	}
	env.Kill()
}

// load writes rows into m directly, at its current version.
func (m *memStore) load(rows ...string) {
	m.version += 10
	for i := 0; i+1 < len(rows); i += 2 {
		m.put([]byte(rows[i]), []byte(rows[i+1]), true, m.version)
	}
}

func (m *memStore) newTr() *Transaction { return newTransaction(m.env, m, DefaultOptions()) }
