package bench

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
)

// Workload names a transaction mix.
type Workload string

// The workloads. Keys are 16 bytes and values 8–100 random bytes, as in
// FoundationDB's published benchmarks.
const (
	// Workload9010 is FDB's 90/10 mix: transactions of 9 point reads and 1
	// write of random keys. Its operations are the reads and the write.
	Workload9010 Workload = "90-10"
	// WorkloadWrite is one-key write transactions (GRV, one set, commit).
	// Its operations are the commits.
	WorkloadWrite Workload = "write"
	// WorkloadRead is read-only transactions of 10 point reads. Its
	// operations are the reads.
	WorkloadRead Workload = "read"
	// WorkloadRange is read-only transactions of one 10-row range read.
	// Its operations are the range reads.
	WorkloadRange Workload = "range"
	// WorkloadCycle is FDB's Cycle: the keys of a ring of cycleNodes nodes
	// each point to the next; a transaction reads three hops from a random
	// node and swaps the middle two (3 reads, 3 writes), which keeps it a
	// ring only if transactions are serializable. Its operations are the
	// reads and writes; the ring is checked after the run.
	WorkloadCycle Workload = "cycle"
)

// Workloads lists every workload, in the order `all` runs them.
var Workloads = []Workload{Workload9010, WorkloadWrite, WorkloadRead, WorkloadRange, WorkloadCycle}

// ParseWorkload checks a workload name.
func ParseWorkload(s string) (Workload, error) {
	for _, w := range Workloads {
		if string(w) == s {
			return w, nil
		}
	}
	return "", fmt.Errorf("unknown workload %q (want one of 90-10, write, read, range, cycle, all)", s)
}

const (
	keyPrefix     = "bench/"      // + 10 digits = 16-byte keys
	cyclePrefix   = "benchcycle/" // the cycle's ring, apart from the key space
	cycleNodes    = 10_000
	minValueBytes = 8
	maxValueBytes = 100
	rangeRows     = 10
	readsPerRead  = 10
)

// Key returns the i-th key of the benchmark's key space: 16 bytes.
func Key(i int) []byte { return fmt.Appendf(nil, "%s%010d", keyPrefix, i) }

// Value returns a random value of 8 to 100 bytes.
func Value(r *rand.Rand) []byte {
	v := make([]byte, minValueBytes+r.IntN(maxValueBytes-minValueBytes+1))
	for i := range v {
		v[i] = byte(r.Uint32())
	}
	return v
}

func cycleKey(i int) []byte { return fmt.Appendf(nil, "%s%06d", cyclePrefix, i) }

// OpsPerTransaction is how many of w's operations a transaction does.
func (w Workload) OpsPerTransaction() int {
	switch w {
	case Workload9010, WorkloadRead:
		return 10
	case WorkloadCycle:
		return 6
	default:
		return 1
	}
}

// opsIn counts w's operations in st.
func (w Workload) opsIn(st *Stats) uint64 {
	switch w {
	case Workload9010:
		return st.Count(OpRead) + st.Transactions // one write per committed transaction
	case WorkloadCycle:
		return st.Count(OpRead) + 3*st.Transactions
	case WorkloadWrite:
		return st.Count(OpCommit)
	case WorkloadRange:
		return st.Count(OpRange)
	default:
		return st.Count(OpRead)
	}
}

// OpsPerSecond is w's operation rate in st.
func (w Workload) OpsPerSecond(st *Stats) float64 {
	if st.Elapsed <= 0 {
		return 0
	}
	return float64(w.opsIn(st)) / st.Elapsed.Seconds()
}

// txn is one client's view of a running workload: the database, its
// random source and whether to record.
type txn struct {
	db     *client.Database
	r      *rand.Rand
	keys   int
	st     *Stats
	record func() bool // false during warm-up
}

// run runs one transaction of w to completion, retrying as the client's
// OnError allows; the retries are counted.
func (t *txn) run(c *flow.Ctx, w Workload) error {
	tr := t.db.CreateTransaction()
	start := c.Now()
	for {
		err := t.attempt(c, tr, w)
		if err == nil {
			if t.record() {
				t.st.Transactions++
				t.st.Latency(OpTxn).Observe(c.Now().Sub(start))
			}
			return nil
		}
		if t.record() {
			t.st.Retries++
			if errors.Is(err, kv.ErrNotCommitted) {
				t.st.Conflicts++
			}
			t.st.RetriesBy[errorName(err)]++
		}
		if err := tr.OnError(c, err); err != nil {
			return fmt.Errorf("%s transaction: %w", w, err)
		}
	}
}

