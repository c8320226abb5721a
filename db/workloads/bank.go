package workloads

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/strata-db/strata/db/flow"
)

// Bank moves money between accounts in concurrent transactions; the total
// never changes, and every transaction that reads all accounts sees the
// same total — a check of atomicity and of consistent snapshots.
type Bank struct {
	Prefix   []byte
	Accounts int
	Initial  int64

	Transfers, Audits int
}

// NewBank returns a bank of n accounts holding initial each.
func NewBank(prefix string, n int, initial int64) *Bank {
	return &Bank{Prefix: []byte(prefix), Accounts: n, Initial: initial}
}

func (w *Bank) key(i int) []byte {
	return binary.BigEndian.AppendUint32(append([]byte(nil), w.Prefix...), uint32(i))
}

func encodeInt(v int64) []byte { return binary.LittleEndian.AppendUint64(nil, uint64(v)) }

func decodeInt(b []byte) (int64, error) {
	if len(b) != 8 {
		return 0, fmt.Errorf("bank: invalid balance %x", b)
	}
	return int64(binary.LittleEndian.Uint64(b)), nil
}

// Setup opens the accounts.
func (w *Bank) Setup(c *flow.Ctx, db DB) error {
	return db.Transact(c, func(tr Tx) error {
		for i := range w.Accounts {
			tr.Set(w.key(i), encodeInt(w.Initial))
		}
		return nil
	})
}

func (w *Bank) balance(c *flow.Ctx, tr Tx, i int) (int64, error) {
	v, err := tr.Get(c, w.key(i))
	if err != nil {
		return 0, err
	}
	if v == nil {
		return 0, fmt.Errorf("bank: account %d missing", i)
	}
	return decodeInt(v)
}

// Run makes transfers (and, with audit set, audits) until stop.
func (w *Bank) Run(c *flow.Ctx, db DB, stop time.Time, meanDelay time.Duration, audit bool) error {
	for c.Now().Before(stop) {
		if err := c.Sleep(time.Duration(c.Rand().Int64N(int64(2*meanDelay) + 1))); err != nil {
			return err
		}
		if audit {
			if err := w.Check(c, db); err != nil {
				return err
			}
			w.Audits++
			continue
		}
		from, to := c.Rand().IntN(w.Accounts), c.Rand().IntN(w.Accounts)
		amount := c.Rand().Int64N(100) + 1
		err := db.Transact(c, func(tr Tx) error {
			a, err := w.balance(c, tr, from)
			if err != nil {
				return err
			}
			b, err := w.balance(c, tr, to)
			if err != nil {
				return err
			}
			if from == to {
				return nil
			}
			tr.Set(w.key(from), encodeInt(a-amount))
			tr.Set(w.key(to), encodeInt(b+amount))
			return nil
		})
		if err != nil {
			return fmt.Errorf("bank transfer: %w", err)
		}
		w.Transfers++
	}
	return nil
}

// Check reads every account in one transaction and verifies the total.
func (w *Bank) Check(c *flow.Ctx, db DB) error {
	return db.Transact(c, func(tr Tx) error {
		kvs, err := tr.GetRange(c, w.key(0), w.key(w.Accounts), 0, false)
		if err != nil {
			return err
		}
		if len(kvs) != w.Accounts {
			return fmt.Errorf("bank: %d accounts, want %d", len(kvs), w.Accounts)
		}
		var total int64
		for _, p := range kvs {
			v, err := decodeInt(p.Value)
			if err != nil {
				return err
			}
			total += v
		}
		if want := int64(w.Accounts) * w.Initial; total != want {
			return fmt.Errorf("bank: total is %d, want %d", total, want)
		}
		return nil
	})
}
