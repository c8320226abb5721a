package tui

import (
	"strings"

	"github.com/strata-db/strata/db/status"
)

// historyLen is how many samples a series keeps: five minutes at the
// default refresh of one per second.
const historyLen = 300

// series is a fixed-size ring of samples, oldest first when read.
type series struct {
	buf  [historyLen]float64
	next int
	n    int
}

func (s *series) push(v float64) {
	s.buf[s.next] = v
	s.next = (s.next + 1) % historyLen
	if s.n < historyLen {
		s.n++
	}
}

// last returns up to k most recent samples, oldest first, into dst.
func (s *series) last(k int, dst []float64) []float64 {
	if k > s.n {
		k = s.n
	}
	dst = dst[:0]
	for i := s.n - k; i < s.n; i++ {
		dst = append(dst, s.buf[(s.next-s.n+i+historyLen)%historyLen])
	}
	return dst
}

// latest is the most recent sample (0 when empty).
func (s *series) latest() float64 {
	if s.n == 0 {
		return 0
	}
	return s.buf[(s.next-1+historyLen)%historyLen]
}

// metric names the workload series the dashboard keeps.
type metric int

const (
	metricStarted metric = iota
	metricCommitted
	metricConflicted
	metricReads
	metricWrites
	metricBytesRead
	metricBytesWritten
	numMetrics
)

// history keeps the recent samples of every workload metric.
type history struct {
	s       [numMetrics]series
	samples int
}

func (h *history) record(w *status.Workload) {
	vals := [numMetrics]float64{
		metricStarted:      w.Transactions.Started.Hz,
		metricCommitted:    w.Transactions.Committed.Hz,
		metricConflicted:   w.Transactions.Conflicted.Hz,
		metricReads:        w.Operations.Reads.Hz,
		metricWrites:       w.Operations.Writes.Hz,
		metricBytesRead:    w.Bytes.Read.Hz,
		metricBytesWritten: w.Bytes.Written.Hz,
	}
	for i, v := range vals {
		h.s[i].push(v)
	}
	h.samples++
}

// sparkBlocks are the eight bar heights of a sparkline.
var sparkBlocks = []rune("▁▂▃▄▅▆▇█")

// sparkline renders vals as a line of width cells, right-aligned (the
// newest sample at the right edge), scaled from zero to the largest value
// shown. Samples beyond width are dropped from the left.
func sparkline(vals []float64, width int) string {
	if width <= 0 {
		return ""
	}
	if len(vals) > width {
		vals = vals[len(vals)-width:]
	}
	peak := 0.0
	for _, v := range vals {
		peak = max(peak, v)
	}
	var b strings.Builder
	b.Grow(width * 3)
	b.WriteString(strings.Repeat(" ", width-len(vals)))
	top := len(sparkBlocks) - 1
	for _, v := range vals {
		i := 0
		if peak > 0 && v > 0 {
			i = min(top, max(0, int(v/peak*float64(top)+0.5)))
		}
		b.WriteRune(sparkBlocks[i])
	}
	return b.String()
}
