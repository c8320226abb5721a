package controller

import (
	"errors"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/server/coordinator"
	"github.com/strata-db/strata/db/wire"
)

// MaxWorkers bounds the processes a controller tracks; reports from more
// are refused, so a misdirected fleet cannot grow its memory or status
// document without bound.
const MaxWorkers = 10_000

// DefaultReportInterval is how often a worker reports its metrics.
const DefaultReportInterval = time.Second

// ConfigurationReader reads the database configuration the deployer wrote
// (FoundationDB's \xff/conf/ keys). Values are "" when not written.
type ConfigurationReader interface {
	ReadConfiguration(c *flow.Ctx) (Settings, error)
}

// Settings are the database's management keys as the controller acts on
// them: the configuration, the exclusions (\xff/conf/excluded/ and
// \xff/conf/failed/) and the zone under maintenance.
type Settings struct {
	RedundancyMode, StorageEngine string
	// Roles are the role counts `configure` set (0: the mode's default).
	Roles      RoleCounts
	Exclusions []kv.Exclusion
	// Maintenance is the zone data distribution leaves alone, if any.
	Maintenance *kv.HealthyZone
}

// RoleCounts are the numbers of transaction roles a configuration asks
// for; 0 leaves one to the redundancy mode's default.
type RoleCounts struct {
	CommitProxies, GRVProxies, Resolvers, Logs int
}

// Config configures a Member.
type Config struct {
	// Conn names the cluster's coordinators.
	Conn coordinator.Conn
	// Class is the process class; it sets the candidacy's priority.
	Class string
	// Report returns the process's current report. Required.
	Report func() *wire.WorkerReport
	// ReportInterval is the time between reports (default
	// DefaultReportInterval).
	ReportInterval time.Duration
	// Configuration, if set, is read by the controller every
	// ConfigurationInterval; without it, or before the deployer wrote the
	// keys, status shows "single" and the engine the database host reports.
	Configuration ConfigurationReader
	// ConfigurationInterval defaults to 5 s.
	ConfigurationInterval time.Duration
	// Recover makes the elected controller recover and run the database:
	// recruit its roles on the registered workers (which must run a
	// worker.Host) and recover it whenever a transaction role fails.
	Recover bool
	// ClusterFilePath is shown in status (client.cluster_file.path).
	ClusterFilePath string
	// DataDistribution tunes shard splitting and balancing.
	DataDistribution DataDistributionKnobs
}

func (cfg Config) withDefaults() (Config, error) {
	if cfg.Report == nil {
		return cfg, errors.New("controller: Config.Report is required")
	}
	if cfg.ReportInterval <= 0 {
		cfg.ReportInterval = DefaultReportInterval
	}
	if cfg.ConfigurationInterval <= 0 {
		cfg.ConfigurationInterval = 5 * time.Second
	}
	return cfg, nil
}

// Priority returns the candidacy priority of a process class: higher is a
// better cluster controller. Processes that do no transaction or storage
// work are preferred, as FoundationDB's fitness for the controller does.
func Priority(class string) uint64 {
	switch class {
	case "cluster_controller":
		return 4
	case "stateless", "transaction":
		return 3
	case "unset", "":
		return 2
	default:
		return 1
	}
}

// setIn writes the counts into conf.
func (r RoleCounts) setIn(conf *wire.DatabaseConfiguration) {
	conf.CommitProxies, conf.GrvProxies = int32(r.CommitProxies), int32(r.GRVProxies)
	conf.Resolvers, conf.Logs = int32(r.Resolvers), int32(r.Logs)
}

// in reports whether conf asks for the same counts.
func (r RoleCounts) in(conf *wire.DatabaseConfiguration) bool {
	return int(conf.GetCommitProxies()) == r.CommitProxies && int(conf.GetGrvProxies()) == r.GRVProxies &&
		int(conf.GetResolvers()) == r.Resolvers && int(conf.GetLogs()) == r.Logs
}