// attempt is one try of a transaction: an explicitly timed GRV, the
// workload's reads and writes, and a timed commit.
func (t *txn) attempt(c *flow.Ctx, tr *client.Transaction, w Workload) error {
	if err := t.timed(c, OpGRV, func() error { _, err := tr.GetReadVersion(c); return err }); err != nil {
		return err
	}
	switch w {
	case Workload9010:
		for range 9 {
			if err := t.get(c, tr, Key(t.r.IntN(t.keys))); err != nil {
				return err
			}
		}
		tr.Set(Key(t.r.IntN(t.keys)), Value(t.r))
	case WorkloadWrite:
		tr.Set(Key(t.r.IntN(t.keys)), Value(t.r))
	case WorkloadRead:
		for range readsPerRead {
			if err := t.get(c, tr, Key(t.r.IntN(t.keys))); err != nil {
				return err
			}
		}
		return nil
	case WorkloadRange:
		begin := Key(t.r.IntN(t.keys))
		return t.timed(c, OpRange, func() error {
			rows, err := tr.GetRange(c, begin, []byte(keyPrefix+"\xff"), client.RangeOptions{Limit: rangeRows})
			if err == nil && t.record() {
				t.st.Rows += uint64(len(rows))
			}
			return err
		})
	case WorkloadCycle:
		if err := t.cycleSwap(c, tr); err != nil {
			return err
		}
	}
	return t.timed(c, OpCommit, func() error { return tr.Commit(c) })
}

// timed runs op and records its latency if it succeeded.
func (t *txn) timed(c *flow.Ctx, op Op, fn func() error) error {
	start := c.Now()
	if err := fn(); err != nil {
		return err
	}
	if t.record() {
		t.st.Latency(op).Observe(c.Now().Sub(start))
	}
	return nil
}

func (t *txn) get(c *flow.Ctx, tr *client.Transaction, key []byte) error {
	return t.timed(c, OpRead, func() error { _, err := tr.Get(c, key); return err })
}

// cycleSwap turns a->b->c->d into a->c->b->d.
func (t *txn) cycleSwap(c *flow.Ctx, tr *client.Transaction) error {
	a := t.r.IntN(cycleNodes)
	var hops [3]int
	from := a
	for i := range hops {
		var next int
		err := t.timed(c, OpRead, func() error {
			var err error
			next, err = readCycleNode(c, tr, from)
			return err
		})
		if err != nil {
			return err
		}
		hops[i], from = next, next
	}
	b, cc, d := hops[0], hops[1], hops[2]
	tr.Set(cycleKey(a), []byte(strconv.Itoa(cc)))
	tr.Set(cycleKey(cc), []byte(strconv.Itoa(b)))
	tr.Set(cycleKey(b), []byte(strconv.Itoa(d)))
	return nil
}

func readCycleNode(c *flow.Ctx, tr *client.Transaction, i int) (int, error) {
	v, err := tr.Get(c, cycleKey(i))
	if err != nil {
		return 0, err
	}
	if v == nil {
		return 0, fmt.Errorf("cycle node %d is missing: was the ring loaded?", i)
	}
	n, err := strconv.Atoi(string(v))
	if err != nil || n < 0 || n >= cycleNodes {
		return 0, fmt.Errorf("cycle node %d holds %q, not a node", i, v)
	}
	return n, nil
}

// checkCycle reads the whole ring in one transaction and checks that it
// is still one cycle through every node.
func checkCycle(c *flow.Ctx, db *client.Database) error {
	return db.ReadTransact(c, func(tr *client.Transaction) error {
		rows, err := tr.Snapshot().GetRange(c, []byte(cyclePrefix), []byte(cyclePrefix+"\xff"), client.RangeOptions{})
		if err != nil {
			return err
		}
		if len(rows) != cycleNodes {
			return fmt.Errorf("cycle has %d nodes, want %d", len(rows), cycleNodes)
		}
		next := make([]int, cycleNodes)
		for i, row := range rows {
			if !bytes.Equal(row.Key, cycleKey(i)) {
				return fmt.Errorf("cycle row %d has key %q", i, row.Key)
			}
			n, err := strconv.Atoi(string(row.Value))
			if err != nil || n < 0 || n >= cycleNodes {
				return fmt.Errorf("cycle node %d holds %q", i, row.Value)
			}
			next[i] = n
		}
		seen := make([]bool, cycleNodes)
		at := 0
		for range cycleNodes {
			if seen[at] {
				return fmt.Errorf("cycle broken: node %d reached twice", at)
			}
			seen[at] = true
			at = next[at]
		}
		if at != 0 || slices.Contains(seen, false) {
			return errors.New("cycle broken: the ring does not close through every node")
		}
		return nil
	})
}

// errorName is err's FoundationDB name, or its text.
func errorName(err error) string {
	var fe *flow.Error
	if errors.As(err, &fe) {
		return fe.Name
	}
	return err.Error()
}
