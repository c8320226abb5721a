package workloads

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
)

// Durable checks that no acknowledged commit is lost: writers commit
// unique keys and remember each one whose commit was acknowledged; Check
// reads them all back (after crashes and restarts in between). A commit
// whose result was unknown may or may not be there.
type Durable struct {
	Prefix []byte

	acked []uint64
	next  uint64
	// Unknown counts commits whose outcome was ambiguous.
	Unknown int
}

// NewDurable returns the workload for keys under prefix.
func NewDurable(prefix string) *Durable { return &Durable{Prefix: []byte(prefix)} }

func (w *Durable) key(id uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte(nil), w.Prefix...), id)
}

// Run commits one new key per transaction until stop. It does not retry an
// ambiguous commit of the same key: that one is simply not counted.
func (w *Durable) Run(c *flow.Ctx, db DB, stop time.Time, meanDelay time.Duration) error {
	for c.Now().Before(stop) {
		if err := c.Sleep(time.Duration(c.Rand().Int64N(int64(2*meanDelay) + 1))); err != nil {
			return err
		}
		w.next++
		id := w.next
		attempts := 0
		err := db.Transact(c, func(tr Tx) error {
			attempts++
			tr.Set(w.key(id), []byte("acked"))
			return nil
		})
		switch {
		case err == nil && attempts == 1:
			w.acked = append(w.acked, id)
		case err == nil:
			// A retry after an ambiguous attempt: the key is there either
			// way, so it still counts.
			w.acked = append(w.acked, id)
		case kv.IsMaybeCommitted(err):
			w.Unknown++
		default:
			return fmt.Errorf("durable writer: %w", err)
		}
	}
	return nil
}

// Acked returns how many commits were acknowledged.
func (w *Durable) Acked() int { return len(w.acked) }

// Check reads every acknowledged key.
func (w *Durable) Check(c *flow.Ctx, db DB) error {
	const batch = 200
	for i := 0; i < len(w.acked); i += batch {
		ids := w.acked[i:min(i+batch, len(w.acked))]
		err := db.Transact(c, func(tr Tx) error {
			for _, id := range ids {
				v, err := tr.Get(c, w.key(id))
				if err != nil {
					return err
				}
				if v == nil {
					return fmt.Errorf("durable: commit %d was acknowledged but its key is gone", id)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
