package tui

import (
	"fmt"

	"github.com/strata-db/strata/db/status"
)

// renderWorkload shows rates with their recent history, latencies and
// what ratekeeper says limits the cluster.
func (m Model) renderWorkload(c *status.Cluster) []string {
	s := m.st()
	const valueWidth = 11
	sparkWidth := max(8, m.width-labelWidth-valueWidth-4)
	var buf []float64
	spark := func(label string, mt metric, format func(float64) string) string {
		buf = m.hist.s[mt].last(sparkWidth, buf)
		return m.row(label, padLeft(format(m.hist.s[mt].latest()), valueWidth)+"  "+s.Spark.Render(sparkline(buf, sparkWidth)))
	}
	perSec := func(v float64) string { return fmtCount(v) + "/s" }
	window := fmtAge(float64(m.hist.s[metricStarted].n) * m.opts.Interval.Seconds())
	lines := []string{
		s.Muted.Render(fmt.Sprintf("Rates over the last %s (%s)", window, plural(m.hist.s[metricStarted].n, "sample", "samples"))),
		spark("Tx started", metricStarted, perSec),
		spark("Tx committed", metricCommitted, perSec),
		spark("Tx conflicted", metricConflicted, perSec),
		spark("Reads", metricReads, perSec),
		spark("Writes", metricWrites, perSec),
		spark("Bytes read", metricBytesRead, fmtByteRate),
		spark("Bytes written", metricBytesWritten, fmtByteRate),
		"",
	}
	grv, read, commit := latencies(c)
	lines = append(lines,
		s.Label.Render(padRight("Latency", labelWidth))+s.Label.Render(padLeft("p50", 9)+padLeft("p99", 9))+s.Muted.Render("   worst proxy or storage server"),
		m.row("GRV", latencyCells(grv)),
		m.row("Read", latencyCells(read)),
		m.row("Commit", latencyCells(commit)),
		m.row("Probe", fmt.Sprintf("GRV %s · read %s · commit %s", fmtLatency(c.LatencyProbe.TransactionStartSeconds),
			fmtLatency(c.LatencyProbe.ReadSeconds), fmtLatency(c.LatencyProbe.CommitSeconds))),
		"",
		m.limitLine(c),
		m.row("Rate limit", fmt.Sprintf("%s tx/s · released %s tx/s", fmtCount(c.QoS.TransactionsPerSecondLimit), fmtCount(c.QoS.ReleasedTransactionsPerSecond))),
		m.row("Worst queues", fmt.Sprintf("storage %s · log %s", fmtBytes(c.QoS.WorstQueueBytesStorageServer), fmtBytes(c.QoS.WorstQueueBytesLogServer))),
		m.row("Worst lag", fmt.Sprintf("data %s · durability %s", fmtSeconds(c.QoS.WorstDataLagStorageServer.Seconds), fmtSeconds(c.QoS.WorstDurabilityLagStorage.Seconds))),
	)
	return lines
}

func fmtSeconds(v float64) string { return fmt.Sprintf("%.2fs", v) }

// worst is the worst median and p99 across processes of one kind.
type worst struct {
	p50, p99 float64
	n        int
}

func (w *worst) add(l *status.LatencyStats) {
	if l == nil {
		return
	}
	w.p50, w.p99 = max(w.p50, l.Median), max(w.p99, l.P99)
	w.n++
}

// latencies takes the worst GRV, read and commit latency percentiles of
// the cluster's proxies and storage servers: a mean of percentiles would
// hide the slow server the operator needs to see.
func latencies(c *status.Cluster) (grv, read, commit worst) {
	for _, p := range c.Processes {
		for i := range p.Roles {
			r := &p.Roles[i]
			if r.GRVLatency != nil {
				grv.add(r.GRVLatency.Default)
			}
			read.add(r.ReadLatency)
			commit.add(r.CommitLatency)
		}
	}
	return grv, read, commit
}

func latencyCells(w worst) string {
	if w.n == 0 {
		return padLeft("-", 9) + padLeft("-", 9)
	}
	return padLeft(fmtLatency(w.p50), 9) + padLeft(fmtLatency(w.p99), 9)
}
