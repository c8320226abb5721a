package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/strata-db/strata/db/client"
)

// Options configure a benchmark run.
type Options struct {
	// ClusterFile names an existing cluster to drive; empty starts a
	// `Binary server` child process of our own for the run.
	ClusterFile string
	// Binary is the strata executable, run as the server and as worker
	// processes.
	Binary string
	// Workloads to run, in order.
	Workloads []Workload
	// Clients is the number of concurrent transactions (closed loop) or
	// the bound on them (open loop), over all client processes.
	Clients int
	// Processes is the number of client processes; more than one runs
	// `Binary bench --worker` children and merges their measurements.
	Processes int
	// ClientCores is how many cores each client process runs Go code on at
	// once (GOMAXPROCS; 0: all of them).
	ClientCores int
	Duration    time.Duration
	Keys        int
	// Rate, if positive, runs every workload open loop at Rate operations
	// per second; zero runs closed loop at peak, then 90-10 again at half
	// its peak.
	Rate float64
	// PebbleCeiling also measures raw Pebble's synced-write ceiling.
	PebbleCeiling bool
	// PinCPUs places a server of our own on one CPU and the clients on the
	// others (after the Pebble ceiling, which has the whole machine), when
	// the machine has more than one.
	PinCPUs bool
	// TempDir holds the server's and Pebble's data ("": the system's).
	TempDir string
	// ProfileDir, if set (with a server of our own), receives the
	// server's CPU profile of each phase's measured window,
	// <workload>-<n>.pprof, and a one-second execution trace from its
	// middle, <workload>-<n>.trace.
	ProfileDir string
	// Progress, if set, receives a line per step.
	Progress func(format string, args ...any)
}

// pebbleGoroutines is how many writers the Pebble ceiling uses: more than
// enough for Pebble to group every fsync.
const pebbleGoroutines = 256

func (o *Options) progress(format string, args ...any) {
	if o.Progress != nil {
		o.Progress(format, args...)
	}
}

// Run runs the benchmark and returns its report.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Clients <= 0 || o.Duration <= 0 || o.Keys <= 0 || len(o.Workloads) == 0 {
		return nil, fmt.Errorf("bench needs workloads, clients, a duration and keys")
	}
	o.Processes = max(o.Processes, 1)
	if o.ProfileDir != "" {
		if err := os.MkdirAll(o.ProfileDir, 0o700); err != nil {
			return nil, fmt.Errorf("profile directory: %w", err)
		}
	}
	rep := &Report{
		Keys: o.Keys, Clients: o.Clients, Processes: o.Processes, Duration: o.Duration,
		CPUs: runtime.NumCPU(), LoadAverageBefore: loadAverage(),
	}
	if o.PebbleCeiling {
		o.progress("measuring the raw Pebble ceiling (%d goroutines, %v)", pebbleGoroutines, min(o.Duration, 5*time.Second))
		ceiling, err := PebbleCeiling(o.TempDir, pebbleGoroutines, min(o.Duration, 5*time.Second))
		if err != nil {
			return nil, err
		}
		rep.Pebble = &ceiling
	}
	srv, clusterFile, err := startTarget(o)
	if err != nil {
		return nil, err
	}
	if srv != nil {
		defer srv.Stop()
		rep.Server, rep.OwnServer, rep.Placement = srv.Address, true, srv.Placement
	}
	cl, err := connect(ctx, clusterFile, srv)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	if rep.Server == "" {
		rep.Server = clusterFile
	}

	o.progress("loading %d keys", o.Keys)
	start := time.Now()
	if err := cl.Load(ctx, o.Keys, 200, 32, 1); err != nil {
		return nil, err
	}
	rep.LoadTime = time.Since(start)
	if srv != nil {
		m, err := ReadMemory(srv.PID())
		if err != nil {
			return nil, err
		}
		rep.MemoryAfterLoad = &m
	}

	r := runner{o: o, cl: cl, clusterFile: clusterFile, rep: rep}
	if srv != nil {
		r.serverPID, r.metricsURL = srv.PID(), srv.MetricsURL
	}
	for i, w := range o.Workloads {
		if err := r.settle(ctx); err != nil { // after the load, too
			return nil, err
		}
		res, err := r.phase(ctx, w, o.Rate, uint64(i+1))
		if err != nil {
			return nil, err
		}
		if w == WorkloadCycle {
			if err := cl.CheckCycle(ctx); err != nil {
				return nil, fmt.Errorf("after the cycle workload: %w", err)
			}
		}
		if w == Workload9010 && o.Rate == 0 && res.OpsPerSecond > 0 {
			if _, err := r.phase(ctx, w, res.OpsPerSecond/2, uint64(i+100)); err != nil {
				return nil, err
			}
		}
	}
	if srv != nil {
		m, err := ReadMemory(srv.PID())
		if err != nil {
			return nil, err
		}
		rep.MemoryAtEnd = &m
	}
	rep.LoadAverageAfter = loadAverage()
	return rep, nil
}

