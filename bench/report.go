package bench

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is a benchmark run's figures.
type Report struct {
	Server    string `json:"server"`
	OwnServer bool   `json:"own_server"`
	// Placement says which CPUs the server and the clients ran on; empty
	// when the bench did not place them.
	Placement         string        `json:"placement,omitempty"`
	Keys              int           `json:"keys"`
	Clients           int           `json:"clients"`
	Processes         int           `json:"client_processes"`
	Duration          time.Duration `json:"duration_ns"`
	CPUs              int           `json:"cpus"`
	LoadAverageBefore string        `json:"load_average_before"`
	LoadAverageAfter  string        `json:"load_average_after"`
	LoadTime          time.Duration `json:"load_time_ns"`
	// MemoryAfterLoad and MemoryAtEnd are the server's, when it is ours.
	MemoryAfterLoad *Memory `json:"server_memory_after_load,omitempty"`
	MemoryAtEnd     *Memory `json:"server_memory_at_end,omitempty"`
	// Pebble is raw Pebble's synced single-key write ceiling, when
	// measured.
	Pebble  *PebbleResult `json:"pebble_ceiling,omitempty"`
	Results []Result      `json:"results"`
}

// Result is one phase's figures.
type Result struct {
	Workload     Workload `json:"workload"`
	Mode         string   `json:"mode"`
	TargetRate   float64  `json:"target_ops_per_s,omitempty"`
	OpsPerSecond float64  `json:"ops_per_s"`
	TxnPerSecond float64  `json:"txn_per_s"`
	// VsPebble is OpsPerSecond over the Pebble ceiling (0: not measured).
	VsPebble  float64           `json:"vs_pebble_ceiling,omitempty"`
	Retries   uint64            `json:"retries"`
	RetriesBy map[string]uint64 `json:"retries_by_error,omitempty"`
	Conflicts uint64            `json:"conflicts"`
	Skipped   uint64            `json:"skipped"`
	// ServerCores and ClientCores are the CPU the server and the client
	// process(es) used in the measured window, in cores (0: unknown).
	ServerCores float64 `json:"server_cores,omitempty"`
	ClientCores float64 `json:"client_cores,omitempty"`
	// ServerCPUPerOp is the server's CPU time per operation: what the
	// server would do per core, whatever else the machine is running.
	ServerCPUPerOp time.Duration `json:"server_cpu_per_op_ns,omitempty"`
	// Server holds the server's own latency histograms over the phase
	// (warm-up included), when its metrics page is known.
	Server    map[string]ServerLatency `json:"server_latencies,omitempty"`
	Latencies map[Op]LatencySummary    `json:"latencies"`
	Rates     map[Op]float64           `json:"ops_per_s_by_type"`
}

// LatencySummary is one operation's latency distribution.
type LatencySummary struct {
	Count uint64        `json:"count"`
	P50   time.Duration `json:"p50_ns"`
	P90   time.Duration `json:"p90_ns"`
	P99   time.Duration `json:"p99_ns"`
	Max   time.Duration `json:"max_ns"`
	Mean  time.Duration `json:"mean_ns"`
}

func newResult(w Workload, mode string, rate float64, res PhaseResult, ceiling float64) Result {
	st := res.Stats
	r := Result{
		Workload: w, Mode: mode, TargetRate: rate,
		OpsPerSecond: w.OpsPerSecond(st), Retries: st.Retries, RetriesBy: st.RetriesBy, Conflicts: st.Conflicts, Skipped: res.Skipped,
		Latencies: map[Op]LatencySummary{}, Rates: map[Op]float64{},
	}
	if st.Elapsed > 0 {
		r.TxnPerSecond = float64(st.Transactions) / st.Elapsed.Seconds()
	}
	if ceiling > 0 {
		r.VsPebble = r.OpsPerSecond / ceiling
	}
	if st.Elapsed > 0 {
		r.ServerCores = res.ServerCPU.Seconds() / st.Elapsed.Seconds()
		r.ClientCores = res.ClientCPU.Seconds() / st.Elapsed.Seconds()
		if ops := w.opsIn(st); ops > 0 && res.ServerCPU > 0 {
			r.ServerCPUPerOp = res.ServerCPU / time.Duration(ops)
		}
	}
	for _, op := range Ops {
		if st.Count(op) == 0 {
			continue
		}
		l := st.Latency(op)
		r.Latencies[op] = summarise(l)
		r.Rates[op] = st.Rate(op)
	}
	return r
}

