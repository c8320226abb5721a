package status

import "strings"

// Status is the whole document. Cluster is nil when the client could not
// reach the cluster controller: the Client section then says why.
type Status struct {
	Cluster *Cluster `json:"cluster,omitempty"`
	Client  Client   `json:"client"`
}

// Client is what the reading client itself observed (FDB `client`).
type Client struct {
	Coordinators   ClientCoordinators `json:"coordinators"`
	DatabaseStatus DatabaseStatus     `json:"database_status"`
	ClusterFile    ClusterFile        `json:"cluster_file"`
	Messages       []Message          `json:"messages,omitempty"`
	// Timestamp is when the document was produced, in Unix seconds.
	Timestamp int64 `json:"timestamp"`
}

// ClientCoordinators lists the coordinators from the cluster file and
// whether the client reached each of them. As in FDB, coordinator
// reachability lives in the client section (the cluster section has only
// configuration.coordinators_count): it is known even when no cluster
// controller answers.
type ClientCoordinators struct {
	Coordinators    []Coordinator `json:"coordinators"`
	QuorumReachable bool          `json:"quorum_reachable"`
}

// Coordinator is one coordinator as seen by the client.
type Coordinator struct {
	Address   string `json:"address"`
	Reachable bool   `json:"reachable"`
	Protocol  string `json:"protocol,omitempty"`
}

// DatabaseStatus is the client's verdict on the database.
type DatabaseStatus struct {
	Available bool `json:"available"`
	Healthy   bool `json:"healthy"`
}

// ClusterFile names the cluster file the client used.
type ClusterFile struct {
	Path     string `json:"path"`
	UpToDate bool   `json:"up_to_date"`
}

// Message is a warning or condition (FDB `messages[]`), for the cluster, the
// client or one process. Name is a stable identifier such as
// "unreachable_processes" or "storage_server_lagging"; Description is for
// people.
type Message struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Time is when a process message was raised, in Unix seconds.
	Time float64 `json:"time,omitempty"`
	// UnreachableProcesses is set on the cluster message
	// "unreachable_processes".
	UnreachableProcesses []ProcessAddress `json:"unreachable_processes,omitempty"`
}

// ProcessAddress names a process by its address.
type ProcessAddress struct {
	Address string `json:"address"`
}

// Cluster is the cluster controller's view (FDB `cluster`).
type Cluster struct {
	// ConnectionString is "description:id@addr,addr,..." as in the cluster
	// file; its description is the cluster's name.
	ConnectionString  string `json:"connection_string"`
	ProtocolVersion   string `json:"protocol_version"`
	Generation        int64  `json:"generation"`
	DatabaseAvailable bool   `json:"database_available"`
	// MaintenanceZone is the zone whose failures do not trigger data
	// movement, if one is set.
	MaintenanceZone string `json:"maintenance_zone,omitempty"`

	Configuration  Configuration      `json:"configuration"`
	RecoveryState  RecoveryState      `json:"recovery_state"`
	FaultTolerance FaultTolerance     `json:"fault_tolerance"`
	Data           Data               `json:"data"`
	Workload       Workload           `json:"workload"`
	QoS            QoS                `json:"qos"`
	LatencyProbe   LatencyProbe       `json:"latency_probe"`
	Processes      map[string]Process `json:"processes"`
	Messages       []Message          `json:"messages,omitempty"`
	// Logs are the log generations: the current one's log servers, where
	// they run and whether their processes are up (FDB's cluster.logs).
	Logs []LogGeneration `json:"logs,omitempty"`
}

// LogGeneration is one generation's log servers.
type LogGeneration struct {
	Epoch                int64       `json:"epoch"`
	Current              bool        `json:"current"`
	LogReplicationFactor int         `json:"log_replication_factor"`
	LogServers           []LogServer `json:"log_servers"`
}

// LogServer is one log server of a generation.
type LogServer struct {
	ID      string `json:"id"`
	Address string `json:"address"`
	Healthy bool   `json:"healthy"`
}

// Name is the cluster's description from its connection string ("" if the
// string is malformed).
func (c *Cluster) Name() string {
	desc, _, ok := strings.Cut(c.ConnectionString, ":")
	if !ok {
		return ""
	}
	return desc
}

