package workloads

import (
	"bytes"
	"fmt"
	"time"

	"github.com/strata-db/strata/db/flow"
)

// Watches checks FoundationDB's watch semantics: a watch set on a key
// fires after the key changes, and never fires while the key keeps the
// value it had when the watch was set.
type Watches struct {
	Prefix []byte
	Rounds int

	Fired int
}

// NewWatches returns the workload.
func NewWatches(prefix string, rounds int) *Watches {
	return &Watches{Prefix: []byte(prefix), Rounds: rounds}
}

// Run does Rounds rounds: set a watch on a key, check it has not fired
// while nothing changed, change the key from another transaction, and
// wait (bounded) for the watch to fire.
func (w *Watches) Run(c *flow.Ctx, db DB) error {
	for round := 0; round < w.Rounds; round++ {
		key := fmt.Appendf(append([]byte(nil), w.Prefix...), "%04d", round%8)
		var seen []byte
		var watch flow.Future[struct{}]
		if err := db.Transact(c, func(tr Tx) error {
			v, err := tr.Get(c, key)
			if err != nil {
				return err
			}
			seen = v
			watch, err = tr.Watch(c, key)
			return err
		}); err != nil {
			return fmt.Errorf("watches: setting: %w", err)
		}
		quiet := time.Duration(c.Rand().Int64N(int64(200 * time.Millisecond)))
		if err := c.Sleep(quiet); err != nil {
			return err
		}
		if watch.IsReady() && watch.Err() == nil {
			// Fired with no change: only legitimate if the value changed.
			if err := w.checkChanged(c, db, key, seen); err != nil {
				return err
			}
		}
		next := []byte(fmt.Sprintf("round-%d", round))
		if err := db.Transact(c, func(tr Tx) error {
			tr.Set(key, next)
			return nil
		}); err != nil {
			return fmt.Errorf("watches: changing: %w", err)
		}
		if _, err := flow.Timeout(c, watch, 20*time.Second); err != nil {
			return fmt.Errorf("watches: round %d: the watch did not fire after the key changed: %w", round, err)
		}
		w.Fired++
	}
	return nil
}

func (w *Watches) checkChanged(c *flow.Ctx, db DB, key, seen []byte) error {
	return db.Transact(c, func(tr Tx) error {
		v, err := tr.Get(c, key)
		if err != nil {
			return err
		}
		if bytes.Equal(v, seen) {
			return fmt.Errorf("watches: watch on %q fired without the value changing", key)
		}
		return nil
	})
}
