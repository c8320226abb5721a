package simdb_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/sim/simdb"
)

// A single database locked before its process is killed (right after the
// lock commits, before its storage made it durable) is still locked once
// the process is back; unlocked before another kill, it stays unlocked.
func TestLockSurvivesRestart(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		test := sim.Test{Name: "single-lock-restart", Run: func(s *sim.Simulation) error {
			d := simdb.New(s, 1)
			a := d.Spawn(0, "Lock", func(c *flow.Ctx, db *client.Database) error {
				setLock := func(locked bool) error {
					return db.Transact(c, func(tr *client.Transaction) error {
						tr.Options().SetAccessSystemKeys()
						tr.Options().SetLockAware()
						if locked {
							tr.Set(kv.DBLockedKey, []byte("uid"))
						} else {
							tr.Clear(kv.DBLockedKey)
						}
						return nil
					})
				}
				plain := func() error {
					return db.Transact(c, func(tr *client.Transaction) error {
						tr.Set([]byte("k"), []byte("v"))
						return nil
					})
				}
				restart := func() error {
					s.Reboot(d.Server, 100*time.Millisecond)
					return c.Sleep(time.Second)
				}
				if err := setLock(true); err != nil {
					return err
				}
				if err := restart(); err != nil {
					return err
				}
				tr := db.CreateTransaction()
				tr.Set([]byte("k"), []byte("v"))
				if err := tr.Commit(c); !errors.Is(err, kv.ErrDatabaseLocked) {
					return fmt.Errorf("a plain commit after a restart while locked: %v, want database_locked", err)
				}
				if err := setLock(false); err != nil {
					return err
				}
				if err := restart(); err != nil {
					return err
				}
				return plain()
			})
			return d.WaitAll(5*time.Minute, a)
		}}
		if r := sim.RunTest(test, seed, sim.Options{}); r.Err != nil {
			t.Fatalf("seed %d: %v", seed, r.Err)
		}
	}
}