// WriteText writes the report as tables.
func (r *Report) WriteText(out io.Writer) error {
	var b strings.Builder
	server := r.Server
	if r.OwnServer {
		server += " (a strata server child process started for this run, ssd engine, fsync on)"
	}
	fmt.Fprintf(&b, "server:       %s\n", server)
	fmt.Fprintf(&b, "keys:         %s (16-byte keys, 8-100-byte values), loaded in %v\n", commas(float64(r.Keys)), r.LoadTime.Round(time.Millisecond))
	fmt.Fprintf(&b, "clients:      %d concurrent transactions on %d client process(es), %v per phase\n", r.Clients, r.Processes, r.Duration)
	fmt.Fprintf(&b, "machine:      %d CPUs, load average %s before, %s after\n", r.CPUs, r.LoadAverageBefore, r.LoadAverageAfter)
	if r.Placement != "" {
		fmt.Fprintf(&b, "placement:    %s\n", r.Placement)
	}
	if m := r.MemoryAfterLoad; m != nil {
		fmt.Fprintf(&b, "server RSS:   %s after loading", mib(m.RSS))
		if e := r.MemoryAtEnd; e != nil {
			fmt.Fprintf(&b, ", %s at the end (peak %s)", mib(e.RSS), mib(e.Peak))
		}
		b.WriteString("\n")
	}
	if p := r.Pebble; p != nil {
		fmt.Fprintf(&b, "pebble:       %s synced single-key batches/s (raw Pebble, %d goroutines, same run); one writer's synced commit p50 %s, mean %s, p99 %s\n",
			commas(p.WritesPerSecond), pebbleGoroutines, ms(p.SyncedCommit.P50), ms(p.SyncedCommit.Mean), ms(p.SyncedCommit.P99))
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workload\tload\tops/s\ttxn/s\tvs pebble\tretries\tskipped\tserver cores\tclient cores\tserver CPU/op\tops/s per server core\t")
	for _, res := range r.Results {
		vs := "-"
		if res.VsPebble > 0 {
			vs = fmt.Sprintf("%.2f", res.VsPebble)
		}
		perOp, perCore := "-", "-"
		if res.ServerCPUPerOp > 0 {
			perOp = fmt.Sprintf("%.1fµs", float64(res.ServerCPUPerOp)/float64(time.Microsecond))
			perCore = commas(float64(time.Second) / float64(res.ServerCPUPerOp))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%.2f\t%.2f\t%s\t%s\t\n", res.Workload, res.Mode, commas(res.OpsPerSecond), commas(res.TxnPerSecond),
			vs, res.Retries, res.Skipped, res.ServerCores, res.ClientCores, perOp, perCore)
	}
	tw.Flush()
	for _, res := range r.Results {
		if len(res.RetriesBy) == 0 {
			continue
		}
		names := slices.Sorted(maps.Keys(res.RetriesBy))
		parts := make([]string, len(names))
		for i, n := range names {
			parts[i] = fmt.Sprintf("%s %d", n, res.RetriesBy[n])
		}
		fmt.Fprintf(&b, "retries of %s (%s): %s\n", res.Workload, res.Mode, strings.Join(parts, ", "))
	}
	r.writeServerLatencies(&b)
	b.WriteString("\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workload\tload\top\tcount\tops/s\tp50\tp90\tp99\tmax\t")
	for _, res := range r.Results {
		for _, op := range Ops {
			l, ok := res.Latencies[op]
			if !ok {
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t\n", res.Workload, res.Mode, op, l.Count, commas(res.Rates[op]),
				ms(l.P50), ms(l.P90), ms(l.P99), ms(l.Max))
		}
	}
	tw.Flush()
	_, err := io.WriteString(out, b.String())
	return err
}

// writeServerLatencies writes the server-side means, a column per
// histogram, when there are any.
func (r *Report) writeServerLatencies(b *strings.Builder) {
	names := map[string]bool{}
	for _, res := range r.Results {
		for n := range res.Server {
			names[n] = true
		}
	}
	if len(names) == 0 {
		return
	}
	cols := slices.Sorted(maps.Keys(names))
	b.WriteString("\nserver-side mean latencies (the server's own histograms, over each phase):\n")
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "workload\tload\t%s\t\n", strings.Join(cols, "\t"))
	for _, res := range r.Results {
		cells := make([]string, len(cols))
		for i, c := range cols {
			cells[i] = "-"
			if l, ok := res.Server[c]; ok {
				cells[i] = ms(l.Mean)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t\n", res.Workload, res.Mode, strings.Join(cells, "\t"))
	}
	tw.Flush()
}

func summarise(l *Latencies) LatencySummary {
	return LatencySummary{Count: l.Count(), P50: l.Quantile(0.5), P90: l.Quantile(0.9), P99: l.Quantile(0.99), Max: l.Max(), Mean: l.Mean()}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3fms", float64(d)/float64(time.Millisecond)) }

func mib(n int64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }

// commas formats n rounded to an integer with thousands separators.
func commas(n float64) string {
	s := fmt.Sprintf("%.0f", n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