// Configuration is the database configuration (FDB
// `cluster.configuration`). Counts are zero when left to the cluster.
type Configuration struct {
	RedundancyMode    string           `json:"redundancy_mode"`
	StorageEngine     string           `json:"storage_engine"`
	LogEngine         string           `json:"log_engine,omitempty"`
	StorageReplicas   int              `json:"storage_replicas,omitempty"`
	LogReplicas       int              `json:"log_replicas,omitempty"`
	StoragePolicy     string           `json:"storage_replication_policy,omitempty"`
	LogPolicy         string           `json:"log_replication_policy,omitempty"`
	CommitProxies     int              `json:"commit_proxies,omitempty"`
	GRVProxies        int              `json:"grv_proxies,omitempty"`
	Resolvers         int              `json:"resolvers,omitempty"`
	Logs              int              `json:"logs,omitempty"`
	CoordinatorsCount int              `json:"coordinators_count"`
	UsableRegions     int              `json:"usable_regions,omitempty"`
	ExcludedServers   []ExcludedServer `json:"excluded_servers,omitempty"`
}

// ExcludedServer is one exclusion: an address or a locality.
type ExcludedServer struct {
	Address  string `json:"address,omitempty"`
	Locality string `json:"locality,omitempty"`
}

// Recovery state names (FDB `cluster.recovery_state.name`), in the order a
// recovery passes through them. Only RecoveryFullyRecovered is healthy.
const (
	RecoveryReadingCoordinatedState = "reading_coordinated_state"
	RecoveryLockingCoordinatedState = "locking_coordinated_state"
	RecoveryLockingOldTxnServers    = "locking_old_transaction_servers"
	RecoveryReadingTxnSystemState   = "reading_transaction_system_state"
	RecoveryConfigurationMissing    = "configuration_missing"
	RecoveryConfigurationNeverMade  = "configuration_never_created"
	RecoveryConfigurationInvalid    = "configuration_invalid"
	RecoveryRecruitingTxnServers    = "recruiting_transaction_servers"
	RecoveryInitializingTxnServers  = "initializing_transaction_servers"
	RecoveryRecoveryTransaction     = "recovery_transaction"
	RecoveryWritingCoordinatedState = "writing_coordinated_state"
	RecoveryAcceptingCommits        = "accepting_commits"
	RecoveryAllLogsRecruited        = "all_logs_recruited"
	RecoveryStorageRecovered        = "storage_recovered"
	RecoveryFullyRecovered          = "fully_recovered"
)

// RecoveryState is where the current generation's recovery stands (FDB
// `cluster.recovery_state`).
type RecoveryState struct {
	Name                      string  `json:"name"`
	Description               string  `json:"description"`
	SecondsSinceLastRecovered float64 `json:"seconds_since_last_recovered,omitempty"`
	ActiveGenerations         int     `json:"active_generations,omitempty"`
	RequiredLogs              int     `json:"required_logs,omitempty"`
	MissingLogs               string  `json:"missing_logs,omitempty"`
}

// FaultTolerance is how many zones can fail without losing data or
// availability (FDB `cluster.fault_tolerance`).
type FaultTolerance struct {
	MaxZoneFailuresWithoutLosingAvailability int `json:"max_zone_failures_without_losing_availability"`
	MaxZoneFailuresWithoutLosingData         int `json:"max_zone_failures_without_losing_data"`
}

// Data is data distribution's view (FDB `cluster.data`).
type Data struct {
	State                      DataState     `json:"state"`
	MovingData                 MovingData    `json:"moving_data"`
	TotalKVSizeBytes           int64         `json:"total_kv_size_bytes"`
	SystemKVSizeBytes          int64         `json:"system_kv_size_bytes"`
	TotalDiskUsedBytes         int64         `json:"total_disk_used_bytes"`
	PartitionsCount            int           `json:"partitions_count"`
	AveragePartitionSizeBytes  int64         `json:"average_partition_size_bytes"`
	LeastOperatingSpaceStorage int64         `json:"least_operating_space_bytes_storage_server"`
	LeastOperatingSpaceLog     int64         `json:"least_operating_space_bytes_log_server"`
	TeamTrackers               []TeamTracker `json:"team_trackers,omitempty"`
	// Teams counts the storage teams. Strata extension: FDB logs team
	// counts but does not put them in status.
	Teams *Teams `json:"teams,omitempty"`
}

// Data state names (FDB `cluster.data.state.name`).
const (
	DataInitializing       = "initializing"
	DataMissing            = "missing_data"
	DataHealing            = "healing"
	DataOptimizingTeams    = "optimizing_team_collections"
	DataHealthyRebalancing = "healthy_rebalancing"
	DataHealthyRemoving    = "healthy_removing_server"
	DataHealthy            = "healthy"
)

// DataState is the replication health.
type DataState struct {
	Healthy              bool   `json:"healthy"`
	Name                 string `json:"name"`
	Description          string `json:"description,omitempty"`
	MinReplicasRemaining int    `json:"min_replicas_remaining"`
}

