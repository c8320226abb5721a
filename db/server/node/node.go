package node

import (
	"fmt"
	"time"

	"github.com/strata-db/strata/db/client"

	"github.com/strata-db/strata/db/clusterfile"
	"github.com/strata-db/strata/db/engine"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/server/controller"
	"github.com/strata-db/strata/db/server/coordinator"
	"github.com/strata-db/strata/db/server/dbinfo"
	"github.com/strata-db/strata/db/server/storage"
	"github.com/strata-db/strata/db/server/worker"
	"github.com/strata-db/strata/db/wire"
)

// Config describes a server process.
type Config struct {
	// ClusterFile names the coordinators; ClusterFilePath is where it was
	// read from (for status).
	ClusterFile     clusterfile.ClusterFile
	ClusterFilePath string
	// Identity is what the process reports about itself.
	Identity worker.Identity
	// OpenEngine opens a storage server's engine in a directory of the
	// data directory; nil means the memory engine.
	OpenEngine func(c *flow.Ctx, dir string) (engine.Engine, error)
	// StorageKnobs tune the storage servers.
	StorageKnobs storage.Knobs
	// Configuration, if set, lets the controller read the database's
	// configuration keys.
	Configuration controller.ConfigurationReader
	// CoordinatorTiming tunes the coordinators and the election; zero
	// fields take the defaults.
	CoordinatorTiming coordinator.Timing
	// DataDistribution tunes the controller's shard splitting and
	// balancing; zero fields take the defaults.
	DataDistribution controller.DataDistributionKnobs
	// WriteClusterFile persists a new connection string the process
	// follows after a coordinators change. nil writes ClusterFilePath
	// atomically (clusterfile.WriteAtomic) when it is set, and nothing
	// otherwise; the simulator records it instead.
	WriteClusterFile func(c *flow.Ctx, cf clusterfile.ClusterFile) error
}

// Node is a running server process.
type Node struct {
	Host      *worker.Host
	Member    *controller.Member
	Publisher *dbinfo.Publisher
	Reporter  *worker.Reporter
}

// Start starts the process's parts on c's Env.
func Start(c *flow.Ctx, cfg Config) (*Node, error) {
	env := c.Env
	n := &Node{}
	// Every server process coordinates, as every fdbserver can: a process
	// not named in the cluster file today may be named by `coordinators`
	// tomorrow, and then it must already answer. It answers nothing for a
	// cluster key it holds no state for until asked.
	if _, err := coordinator.Start(env, coordinator.Config{BaseToken: kv.TokenCoordinatorBase, Timing: cfg.CoordinatorTiming}); err != nil {
		return nil, fmt.Errorf("node: starting the coordinator: %w", err)
	}
	// So every process also answers clients' OpenDatabaseRequest: a
	// client whose cluster file names any of them opens the database.
	p, err := dbinfo.New(env, dbinfo.Config{Token: kv.TokenOpenDatabase, Info: &wire.ClientDBInfo{}})
	if err != nil {
		return nil, fmt.Errorf("node: publishing the database: %w", err)
	}
	n.Publisher = p
	h, err := worker.StartHost(c, worker.HostConfig{
		ProcessID: cfg.Identity.ProcessID, OpenEngine: cfg.OpenEngine, StorageKnobs: cfg.StorageKnobs,
		OnServerDBInfo: func(info *wire.ServerDBInfo) { n.Publisher.Set(info.GetClient()) },
	})
	if err != nil {
		return nil, fmt.Errorf("node: starting the worker: %w", err)
	}
	n.Host = h
	if cfg.Configuration == nil {
		entries := make([]flow.Address, 0, len(cfg.ClusterFile.Coordinators))
		for _, a := range cfg.ClusterFile.Addresses() {
			entries = append(entries, flow.Address(a))
		}
		// With the cluster named, the client follows the coordinators
		// when they move, as the member does.
		db, err := client.NewDatabase(env, entries, client.Config{OpenDatabaseToken: kv.TokenOpenDatabase,
			Cluster: &client.ClusterInfo{File: cfg.ClusterFile, Path: cfg.ClusterFilePath}})
		if err != nil {
			h.Stop()
			return nil, fmt.Errorf("node: opening the database: %w", err)
		}
		cfg.Configuration = ConfigurationReader{DB: db}
	}
	n.Reporter = worker.NewReporter(env, cfg.Identity)
	n.Reporter.SetHost(h)
	n.Member, err = controller.Start(env, controller.Config{
		Conn:             coordinator.Conn{File: cfg.ClusterFile, BaseToken: kv.TokenCoordinatorBase, Timing: cfg.CoordinatorTiming},
		Class:            cfg.Identity.Class,
		Report:           n.Reporter.Report,
		Configuration:    cfg.Configuration,
		ClusterFilePath:  cfg.ClusterFilePath,
		Recover:          true,
		DataDistribution: cfg.DataDistribution,
		// Configuration changes start a recovery: notice them within a
		// second.
		ConfigurationInterval: time.Second,
	})
	if err != nil {
		h.Stop()
		return nil, fmt.Errorf("node: joining the cluster: %w", err)
	}
	n.Member.OnConnectionChange(cfg.clusterFileWriter())
	return n, nil
}

// clusterFileWriter returns how the process persists a connection string
// it follows.
func (cfg Config) clusterFileWriter() func(c *flow.Ctx, cf clusterfile.ClusterFile) error {
	if cfg.WriteClusterFile != nil {
		return cfg.WriteClusterFile
	}
	if cfg.ClusterFilePath == "" {
		return nil
	}
	path := cfg.ClusterFilePath
	return func(c *flow.Ctx, cf clusterfile.ClusterFile) error {
		// The rename and syncs block: off the baton.
		return c.Blocking(func() error { return clusterfile.WriteAtomic(path, cf) })
	}
}
