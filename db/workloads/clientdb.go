package workloads

import (
	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
)

// FromClient adapts the client's Database to the workloads' DB interface.
func FromClient(db *client.Database) DB { return clientDB{db} }

type clientDB struct{ db *client.Database }

func (d clientDB) Transact(c *flow.Ctx, fn func(tr Tx) error) error {
	return d.db.Transact(c, func(tr *client.Transaction) error { return fn(clientTx{tr}) })
}

type clientTx struct{ tr *client.Transaction }

func (t clientTx) Get(c *flow.Ctx, key []byte) ([]byte, error) { return t.tr.Get(c, key) }
func (t clientTx) GetKey(c *flow.Ctx, sel kv.KeySelector) ([]byte, error) {
	return t.tr.GetKey(c, sel)
}
func (t clientTx) GetRange(c *flow.Ctx, begin, end []byte, limit int, reverse bool) ([]kv.KeyValue, error) {
	return t.tr.GetRange(c, begin, end, client.RangeOptions{Limit: limit, Reverse: reverse})
}
func (t clientTx) Set(key, value []byte)                        { t.tr.Set(key, value) }
func (t clientTx) Clear(key []byte)                             { t.tr.Clear(key) }
func (t clientTx) ClearRange(begin, end []byte)                 { t.tr.ClearRange(begin, end) }
func (t clientTx) Atomic(op kv.MutationType, key, param []byte) { t.tr.Atomic(op, key, param) }
func (t clientTx) AddReadConflictRange(begin, end []byte) {
	_ = t.tr.AddReadConflictRange(kv.KeyRange{Begin: begin, End: end})
}
func (t clientTx) Watch(c *flow.Ctx, key []byte) (flow.Future[struct{}], error) {
	return t.tr.Watch(c, key).Future(), nil
}
func (t clientTx) DisableRYW() error                   { return t.tr.Options().SetReadYourWritesDisable() }
func (t clientTx) Snapshot() SnapshotTx                { return clientSnapshot{t.tr.Snapshot()} }
func (t clientTx) Versionstamp() flow.Future[[10]byte] { return t.tr.GetVersionstamp() }
func (t clientTx) CommittedVersion() kv.Version        { return t.tr.GetCommittedVersion() }
func (t clientTx) ReadVersion(c *flow.Ctx) (kv.Version, error) {
	return t.tr.GetReadVersion(c)
}

type clientSnapshot struct{ s client.Snapshot }

func (s clientSnapshot) Get(c *flow.Ctx, key []byte) ([]byte, error) { return s.s.Get(c, key) }
func (s clientSnapshot) GetRange(c *flow.Ctx, begin, end []byte, limit int, reverse bool) ([]kv.KeyValue, error) {
	return s.s.GetRange(c, begin, end, client.RangeOptions{Limit: limit, Reverse: reverse})
}