// MovingData is the data distributor's queue.
type MovingData struct {
	InFlightBytes     int64 `json:"in_flight_bytes"`
	InQueueBytes      int64 `json:"in_queue_bytes"`
	TotalWrittenBytes int64 `json:"total_written_bytes"`
	HighestPriority   int   `json:"highest_priority"`
}

// TeamTracker is the health of one region's teams.
type TeamTracker struct {
	Primary          bool      `json:"primary"`
	InFlightBytes    int64     `json:"in_flight_bytes"`
	UnhealthyServers int       `json:"unhealthy_servers"`
	State            DataState `json:"state"`
}

// Teams counts storage teams (Strata extension).
type Teams struct {
	Count     int `json:"count"`
	Healthy   int `json:"healthy"`
	Unhealthy int `json:"unhealthy"`
}

// Workload holds cluster-wide rates (FDB `cluster.workload`).
type Workload struct {
	Operations   Operations   `json:"operations"`
	Bytes        Bytes        `json:"bytes"`
	Transactions Transactions `json:"transactions"`
}

// Rate is a counter and its recent rate (FDB's {hz, counter, roughness}).
type Rate struct {
	Hz        float64 `json:"hz"`
	Counter   int64   `json:"counter"`
	Roughness float64 `json:"roughness"`
}

// Operations are read and write operation rates.
type Operations struct {
	Reads        Rate `json:"reads"`
	Writes       Rate `json:"writes"`
	ReadRequests Rate `json:"read_requests"`
}

// Bytes are byte rates.
type Bytes struct {
	Read    Rate `json:"read"`
	Written Rate `json:"written"`
}

// Transactions are transaction rates.
type Transactions struct {
	Started                  Rate `json:"started"`
	Committed                Rate `json:"committed"`
	Conflicted               Rate `json:"conflicted"`
	RejectedForQueuedTooLong Rate `json:"rejected_for_queued_too_long"`
}

// QoS is ratekeeper's view (FDB `cluster.qos`).
type QoS struct {
	PerformanceLimitedBy          LimitReason `json:"performance_limited_by"`
	BatchPerformanceLimitedBy     LimitReason `json:"batch_performance_limited_by"`
	TransactionsPerSecondLimit    float64     `json:"transactions_per_second_limit"`
	ReleasedTransactionsPerSecond float64     `json:"released_transactions_per_second"`
	WorstQueueBytesStorageServer  int64       `json:"worst_queue_bytes_storage_server"`
	WorstQueueBytesLogServer      int64       `json:"worst_queue_bytes_log_server"`
	WorstDataLagStorageServer     Lag         `json:"worst_data_lag_storage_server"`
	WorstDurabilityLagStorage     Lag         `json:"worst_durability_lag_storage_server"`
	// The batch-priority twins of the limit and the released rate, and
	// the queue of the storage server the limit follows (it differs from
	// the worst when ratekeeper ignores one lagging fault domain).
	BatchTransactionsPerSecondLimit    float64 `json:"batch_transactions_per_second_limit"`
	BatchReleasedTransactionsPerSecond float64 `json:"batch_released_transactions_per_second"`
	LimitingQueueBytesStorageServer    int64   `json:"limiting_queue_bytes_storage_server"`
}

// LimitReason says what limits the transaction rate; Name is one of FDB's
// ratekeeper reasons ("workload", "storage_server_write_queue_size", ...).
type LimitReason struct {
	Name           string `json:"name"`
	Description    string `json:"description"`
	ReasonServerID string `json:"reason_server_id,omitempty"`
}

// Lag is a lag in versions and in seconds.
type Lag struct {
	Versions int64   `json:"versions"`
	Seconds  float64 `json:"seconds"`
}

// LatencyProbe is the latency of one probe transaction (FDB
// `cluster.latency_probe`), in seconds.
type LatencyProbe struct {
	TransactionStartSeconds float64 `json:"transaction_start_seconds"`
	ReadSeconds             float64 `json:"read_seconds"`
	CommitSeconds           float64 `json:"commit_seconds"`
}

