package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/engine"
	"github.com/strata-db/strata/db/flow"
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
	memory        string
	engine        string
	zone          string
	machine       string
	dataHall      string
	dc            string
}

func newServerCommand() *cobra.Command {
	var f serverFlags
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run a database server process",
		Long: `Runs one database server process. Until cluster formation arrives (coordinators
and a cluster controller recruiting roles), the process whose public address is
the cluster file's first coordinator hosts every role of a single database
(sequencer, proxies, resolver, transaction log, storage server); the cluster's
other processes run as idle workers. Data lives in --datadir and survives
restarts. --status-port serves /healthz and /metrics (Prometheus text).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runServer(cmd.Context(), f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.clusterFile, "cluster-file", "", "cluster file (default: $STRATA_CLUSTER_FILE, ./strata.cluster, /etc/strata/strata.cluster)")
	fl.StringVar(&f.publicAddress, "public-address", "", "address other processes reach this one at, host:port (required)")
	fl.StringVar(&f.listenAddress, "listen-address", "", "address to listen on (default: the public address)")
	fl.StringVar(&f.dataDir, "datadir", "", "data directory (required)")
	fl.StringVar(&f.logDir, "logdir", "", "directory for trace logs (default: stderr)")
	fl.StringVar(&f.class, "class", "unset", "process class (storage, log, transaction, stateless, ...)")
	fl.IntVar(&f.statusPort, "status-port", 0, "HTTP port for /healthz and /metrics (0: none)")
	fl.StringVar(&f.memory, "memory", "", "memory limit in bytes (sizes caches; the monitor enforces it)")
	fl.StringVar(&f.engine, "storage-engine", "ssd", "storage engine: ssd (Pebble) or memory")
	fl.StringVar(&f.zone, "locality-zone", "", "zone id")
	fl.StringVar(&f.machine, "locality-machine", "", "machine id")
	fl.StringVar(&f.dataHall, "locality-data-hall", "", "data hall id")
	fl.StringVar(&f.dc, "locality-dc", "", "data center id")
	return cmd
}

// clusterFilePath applies FoundationDB's lookup order.
func clusterFilePath(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if env := os.Getenv("STRATA_CLUSTER_FILE"); env != "" {
		return env
	}
	if _, err := os.Stat("strata.cluster"); err == nil {
		return "strata.cluster"
	}
	return "/etc/strata/strata.cluster"
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
	cf, err := client.ReadClusterFile(clusterFilePath(f.clusterFile))
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
	hostsDatabase := len(cf.Coordinators) > 0 && cf.Coordinators[0] == proc.Address()
	var eng engine.Engine
	if hostsDatabase && f.engine == "ssd" {
		if eng, err = engine.OpenPebble(filepath.Join(f.dataDir, "pebble"), engine.PebbleOptions{CacheBytes: cacheBytes(f.memory), Logger: pebbleLogger{}}); err != nil {
			return err
		}
		defer eng.Close()
	} else if f.engine != "ssd" && f.engine != "memory" {
		return fmt.Errorf("--storage-engine must be ssd or memory, not %q", f.engine)
	}
	started := make(chan error, 1)
	err = proc.Do(func(e *flow.Env) {
		e.Trace(flow.SevInfo, "ServerStarting", flow.D("Class", f.class), flow.D("ClusterFile", cf.String()), flow.D("HostsDatabase", hostsDatabase))
		if !hostsDatabase {
			started <- nil
			return
		}
		e.Spawn("StartSingle", func(c *flow.Ctx) error {
			_, err := worker.StartSingle(c, worker.Config{ID: f.publicAddress, Engine: eng})
			started <- err
			return err
		})
	})
	if err != nil {
		return err
	}
	if f.statusPort > 0 {
		stopHTTP, err := serveStatus(proc, f)
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

// serveStatus serves /healthz and /metrics on the status port.
func serveStatus(proc *flow.RealProcess, f serverFlags) (func(), error) {
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
