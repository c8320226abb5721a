package workloads

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/strata-db/strata/db/flow"
)

// Cycle is FoundationDB's Cycle workload (fdb.md §7.3): N keys form one
// cycle key(n) -> n+1; each transaction reads three links r -> r2 -> r3 ->
// r4 and swaps r2 and r3. The structure stays a single cycle of length N
// only if every transaction is atomic, isolated and based on current reads:
// lost updates, stale reads, partial commits or misordered mutations split
// or merge the cycle, and Check finds it.
type Cycle struct {
	Prefix []byte
	Nodes  int

	Committed, Retries int
}

// NewCycle returns a cycle of n nodes under prefix.
func NewCycle(prefix string, n int) *Cycle { return &Cycle{Prefix: []byte(prefix), Nodes: n} }

func (w *Cycle) key(n int) []byte {
	k := append([]byte(nil), w.Prefix...)
	return binary.BigEndian.AppendUint32(k, uint32(n))
}

func (w *Cycle) value(n int) []byte { return binary.BigEndian.AppendUint32(nil, uint32(n)) }

func (w *Cycle) decode(v []byte) (int, error) {
	if len(v) != 4 {
		return 0, fmt.Errorf("cycle: invalid value %x", v)
	}
	n := int(binary.BigEndian.Uint32(v))
	if n >= w.Nodes {
		return 0, fmt.Errorf("cycle: invalid value %d (nodes %d)", n, w.Nodes)
	}
	return n, nil
}

// Setup writes the initial cycle 0 -> 1 -> ... -> N-1 -> 0.
func (w *Cycle) Setup(c *flow.Ctx, db DB) error {
	const batch = 100
	for start := 0; start < w.Nodes; start += batch {
		err := db.Transact(c, func(tr Tx) error {
			for n := start; n < min(start+batch, w.Nodes); n++ {
				tr.Set(w.key(n), w.value((n+1)%w.Nodes))
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("cycle setup: %w", err)
		}
	}
	return nil
}

// Run runs swap transactions until stop, pausing about meanDelay between
// them.
func (w *Cycle) Run(c *flow.Ctx, db DB, stop time.Time, meanDelay time.Duration) error {
	for c.Now().Before(stop) {
		if err := c.Sleep(time.Duration(c.Rand().Int64N(int64(2*meanDelay) + 1))); err != nil {
			return err
		}
		r := c.Rand().IntN(w.Nodes)
		attempts := 0
		err := db.Transact(c, func(tr Tx) error {
			attempts++
			return w.swap(c, tr, r)
		})
		if err != nil {
			return fmt.Errorf("cycle transaction: %w", err)
		}
		w.Committed++
		w.Retries += attempts - 1
	}
	return nil
}

func (w *Cycle) next(c *flow.Ctx, tr Tx, n int) (int, error) {
	v, err := tr.Get(c, w.key(n))
	if err != nil {
		return 0, err
	}
	if v == nil {
		return 0, fmt.Errorf("cycle: bad read: key %d missing", n)
	}
	return w.decode(v)
}

func (w *Cycle) swap(c *flow.Ctx, tr Tx, r int) error {
	r2, err := w.next(c, tr, r)
	if err != nil {
		return err
	}
	r3, err := w.next(c, tr, r2)
	if err != nil {
		return err
	}
	r4, err := w.next(c, tr, r3)
	if err != nil {
		return err
	}
	// As FDB's Cycle: clear the key's own range first, exercising the order
	// of range clears and sets within a transaction.
	kr := w.key(r)
	tr.ClearRange(kr, append(append([]byte(nil), kr...), " end"...))
	tr.Set(w.key(r), w.value(r3))
	tr.Set(w.key(r2), w.value(r4))
	tr.Set(w.key(r3), w.value(r2))
	return nil
}

// Check reads the whole cycle at one version and verifies it is still one
// cycle over exactly N keys.
func (w *Cycle) Check(c *flow.Ctx, db DB) error {
	return db.Transact(c, func(tr Tx) error {
		kvs, err := tr.GetRange(c, w.key(0), w.key(w.Nodes), w.Nodes+1, false)
		if err != nil {
			return err
		}
		if len(kvs) != w.Nodes {
			return fmt.Errorf("cycle: node count changed: %d, want %d", len(kvs), w.Nodes)
		}
		i := 0
		for step := 0; step < w.Nodes; step++ {
			if string(kvs[i].Key) != string(w.key(i)) {
				return fmt.Errorf("cycle: key changed at %d: %x", i, kvs[i].Key)
			}
			n, err := w.decode(kvs[i].Value)
			if err != nil {
				return err
			}
			i = n
			if i == 0 && step < w.Nodes-1 {
				return fmt.Errorf("cycle got shorter: back at 0 after %d steps of %d", step+1, w.Nodes)
			}
		}
		if i != 0 {
			return fmt.Errorf("cycle got longer: not back at 0 after %d steps", w.Nodes)
		}
		return nil
	})
}
