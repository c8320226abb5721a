package bench

import (
	"maps"
	"math"
	"math/bits"
	"slices"
	"time"

	"github.com/strata-db/strata/db/flow"
)

// Op names the kinds of operation measured separately.
type Op string

// The measured operations. A transaction's GRV, each of its reads and its
// commit are timed on their own; OpTxn times a whole transaction.
const (
	OpGRV    Op = "grv"
	OpRead   Op = "read"
	OpRange  Op = "range"
	OpCommit Op = "commit"
	OpTxn    Op = "txn"
)

// Ops lists the operations in report order.
var Ops = []Op{OpGRV, OpRead, OpRange, OpCommit, OpTxn}

// Latencies is one operation's latency histogram. It keeps its
// observations quantised to precisionBits significant bits (buckets
// narrower than 1/64 of their value, so a quantile is an upper bound
// within 1.6%, where flow.Histogram's four sub-buckets per power of two
// give 19%), which also lets them travel between processes (as JSON) and
// merge exactly. A flow.Histogram beside them keeps the count, mean and
// exact maximum.
type Latencies struct {
	hist    flow.Histogram
	buckets map[uint64]uint64 // quantised nanoseconds -> count
}

func newLatencies() *Latencies { return &Latencies{buckets: map[uint64]uint64{}} }

// precisionBits is how many significant bits of a latency are kept.
const precisionBits = 7

// quantise keeps the top precisionBits significant bits of ns: the lower
// bound of the bucket ns falls in.
func quantise(ns uint64) uint64 {
	shift := bucketShift(ns)
	return ns >> shift << shift
}

// bucketShift is log2 of the width of the bucket ns falls in.
func bucketShift(ns uint64) int {
	return max(bits.Len64(ns)-precisionBits, 0)
}

// Observe records one latency.
func (l *Latencies) Observe(d time.Duration) {
	l.hist.Observe(d)
	l.buckets[quantise(uint64(max(d, 0)))]++
}

// Count returns the number of observations.
func (l *Latencies) Count() uint64 { return l.hist.Count() }

// Quantile returns an upper estimate of the q-quantile: the upper bound of
// the bucket holding it (or the maximum, if lower).
func (l *Latencies) Quantile(q float64) time.Duration {
	count := l.hist.Count()
	if count == 0 {
		return 0
	}
	rank := max(uint64(math.Ceil(q*float64(count))), 1)
	keys := slices.Sorted(maps.Keys(l.buckets))
	var seen uint64
	for _, ns := range keys {
		seen += l.buckets[ns]
		if seen >= rank {
			upper := ns + 1<<bucketShift(ns) - 1
			return min(time.Duration(upper), l.hist.Max())
		}
	}
	return l.hist.Max()
}

// Mean returns the mean latency.
func (l *Latencies) Mean() time.Duration { return l.hist.Mean() }

// Max returns the largest latency.
func (l *Latencies) Max() time.Duration { return l.hist.Max() }

// Merge adds other's observations.
func (l *Latencies) Merge(other *Latencies) {
	for ns, n := range other.buckets {
		l.buckets[ns] += n
	}
	l.hist.Merge(&other.hist)
}

// addQuantised re-observes count observations of quantised value ns (as
// received from another process).
func (l *Latencies) addQuantised(ns, count uint64) {
	l.buckets[ns] += count
	for range count {
		l.hist.Observe(time.Duration(ns))
	}
}

// Stats are the counts and latencies of one run, per operation.
type Stats struct {
	// Transactions counts committed (or, read-only, completed) transactions.
	Transactions uint64
	// Retries counts transaction attempts that failed with a retryable
	// error (conflicts included); Conflicts those that were not_committed.
	Retries, Conflicts uint64
	// RetriesBy counts the retries by error name.
	RetriesBy map[string]uint64
	// Rows counts key-value pairs returned by range reads.
	Rows uint64
	// Elapsed is the measured window.
	Elapsed time.Duration
	ops     map[Op]*Latencies
}

// NewStats returns empty stats.
func NewStats() *Stats { return &Stats{ops: map[Op]*Latencies{}, RetriesBy: map[string]uint64{}} }

// Latency returns op's latencies, created on first use.
func (s *Stats) Latency(op Op) *Latencies {
	l, ok := s.ops[op]
	if !ok {
		l = newLatencies()
		s.ops[op] = l
	}
	return l
}

// Count returns how many op operations completed.
func (s *Stats) Count(op Op) uint64 {
	if l, ok := s.ops[op]; ok {
		return l.Count()
	}
	return 0
}

// Rate returns op's completions per second over the measured window.
func (s *Stats) Rate(op Op) float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Count(op)) / s.Elapsed.Seconds()
}

// Merge adds the stats of a concurrent run (another client process over
// about the same window): counts add, the window is the longest.
func (s *Stats) Merge(o *Stats) {
	s.Transactions += o.Transactions
	s.Retries += o.Retries
	s.Conflicts += o.Conflicts
	s.Rows += o.Rows
	s.Elapsed = max(s.Elapsed, o.Elapsed)
	for name, n := range o.RetriesBy {
		s.RetriesBy[name] += n
	}
	for op, l := range o.ops {
		s.Latency(op).Merge(l)
	}
}
