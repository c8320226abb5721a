package flow

import (
	"fmt"
	"io"
	"math"
	"math/bits"
	"slices"
	"strings"
	"time"
)

// Metrics is a process's registry of counters and latency histograms. It is
// used with the baton; readers outside the loop take a Snapshot via Post.
type Metrics struct {
	counters   map[string]*Counter
	histograms map[string]*Histogram
}

// NewMetrics returns an empty registry.
func NewMetrics() *Metrics {
	return &Metrics{counters: map[string]*Counter{}, histograms: map[string]*Histogram{}}
}

// Counter is a monotonically increasing count.
type Counter struct{ n uint64 }

// Add increases the counter by n.
func (c *Counter) Add(n uint64) { c.n += n }

// Inc increases the counter by one.
func (c *Counter) Inc() { c.n++ }

// Value returns the count.
func (c *Counter) Value() uint64 { return c.n }

// Counter returns the named counter, creating it on first use.
func (m *Metrics) Counter(name string) *Counter {
	c, ok := m.counters[name]
	if !ok {
		c = &Counter{}
		m.counters[name] = c
	}
	return c
}

// Histogram returns the named latency histogram, creating it on first use.
func (m *Metrics) Histogram(name string) *Histogram {
	h, ok := m.histograms[name]
	if !ok {
		h = &Histogram{}
		m.histograms[name] = h
	}
	return h
}

// Names returns the counter and histogram names, sorted.
func (m *Metrics) Names() (counters, histograms []string) {
	for k := range m.counters {
		counters = append(counters, k)
	}
	for k := range m.histograms {
		histograms = append(histograms, k)
	}
	slices.Sort(counters)
	slices.Sort(histograms)
	return counters, histograms
}

// Histogram records durations in power-of-two-microsecond-ish buckets with
// four sub-buckets each (under 19% relative error), cheap enough for every
// request.
type Histogram struct {
	buckets [64 * 4]uint64
	count   uint64
	sum     time.Duration
	max     time.Duration
}

// Observe records one duration.
func (h *Histogram) Observe(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.buckets[bucketOf(uint64(d))]++
	h.count++
	h.sum += d
	h.max = max(h.max, d)
}

func bucketOf(v uint64) int {
	if v < 4 {
		return int(v)
	}
	exp := bits.Len64(v) - 1 // v in [2^exp, 2^(exp+1))
	sub := (v >> (exp - 2)) & 3
	return exp*4 + int(sub)
}

func bucketUpper(b int) uint64 {
	if b < 4 {
		return uint64(b)
	}
	exp, sub := b/4, uint64(b%4)
	lo := uint64(1)<<exp | sub<<(exp-2)
	return lo + 1<<(exp-2) - 1
}

// Count returns how many durations were observed.
func (h *Histogram) Count() uint64 { return h.count }

// Mean returns the mean duration.
func (h *Histogram) Mean() time.Duration {
	if h.count == 0 {
		return 0
	}
	return h.sum / time.Duration(h.count)
}

// Max returns the largest observed duration.
func (h *Histogram) Max() time.Duration { return h.max }

// Quantile returns an upper estimate of the q-quantile (0 <= q <= 1).
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.count == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.count)))
	rank = max(rank, 1)
	var seen uint64
	for b, n := range h.buckets {
		seen += n
		if seen >= rank {
			return min(time.Duration(bucketUpper(b)), h.max)
		}
	}
	return h.max
}

// Merge adds other's observations into h.
func (h *Histogram) Merge(other *Histogram) {
	for i, n := range other.buckets {
		h.buckets[i] += n
	}
	h.count += other.count
	h.sum += other.sum
	h.max = max(h.max, other.max)
}

// WritePrometheus writes every metric in Prometheus' text exposition
// format: counters as <prefix>_<name>_total, histograms as summaries with
// p50/p90/p99 quantiles (in seconds), _sum and _count. Names are sanitised
// to [a-zA-Z0-9_]. Call it with the baton (e.g. through RealProcess.Call).
func (m *Metrics) WritePrometheus(w io.Writer, prefix string) error {
	counters, histograms := m.Names()
	var b strings.Builder
	for _, n := range counters {
		name := promName(prefix, n) + "_total"
		fmt.Fprintf(&b, "# TYPE %s counter\n%s %d\n", name, name, m.counters[n].Value())
	}
	for _, n := range histograms {
		h := m.histograms[n]
		name := promName(prefix, n) + "_seconds"
		fmt.Fprintf(&b, "# TYPE %s summary\n", name)
		for _, q := range []float64{0.5, 0.9, 0.99} {
			fmt.Fprintf(&b, "%s{quantile=\"%g\"} %g\n", name, q, h.Quantile(q).Seconds())
		}
		fmt.Fprintf(&b, "%s_sum %g\n%s_count %d\n", name, h.sum.Seconds(), name, h.Count())
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func promName(prefix, n string) string {
	out := []byte(prefix + "_" + n)
	for i, c := range out {
		if !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			out[i] = '_'
		}
	}
	return string(out)
}