// startTarget starts a server of our own unless o names a cluster file; it
// returns the cluster file to connect with.
func startTarget(o Options) (*Server, string, error) {
	if o.ClusterFile != "" {
		return nil, o.ClusterFile, nil
	}
	var split *cpuSplit
	if o.PinCPUs {
		s, ok, err := splitCPUs(serverCores)
		if err != nil {
			return nil, "", err
		}
		if ok {
			split = &s
		}
	}
	var start func(*exec.Cmd) error
	if split != nil {
		start = split.startServer
	}
	srv, err := StartServer(o.Binary, o.TempDir, o.ProfileDir != "", start)
	if err != nil {
		return nil, "", err
	}
	o.progress("started strata server pid %d at %s (ssd engine) in %s", srv.PID(), srv.Address, srv.Dir)
	if split != nil {
		if err := split.pinClients(); err != nil {
			srv.Stop()
			return nil, "", err
		}
		srv.Placement = split.String()
		o.progress("placed the %s", srv.Placement)
	}
	return srv, srv.ClusterFile, nil
}

// serverCores is how many cores `strata server` runs Go code on by default
// (its --cores), and so how many CPUs a server of our own is given.
const serverCores = 1

// connect opens the database of clusterFile, within a minute; srv, if
// ours, explains a failure by its exit.
func connect(ctx context.Context, clusterFile string, srv *Server) (*Client, error) {
	cf, err := client.ReadClusterFile(clusterFile)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cl, err := Connect(ctx, cf.Coordinators)
	if err != nil && srv != nil {
		if exit := srv.Exited(); exit != nil {
			err = fmt.Errorf("%w (%w)", err, exit)
		}
	}
	return cl, err
}

type runner struct {
	o           Options
	cl          *Client
	clusterFile string
	serverPID   int    // 0: not ours
	metricsURL  string // "": unknown
	rep         *Report
	profiles    int
}

// phase runs one workload (open loop at rate if positive) on every client
// process and adds its result to the report.
func (r *runner) phase(ctx context.Context, w Workload, rate float64, seed uint64) (Result, error) {
	ph := Phase{
		Workload: w, Clients: r.o.Clients, Rate: rate, Duration: r.o.Duration,
		Warmup: min(time.Second, r.o.Duration/5), Keys: r.o.Keys, Seed: seed,
	}
	mode := fmt.Sprintf("peak, %d clients", ph.Clients)
	if rate > 0 {
		mode = fmt.Sprintf("open loop, %.0f ops/s", rate)
	}
	r.o.progress("running %s (%s) for %v", w, mode, ph.Duration)
	var serverCPU <-chan time.Duration
	if r.serverPID > 0 {
		serverCPU = cpuDuring(r.serverPID, ph.Warmup, ph.Duration)
	}
	var before serverMetrics
	if r.metricsURL != "" {
		before, _ = scrapeMetrics(ctx, r.metricsURL) // without it, no server-side figures
	}
	var profiled <-chan error
	if r.o.ProfileDir != "" && r.metricsURL != "" {
		r.profiles++
		profiled = r.profile(ctx, fmt.Sprintf("%s-%d", w, r.profiles), ph)
	}
	var res PhaseResult
	var err error
	if r.o.Processes == 1 {
		restore := LimitCores(r.o.ClientCores)
		res, err = r.cl.Run(ctx, ph)
		restore()
	} else {
		res, err = runWorkers(ctx, r.o.Binary, r.clusterFile, ph, r.o.Processes, r.o.ClientCores)
	}
	if err != nil {
		return Result{}, fmt.Errorf("%s (%s): %w", w, mode, err)
	}
	if serverCPU != nil {
		res.ServerCPU = <-serverCPU
	}
	if profiled != nil {
		if err := <-profiled; err != nil {
			r.o.progress("profiling %s: %v", w, err)
		}
	}
	var ceiling float64
	if r.rep.Pebble != nil {
		ceiling = r.rep.Pebble.WritesPerSecond
	}
	out := newResult(w, mode, rate, res, ceiling)
	if before != nil {
		if after, err := scrapeMetrics(ctx, r.metricsURL); err == nil {
			out.Server = latencyDeltas(before, after, "strata")
		}
	}
	r.rep.Results = append(r.rep.Results, out)
	return out, nil
}

