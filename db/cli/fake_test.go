package cli

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/kv"
)

// fakeDB is an in-memory database: each transaction reads a copy of the
// committed data with its own writes applied, and a commit with writes
// installs that copy at a version 1000 above the last. Calls can be made
// to fail or to block until their context ends, and system keys need the
// options that FoundationDB requires.
type fakeDB struct {
	data    map[string]string
	version kv.Version
	fail    map[string]error // next call of an operation fails
	block   map[string]bool  // calls of an operation wait for their context
	open    int              // transactions not yet closed
	// statuses are the status documents reads of the status key return
	// in turn; the last one stays.
	statuses []string
}

func newFakeDB() *fakeDB {
	return &fakeDB{data: map[string]string{}, version: 1000, fail: map[string]error{}, block: map[string]bool{}}
}

func (d *fakeDB) CreateTransaction() (Transaction, error) {
	if err := d.call(context.Background(), "create"); err != nil {
		return nil, err
	}
	d.open++
	return &fakeTx{db: d, view: clone(d.data), opts: map[string]int64{}}, nil
}

// call applies the failure or blocking set up for op.
func (d *fakeDB) call(ctx context.Context, op string) error {
	if err, ok := d.fail[op]; ok {
		delete(d.fail, op)
		return err
	}
	if d.block[op] {
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

func clone(m map[string]string) map[string]string {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// dump lists the committed data and the open transactions.
func (d *fakeDB) dump() string {
	keys := make([]string, 0, len(d.data))
	for k := range d.data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var sb strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&sb, "%q = %q\n", k, d.data[k])
	}
	fmt.Fprintf(&sb, "version %d, open transactions %d\n", d.version, d.open)
	return sb.String()
}

type fakeTx struct {
	db     *fakeDB
	view   map[string]string
	writes int
	denied bool // a write outside the keys the options allow
	opts   map[string]int64
	closed bool
}

var systemKeys = []byte{0xff}

func (t *fakeTx) readable(key []byte) error {
	if bytes.HasPrefix(key, client.StatusJSONKey) {
		return nil // the status key needs no option
	}
	_, read := t.opts["read_system_keys"]
	_, access := t.opts["access_system_keys"]
	if bytes.Compare(key, systemKeys) > 0 && !read && !access {
		return fmt.Errorf("read of %s: %w", kv.Printable(key), kv.ErrKeyOutsideLegalRange)
	}
	return nil
}

func (t *fakeTx) writable(key []byte) bool {
	_, access := t.opts["access_system_keys"]
	return access || bytes.Compare(key, systemKeys) < 0
}

func (t *fakeTx) Get(ctx context.Context, key []byte) ([]byte, bool, error) {
	if err := t.db.call(ctx, "get"); err != nil {
		return nil, false, err
	}
	if err := t.readable(append(key, 0)); err != nil {
		return nil, false, err
	}
	if bytes.Equal(key, client.StatusJSONKey) {
		return t.db.status()
	}
	v, ok := t.view[string(key)]
	return []byte(v), ok, nil
}

func (t *fakeTx) GetRange(ctx context.Context, begin, end []byte, limit int) ([]kv.KeyValue, error) {
	if err := t.db.call(ctx, "getrange"); err != nil {
		return nil, err
	}
	if err := t.readable(end); err != nil {
		return nil, err
	}
	var keys []string
	for k := range t.view {
		if k >= string(begin) && k < string(end) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var rows []kv.KeyValue
	for _, k := range keys[:min(limit, len(keys))] {
		rows = append(rows, kv.KeyValue{Key: []byte(k), Value: []byte(t.view[k])})
	}
	return rows, nil
}

func (t *fakeTx) GetReadVersion(ctx context.Context) (kv.Version, error) {
	if err := t.db.call(ctx, "getreadversion"); err != nil {
		return 0, err
	}
	return t.db.version, nil
}

func (t *fakeTx) Set(key, value []byte) {
	if !t.writable(key) {
		t.denied = true
		return
	}
	t.view[string(key)] = string(value)
	t.writes++
}

func (t *fakeTx) Clear(key []byte) {
	delete(t.view, string(key))
	t.writes++
}

func (t *fakeTx) ClearRange(begin, end []byte) {
	for k := range t.view {
		if k >= string(begin) && k < string(end) {
			delete(t.view, k)
		}
	}
	t.writes++
}

func (t *fakeTx) Commit(ctx context.Context) (kv.Version, error) {
	if err := t.db.call(ctx, "commit"); err != nil {
		return kv.InvalidVersion, err
	}
	if t.writes == 0 && !t.denied {
		return kv.InvalidVersion, nil
	}
	if t.denied {
		return kv.InvalidVersion, fmt.Errorf("write outside the user keys: %w", kv.ErrKeyOutsideLegalRange)
	}
	if _, locked := t.db.data[string(kv.DBLockedKey)]; locked {
		if _, aware := t.opts["lock_aware"]; !aware {
			return kv.InvalidVersion, kv.ErrDatabaseLocked
		}
	}
	t.db.data = clone(t.view)
	t.db.version += 1000
	t.writes = 0
	return t.db.version, nil
}

func (t *fakeTx) SetOption(name string, param int64) error {
	if err := t.db.call(context.Background(), "option"); err != nil {
		return err
	}
	t.opts[name] = param
	return nil
}

func (t *fakeTx) Reset() {
	t.view, t.writes, t.denied, t.opts = clone(t.db.data), 0, false, map[string]int64{}
}

func (t *fakeTx) Close() {
	if !t.closed {
		t.closed = true
		t.db.open--
	}
}

// status returns the next status document.
func (d *fakeDB) status() ([]byte, bool, error) {
	if len(d.statuses) == 0 {
		return nil, false, nil
	}
	doc := d.statuses[0]
	if len(d.statuses) > 1 {
		d.statuses = d.statuses[1:]
	}
	return []byte(doc), true, nil
}

// fakeProcesses records kill requests; addresses in fail refuse them.
type fakeProcesses struct {
	reboots []string
	fail    map[string]bool
}

func (p *fakeProcesses) Reboot(_ context.Context, addr string, checkOnly bool) error {
	if p.fail[addr] {
		return fmt.Errorf("connection refused")
	}
	p.reboots = append(p.reboots, fmt.Sprintf("%s check=%v", addr, checkOnly))
	return nil
}