// Process is one server process (FDB `cluster.processes.<id>`).
type Process struct {
	Address     string `json:"address"`
	ClassType   string `json:"class_type"`
	ClassSource string `json:"class_source,omitempty"`
	MachineID   string `json:"machine_id,omitempty"`
	FaultDomain string `json:"fault_domain,omitempty"`
	// Locality holds zoneid, machineid, processid, dcid and data_hall.
	Locality         map[string]string `json:"locality,omitempty"`
	Version          string            `json:"version"`
	CommandLine      string            `json:"command_line,omitempty"`
	UptimeSeconds    float64           `json:"uptime_seconds"`
	Excluded         bool              `json:"excluded"`
	Degraded         bool              `json:"degraded,omitempty"`
	UnderMaintenance bool              `json:"under_maintenance,omitempty"`
	RunLoopBusy      float64           `json:"run_loop_busy,omitempty"`
	CPU              CPU               `json:"cpu"`
	Memory           Memory            `json:"memory"`
	Disk             Disk              `json:"disk"`
	Roles            []Role            `json:"roles"`
	Messages         []Message         `json:"messages,omitempty"`
	// Restarts is how often the supervisor restarted this process. Strata
	// extension, from the monitor.
	Restarts int `json:"restarts,omitempty"`
}

// Zone is the process's zone (locality zoneid), falling back to its fault
// domain.
func (p *Process) Zone() string {
	if z := p.Locality["zoneid"]; z != "" {
		return z
	}
	return p.FaultDomain
}

// Machine is the process's machine (locality machineid), falling back to
// machine_id.
func (p *Process) Machine() string {
	if m := p.Locality["machineid"]; m != "" {
		return m
	}
	return p.MachineID
}

// CPU is processor use.
type CPU struct {
	UsageCores float64 `json:"usage_cores"`
}

// Memory is memory use in bytes.
type Memory struct {
	UsedBytes      int64 `json:"used_bytes"`
	RSSBytes       int64 `json:"rss_bytes,omitempty"`
	LimitBytes     int64 `json:"limit_bytes"`
	AvailableBytes int64 `json:"available_bytes"`
}

// Disk is the data directory's disk.
type Disk struct {
	Busy       float64 `json:"busy"`
	FreeBytes  int64   `json:"free_bytes"`
	TotalBytes int64   `json:"total_bytes"`
}

// Role names (FDB `roles[].role`).
const (
	RoleMaster            = "master"
	RoleClusterController = "cluster_controller"
	RoleCommitProxy       = "commit_proxy"
	RoleGRVProxy          = "grv_proxy"
	RoleResolver          = "resolver"
	RoleLog               = "log"
	RoleStorage           = "storage"
	RoleDataDistributor   = "data_distributor"
	RoleRatekeeper        = "ratekeeper"
	RoleCoordinator       = "coordinator"
)

// Role is one role a process plays, with the metrics of that role. Fields
// that do not apply to the role are zero.
type Role struct {
	Role string `json:"role"`
	ID   string `json:"id,omitempty"`

	// storage
	StoredBytes      int64         `json:"stored_bytes,omitempty"`
	KVStoreUsedBytes int64         `json:"kvstore_used_bytes,omitempty"`
	DataLag          *Lag          `json:"data_lag,omitempty"`
	DurabilityLag    *Lag          `json:"durability_lag,omitempty"`
	QueryQueueMax    int           `json:"query_queue_max,omitempty"`
	ReadLatency      *LatencyStats `json:"read_latency_statistics,omitempty"`

	// log
	QueueDiskUsedBytes int64 `json:"queue_disk_used_bytes,omitempty"`
	// PoppedLag is how far the log's reclaimable point trails its durable
	// version, and MinPoppedTag the storage tag holding it there (FDB's
	// MinPoppedTagVersion and MinPoppedTagId): a lag that only grows is a
	// tag nobody pops, and the queue grows with it.
	PoppedLag    *Lag    `json:"popped_version_lag,omitempty"`
	MinPoppedTag *uint32 `json:"min_popped_tag,omitempty"`
	// MinPoppedStorageServer is the storage server the coordinated state
	// gives that tag, if any (none: a retired server's tag not yet
	// released).
	MinPoppedStorageServer string `json:"min_popped_storage_server,omitempty"`
	InputBytes             *Rate  `json:"input_bytes,omitempty"`
	DurableBytes           *Rate  `json:"durable_bytes,omitempty"`

	// proxies
	GRVLatency    *GRVLatency   `json:"grv_latency_statistics,omitempty"`
	CommitLatency *LatencyStats `json:"commit_latency_statistics,omitempty"`
}

// GRVLatency holds GRV latencies by priority.
type GRVLatency struct {
	Default *LatencyStats `json:"default,omitempty"`
	Batch   *LatencyStats `json:"batch,omitempty"`
}

// LatencyStats is a latency distribution in seconds over the last
// interval (FDB `*_latency_statistics`).
type LatencyStats struct {
	Count  int64   `json:"count"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	Mean   float64 `json:"mean"`
	Median float64 `json:"median"`
	P90    float64 `json:"p90"`
	P99    float64 `json:"p99"`
}