// runWorkers runs ph split over n `bench --worker` child processes and
// merges what they measured.
func runWorkers(ctx context.Context, binary, clusterFile string, ph Phase, n, cores int) (PhaseResult, error) {
	type outcome struct {
		res PhaseResult
		err error
	}
	done := make(chan outcome, n)
	for i := range n {
		clients := ph.Clients / n
		if i < ph.Clients%n {
			clients++
		}
		args := []string{"bench", "--worker", "-C", clusterFile, "--workload", string(ph.Workload),
			"--clients", strconv.Itoa(max(clients, 1)), "--duration", ph.Duration.String(), "--warmup", ph.Warmup.String(),
			"--keys", strconv.Itoa(ph.Keys), "--rate", strconv.FormatFloat(ph.Rate/float64(n), 'f', -1, 64),
			"--seed", strconv.FormatUint(ph.Seed*1000+uint64(i), 10), "--client-cores", strconv.Itoa(cores)}
		go func() {
			res, err := runWorker(ctx, binary, args)
			done <- outcome{res, err}
		}()
	}
	total := PhaseResult{Stats: NewStats()}
	var firstErr error
	for range n {
		o := <-done
		if o.err != nil {
			firstErr = cmpErr(firstErr, o.err)
			continue
		}
		total.Stats.Merge(o.res.Stats)
		total.Skipped += o.res.Skipped
		total.ClientCPU += o.res.ClientCPU
	}
	return total, firstErr
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// WorkerOutput is what `strata bench --worker` prints: one phase's result.
type WorkerOutput struct {
	Stats     *Stats        `json:"stats"`
	Skipped   uint64        `json:"skipped"`
	ClientCPU time.Duration `json:"client_cpu_ns"`
}

func runWorker(ctx context.Context, binary string, args []string) (PhaseResult, error) {
	cmd := exec.CommandContext(ctx, binary, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return PhaseResult{}, fmt.Errorf("bench worker: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var out WorkerOutput
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return PhaseResult{}, fmt.Errorf("bench worker output: %w", err)
	}
	if out.Stats == nil {
		return PhaseResult{}, fmt.Errorf("bench worker printed no stats")
	}
	return PhaseResult{Stats: out.Stats, Skipped: out.Skipped, ClientCPU: out.ClientCPU}, nil
}

// RunWorker is `strata bench --worker`: it connects to the cluster, runs
// one phase and returns its output for the parent to merge.
func RunWorker(ctx context.Context, clusterFile string, ph Phase) (*WorkerOutput, error) {
	cl, err := connect(ctx, clusterFile, nil)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	res, err := cl.Run(ctx, ph)
	if err != nil {
		return nil, err
	}
	return &WorkerOutput{Stats: res.Stats, Skipped: res.Skipped, ClientCPU: res.ClientCPU}, nil
}

// LimitCores runs the calling process's Go code on at most cores cores at
// once (0: all of them) and returns what undoes it. A client runs every
// transaction on one flow loop, as FoundationDB's client runs them on its
// one network thread; a second core adds only idle threads woken at every
// hand-off between the loop and the network goroutines, which cost the
// client processes about 40% of their CPU on the benchmark machine.
func LimitCores(cores int) (restore func()) {
	if cores <= 0 {
		cores = runtime.NumCPU()
	}
	prev := runtime.GOMAXPROCS(cores)
	return func() { runtime.GOMAXPROCS(prev) }
}

// loadAverage returns /proc/loadavg's three load averages ("" if
// unavailable).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
