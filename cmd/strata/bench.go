package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/strata-db/strata/bench"
)

type benchFlags struct {
	clusterFile   string
	workload      string
	clients       int
	processes     int
	duration      time.Duration
	keys          int
	rate          float64
	pebbleCeiling bool
	pinCPUs       bool
	jsonOut       bool
	tempDir       string
	profileDir    string
	// Worker mode: one phase for a parent `strata bench`.
	worker      bool
	clientCores int
	warmup      time.Duration
	seed        uint64
}

func newBenchCommand() *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure the database's throughput and latencies",
		Long: `Loads a key space (16-byte keys, 8-100-byte random values) and runs
FoundationDB's benchmark workloads against it, reporting operations per
second and GRV, read and commit latencies (p50/p90/p99) separately:

  90-10  transactions of 9 point reads and 1 write (ops = reads + writes);
         also run again open loop at half its peak
  write  one-key write transactions (ops = commits)
  read   read-only transactions of 10 point reads (ops = reads)
  range  read-only transactions of one 10-row range read (ops = range reads)
  cycle  FDB's Cycle (3 reads, 3 writes), checked for serializability after

Without -C it starts its own 'strata server' child process (ssd engine, a
temporary data directory, a free loopback port), reports its resident memory,
CPU per operation and its roles' own latencies, and stops it after; on a
machine with more than one CPU the server runs on one and the clients on the
others (--pin-cpus=false leaves both to the kernel). With -C
it writes keys under "bench/" and "benchcycle/" in that cluster. --pebble-ceiling also measures raw Pebble's
synced single-key writes per second in the same run, to read the figures
against what the disk allows.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.worker {
				return runBenchWorker(cmd, f)
			}
			return runBench(cmd, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.clusterFile, "cluster-file", "C", "", "drive the cluster of this cluster file (default: start a server of our own)")
	fl.StringVar(&f.workload, "workload", "all", "90-10, write, read, range, cycle or all")
	fl.IntVar(&f.clients, "clients", 100, "concurrent transactions (closed loop), or the bound on them (open loop)")
	fl.IntVar(&f.processes, "processes", 1, "client processes to spread the clients over")
	fl.IntVar(&f.clientCores, "client-cores", 1, "cores each client process runs Go code on at once (GOMAXPROCS; 0: all)")
	fl.DurationVar(&f.duration, "duration", 10*time.Second, "measured time per workload")
	fl.IntVar(&f.keys, "keys", 100_000, "keys to load and use")
	fl.Float64Var(&f.rate, "rate", 0, "open loop at this many operations per second (0: closed loop at peak)")
	fl.BoolVar(&f.pebbleCeiling, "pebble-ceiling", false, "also measure raw Pebble's synced-write ceiling")
	fl.BoolVar(&f.pinCPUs, "pin-cpus", true, "run a server of our own on one CPU and the clients on the others (on a machine with more than one)")
	fl.BoolVar(&f.jsonOut, "json", false, "print the report as JSON")
	fl.StringVar(&f.tempDir, "tmpdir", "", "directory for the server's and Pebble's data (default: the system's)")
	fl.StringVar(&f.profileDir, "server-profile", "", "save the server's CPU profile and a 1 s execution trace of each phase in this directory")
	fl.BoolVar(&f.worker, "worker", false, "run one phase as a load worker of a parent bench and print JSON")
	fl.DurationVar(&f.warmup, "warmup", time.Second, "unmeasured time before a worker's phase")
	fl.Uint64Var(&f.seed, "seed", 1, "random seed of a worker")
	for _, hidden := range []string{"worker", "warmup", "seed"} {
		_ = fl.MarkHidden(hidden)
	}
	return cmd
}

func benchWorkloads(name string) ([]bench.Workload, error) {
	if name == "all" {
		return bench.Workloads, nil
	}
	w, err := bench.ParseWorkload(name)
	if err != nil {
		return nil, err
	}
	return []bench.Workload{w}, nil
}

func runBench(cmd *cobra.Command, f benchFlags) error {
	ws, err := benchWorkloads(f.workload)
	if err != nil {
		return err
	}
	if f.clients <= 0 || f.processes <= 0 || f.duration <= 0 || f.keys <= 0 || f.rate < 0 {
		return fmt.Errorf("--clients, --processes, --duration and --keys must be positive and --rate not negative")
	}
	binary, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding the strata executable: %w", err)
	}
	stderr := cmd.ErrOrStderr()
	rep, err := bench.Run(cmd.Context(), bench.Options{
		ClusterFile: f.clusterFile, Binary: binary, Workloads: ws, Clients: f.clients, Processes: f.processes, ClientCores: f.clientCores,
		Duration: f.duration, Keys: f.keys, Rate: f.rate, PebbleCeiling: f.pebbleCeiling, PinCPUs: f.pinCPUs, TempDir: f.tempDir,
		ProfileDir: f.profileDir,
		Progress:   func(format string, args ...any) { fmt.Fprintf(stderr, "bench: "+format+"\n", args...) },
	})
	if err != nil {
		return err
	}
	if f.jsonOut {
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return rep.WriteText(cmd.OutOrStdout())
}

func runBenchWorker(cmd *cobra.Command, f benchFlags) error {
	w, err := bench.ParseWorkload(f.workload)
	if err != nil {
		return err
	}
	if f.clusterFile == "" {
		return fmt.Errorf("a bench worker needs -C")
	}
	bench.LimitCores(f.clientCores)
	out, err := bench.RunWorker(cmd.Context(), f.clusterFile, bench.Phase{
		Workload: w, Clients: f.clients, Rate: f.rate, Duration: f.duration, Warmup: f.warmup, Keys: f.keys, Seed: f.seed,
	})
	if err != nil {
		return err
	}
	return json.NewEncoder(cmd.OutOrStdout()).Encode(out)
}
