package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/clusterfile"
	"github.com/strata-db/strata/db/engine"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/server/node"
	"github.com/strata-db/strata/db/server/procctl"
	"github.com/strata-db/strata/db/server/worker"
)

// serverFlags are `strata server`'s flags; the supervisor conf that the
// deployer renders (deployer/render) passes exactly these.
type serverFlags struct {
	clusterFile   string
	publicAddress string
	listenAddress string
	dataDir       string
	logDir        string
	class         string
	statusPort    int
	pprof         bool
	memory        string
	engine        string
	zone          string
	machine       string
	dataHall      string
	dc            string
	cores         int
	coresSet      bool // --cores was given (otherwise $GOMAXPROCS, if set, wins)
}

func newServerCommand() *cobra.Command {
	var f serverFlags
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run a database server process",
		Long: `Runs one database server process. A process whose public address is in the
cluster file is a coordinator. Every process campaigns for cluster controller
(stateless and transaction classes are preferred) and registers with the elected
one, which keeps the cluster's process list and builds its status document
(strata status). The elected controller recruits the database's roles on the
processes (by class: storage, log, transaction, stateless, unset) and recovers
the database whenever one of its transaction roles fails. Data lives in --datadir and survives restarts. --status-port
serves /healthz, /metrics (Prometheus text) and /status (the status document).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.coresSet = cmd.Flags().Changed("cores")
			return runServer(cmd.Context(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.clusterFile, "cluster-file", "", "cluster file (default: $STRATA_CLUSTER_FILE, ./strata.cluster, /etc/strata/strata.cluster)")
	fl.StringVar(&f.publicAddress, "public-address", "", "address other processes reach this one at, host:port (required)")
	fl.StringVar(&f.listenAddress, "listen-address", "", "address to listen on (default: the public address)")
	fl.StringVar(&f.dataDir, "datadir", "", "data directory (required)")
	fl.StringVar(&f.logDir, "logdir", "", "directory for trace logs (default: stderr)")
	fl.StringVar(&f.class, "class", "unset", "process class (storage, log, transaction, stateless, ...)")
	fl.IntVar(&f.statusPort, "status-port", 0, "HTTP port for /healthz and /metrics (0: none)")
	fl.BoolVar(&f.pprof, "pprof", false, "also serve Go's profiles (/debug/pprof/) on the status port")
	fl.StringVar(&f.memory, "memory", "", "memory limit in bytes (sizes caches; the monitor enforces it)")
	fl.StringVar(&f.engine, "storage-engine", "ssd", "storage engine: ssd (Pebble) or memory")
	fl.StringVar(&f.zone, "locality-zone", "", "zone id")
	fl.StringVar(&f.machine, "locality-machine", "", "machine id")
	fl.StringVar(&f.dataHall, "locality-data-hall", "", "data hall id")
	fl.StringVar(&f.dc, "locality-dc", "", "data center id")
	fl.IntVar(&f.cores, "cores", 1, "cores the process runs Go code on at once (GOMAXPROCS; 0: all). "+
		"Its roles share one event loop, as fdbserver's do: run one process per core to use more")
	return cmd
}

func runServer(ctx context.Context, f serverFlags) error {
	if f.publicAddress == "" || f.dataDir == "" {
		return errors.New("--public-address and --datadir are required")
	}
	if _, _, err := net.SplitHostPort(f.publicAddress); err != nil {
		return fmt.Errorf("--public-address %q: %w", f.publicAddress, err)
	}
	if f.listenAddress == "" {
		f.listenAddress = f.publicAddress
	}
	if err := limitCores(f.cores, f.coresSet); err != nil {
		return err
	}
	cfPath := clusterFilePath(f.clusterFile)
	cf, err := clusterfile.Read(cfPath)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(f.dataDir, 0o700); err != nil {
		return fmt.Errorf("creating the data directory: %w", err)
	}
	tracer, closeTrace, err := openTraceLog(f.logDir, f.publicAddress)
	if err != nil {
		return err
	}
	defer closeTrace()
	proc, err := flow.NewRealProcess(flow.RealConfig{
		ListenAddress: f.listenAddress, PublicAddress: f.publicAddress, DataDir: f.dataDir,
		ProcessID: f.publicAddress, Tracer: tracer,
		Locality: flow.Locality{Zone: f.zone, Machine: f.machine, DataHall: f.dataHall, DC: f.dc},
	})
	if err != nil {
		return err
	}
	if f.engine != "ssd" && f.engine != "memory" {
		return fmt.Errorf("--storage-engine must be ssd or memory, not %q", f.engine)
	}
	coordinates := slices.Contains(cf.Addresses(), string(proc.Address()))
	engines := &engineSet{dataDir: f.dataDir, kind: f.engine, cacheBytes: cacheBytes(f.memory)}
	defer engines.closeAll()
	started := make(chan error, 1)
	var statusDB *client.Database
	err = proc.Do(func(e *flow.Env) {
		e.Trace(flow.SevInfo, "ServerStarting", flow.D("Class", f.class), flow.D("ClusterFile", cf.String()),
			flow.D("Coordinator", coordinates))
		var err error
		if statusDB, err = startNode(e, f, cf, cfPath, engines, started); err != nil {
			started <- err
		}
	})
	if err != nil {
		return err
	}
	if f.statusPort > 0 {
		// statusDB is set on the loop before it serves anything else, and
		// read there only.
		stopHTTP, err := serveStatus(proc, f, func() *client.Database { return statusDB })
		if err != nil {
			return err
		}
		defer stopHTTP()
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- proc.Run(runCtx) }()
	select {
	case err := <-started:
		if err != nil {
			cancel()
			<-done
			return fmt.Errorf("starting the database: %w", err)
		}
	case err := <-done:
		return err
	}
	return <-done
}

func cacheBytes(memory string) int64 {
	n, err := strconv.ParseInt(memory, 10, 64)
	if err != nil || n <= 0 {
		return 0 // the engine's default
	}
	return max(n/4, 8<<20)
}

// openTraceLog writes JSON trace lines to logdir/trace.<address>.json, or
// stderr without a log directory.
func openTraceLog(logDir, address string) (flow.Tracer, func(), error) {
	if logDir == "" {
		return flow.NewJSONTracer(os.Stderr, flow.SevInfo), func() {}, nil
	}
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, nil, err
	}
	name := "trace." + strings.NewReplacer(":", "_", "/", "_").Replace(address) + ".json"
	f, err := os.OpenFile(filepath.Join(logDir, name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, nil, err
	}
	return flow.NewJSONTracer(f, flow.SevInfo), func() { f.Close() }, nil
}

// serveStatus serves /healthz, /metrics and /status on the status port.
func serveStatus(proc *flow.RealProcess, f serverFlags, db func() *client.Database) (func(), error) {
	host, _, _ := net.SplitHostPort(f.listenAddress)
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(f.statusPort)))
	if err != nil {
		return nil, fmt.Errorf("status port: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := proc.Call(ctx, func(*flow.Env) {}); err != nil {
			http.Error(w, "process loop not responding: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	if f.pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	}
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := proc.Call(ctx, func(e *flow.Env) { _ = e.Metrics().WritePrometheus(&b, "strata") }); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprint(w, b.String())
	})
	mux.HandleFunc("/status", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), client.StatusTimeout+2*time.Second)
		defer cancel()
		doc, err := flow.Go(ctx, proc, "HTTPStatus", func(c *flow.Ctx) ([]byte, error) {
			if db() == nil {
				return nil, errors.New("the server has not started")
			}
			return db().CreateTransaction().Get(c, client.StatusJSONKey)
		})
		if err != nil {
			http.Error(w, "reading status: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return func() { _ = srv.Close() }, nil
}

// pebbleLogger keeps Pebble's routine messages out of the server's output;
// errors still reach stderr (the monitor's log for the process).
type pebbleLogger struct{}

func (pebbleLogger) Infof(string, ...any) {}
func (pebbleLogger) Errorf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "pebble: "+format+"\n", args...)
}
func (pebbleLogger) Fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "pebble: fatal: "+format+"\n", args...)
	os.Exit(1)
}

// startNode starts the process's cluster parts on e (db/server/node): its
// coordinator (every server process is one; `coordinators` may name it),
// its role host and its membership (campaigning for controller, reporting
// to it, following the coordinators and rewriting cfPath when they move).
// It returns the client the status endpoints read through, which follows
// them too; started receives the node's start error.
func startNode(e *flow.Env, f serverFlags, cf clusterfile.ClusterFile, cfPath string, engines *engineSet, started chan<- error) (*client.Database, error) {
	entries := make([]flow.Address, 0, len(cf.Coordinators))
	for _, a := range cf.Addresses() {
		entries = append(entries, flow.Address(a))
	}
	db, err := client.NewDatabase(e, entries, client.Config{
		OpenDatabaseToken: kv.TokenOpenDatabase,
		Cluster:           &client.ClusterInfo{File: cf, Path: cfPath},
	})
	if err != nil {
		return nil, err
	}
	// kill (strata cli) restarts the process: it exits with status 0 and
	// its monitor starts it again at once.
	if _, err := procctl.Start(e, procctl.Config{ProcessID: f.publicAddress, Reboot: func() {
		e.Trace(flow.SevWarnAlw, "ProcessRebooting")
		os.Exit(0)
	}}); err != nil {
		return nil, err
	}
	e.Spawn("StartNode", func(c *flow.Ctx) error {
		_, err := node.Start(c, node.Config{
			ClusterFile: cf, ClusterFilePath: cfPath,
			Identity: worker.Identity{
				ProcessID: f.publicAddress, Class: f.class, Locality: localityMap(f), Release: version,
				MemoryLimit: memoryLimit(f.memory), StorageEngine: f.engine, Usage: procUsage,
			},
			OpenEngine:    engines.open,
			Configuration: node.ConfigurationReader{DB: db},
		})
		started <- err
		return err
	})
	return db, nil
}

// engineSet opens the storage servers' engines in the data directory and
// closes them when the process exits.
type engineSet struct {
	dataDir    string
	kind       string
	cacheBytes int64
	opened     []engine.Engine
}

func (s *engineSet) open(c *flow.Ctx, dir string) (engine.Engine, error) {
	var eng engine.Engine
	var err error
	if s.kind == "memory" {
		eng, err = engine.OpenMemory(c, c.Env.Files(), dir)
	} else {
		err = c.Blocking(func() error {
			eng, err = engine.OpenPebble(filepath.Join(s.dataDir, dir), engine.PebbleOptions{CacheBytes: s.cacheBytes, Logger: pebbleLogger{}})
			return err
		})
	}
	if err != nil {
		return nil, err
	}
	s.opened = append(s.opened, eng)
	return eng, nil
}

func (s *engineSet) closeAll() {
	for _, e := range s.opened {
		_ = e.Close()
	}
}

// localityMap is the locality in status's names.
func localityMap(f serverFlags) map[string]string {
	m := map[string]string{"processid": f.publicAddress}
	for k, v := range map[string]string{"zoneid": f.zone, "machineid": f.machine, "data_hall": f.dataHall, "dcid": f.dc} {
		if v != "" {
			m[k] = v
		}
	}
	return m
}

func memoryLimit(memory string) int64 {
	n, err := strconv.ParseInt(memory, 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// clockTicks is the kernel's USER_HZ, 100 on every Linux Go supports.
const clockTicks = 100

// procUsage reads the process's CPU time and resident set from /proc (0s
// where /proc is unavailable). Role code may not touch the OS, so the
// worker gets this as a hook.
func procUsage() (cpuSeconds float64, rssBytes int64) {
	if stat, err := os.ReadFile("/proc/self/stat"); err == nil {
		// Fields after the command name, which is parenthesised and may
		// hold spaces: state is field 3, utime 14, stime 15.
		if i := strings.LastIndexByte(string(stat), ')'); i >= 0 {
			fields := strings.Fields(string(stat[i+1:]))
			if len(fields) > 12 {
				ut, _ := strconv.ParseFloat(fields[11], 64)
				st, _ := strconv.ParseFloat(fields[12], 64)
				cpuSeconds = (ut + st) / clockTicks
			}
		}
	}
	if statm, err := os.ReadFile("/proc/self/statm"); err == nil {
		if fields := strings.Fields(string(statm)); len(fields) > 1 {
			pages, _ := strconv.ParseInt(fields[1], 10, 64)
			rssBytes = pages * int64(os.Getpagesize())
		}
	}
	return cpuSeconds, rssBytes
}

// clusterFilePath applies FoundationDB's lookup order (clusterfile.Lookup).
func clusterFilePath(flagValue string) string {
	path, _ := clusterfile.Lookup(flagValue)
	return path
}

// limitCores sets how many cores the process runs Go code on at once. Every
// role of a process runs on its one flow loop, so a second core buys little
// beyond Pebble's background work, and costs much: each hand-off between
// the loop and the network goroutines then wakes an idle thread that spins
// looking for work (futexes, nanosleeps, epoll), which measured as 40% of a
// process's CPU and halved its operations per core (docs/benchmarks.md,
// session 5). FoundationDB's answer is the same: one single-threaded
// fdbserver per core. $GOMAXPROCS wins unless --cores was given.
func limitCores(cores int, given bool) error {
	if cores < 0 {
		return fmt.Errorf("--cores must be 0 (all) or more, not %d", cores)
	}
	if !given && os.Getenv("GOMAXPROCS") != "" {
		return nil
	}
	if cores == 0 {
		cores = runtime.NumCPU()
	}
	runtime.GOMAXPROCS(cores)
	return nil
}
