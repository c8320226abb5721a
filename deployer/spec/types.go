package spec

import (
	"path"
	"strconv"

	"github.com/hashicorp/hcl/v2"
)

// ClusterSpec is a decoded and validated cluster description. Every
// per-host setting is resolved: host-level overrides are already merged over
// the file-wide ssh, paths and defaults blocks, so consumers read Host.SSH,
// Host.Paths and Host.Process and never merge again.
type ClusterSpec struct {
	// Cluster holds the database-wide settings.
	Cluster Cluster
	// SSH, Paths and Defaults are the file-wide settings before host
	// overrides; they are kept for display and for hosts added later.
	SSH      SSH
	Paths    Paths
	Defaults ProcessDefaults
	// Releases are the declared releases in file order. Cluster.Version
	// names the one the cluster should run.
	Releases []Release
	// Hosts are the machines in file order (dynamic blocks expanded in
	// place). Names are unique.
	Hosts []Host
	// ConfigDir is the directory of the description file; relative release
	// paths are already resolved against it.
	ConfigDir string
}

// Release returns the release the cluster should run, or nil when
// Cluster.Version names no declared release (validation reports that).
func (s *ClusterSpec) Release() *Release {
	for i := range s.Releases {
		if s.Releases[i].Version == s.Cluster.Version {
			return &s.Releases[i]
		}
	}
	return nil
}

// Host returns the host with the given name, or nil.
func (s *ClusterSpec) Host(name string) *Host {
	for i := range s.Hosts {
		if s.Hosts[i].Name == name {
			return &s.Hosts[i]
		}
	}
	return nil
}

// Redundancy is a replication mode, as FoundationDB names them.
type Redundancy string

// The supported redundancy modes. Multi-DC modes are not supported yet.
const (
	RedundancySingle        Redundancy = "single"
	RedundancyDouble        Redundancy = "double"
	RedundancyTriple        Redundancy = "triple"
	RedundancyThreeDataHall Redundancy = "three_data_hall"
)

// Redundancies lists the supported modes in the order they are documented.
func Redundancies() []Redundancy {
	return []Redundancy{RedundancySingle, RedundancyDouble, RedundancyTriple, RedundancyThreeDataHall}
}

// StorageReplicas is the number of copies of each key the mode keeps.
func (r Redundancy) StorageReplicas() int {
	switch r {
	case RedundancyDouble:
		return 2
	case RedundancyTriple, RedundancyThreeDataHall:
		return 3
	default:
		return 1
	}
}

// LogReplicas is the number of transaction logs each commit is written to.
func (r Redundancy) LogReplicas() int {
	switch r {
	case RedundancyDouble:
		return 2
	case RedundancyTriple:
		return 3
	case RedundancyThreeDataHall:
		return 4
	default:
		return 1
	}
}

// StorageEngine names a storage-server engine.
type StorageEngine string

// The storage engines of db/engine.
const (
	EngineSSD    StorageEngine = "ssd"
	EngineMemory StorageEngine = "memory"
)

// StorageEngines lists the supported engines.
func StorageEngines() []StorageEngine { return []StorageEngine{EngineSSD, EngineMemory} }

// Cluster holds the database-wide settings of the `cluster "name"` block.
type Cluster struct {
	// Name is the block label; it becomes the cluster file's description.
	Name        string
	Description string
	// Version names the release (a `release` block label) to run. It
	// defaults to the only release when exactly one is declared.
	Version       string
	Redundancy    Redundancy
	StorageEngine StorageEngine
	// Coordinators is nil for "auto" (layout chooses them), or the explicit
	// list of process IDs ("host:port") or addresses ("address:port").
	Coordinators []string
	// Role counts; 0 lets the database choose its default.
	CommitProxies int
	GRVProxies    int
	Resolvers     int
	Logs          int

	// Source ranges for diagnostics that concern the whole cluster.
	DeclRange         hcl.Range
	RedundancyRange   hcl.Range
	CoordinatorsRange hcl.Range
}

// SSH holds how the deployer reaches a host over SSH.
type SSH struct {
	// User is the login user; empty means the remote layer decides
	// (~/.ssh/config, then the local user name).
	User string
	Port int
	// PrivateKeyFiles are tried in order, after the agent when Agent is set.
	PrivateKeyFiles []string
	Agent           bool
	// KnownHosts is the known_hosts file host keys are checked against;
	// checking is always on.
	KnownHosts string
	// Bastions is the jump-host chain, outermost first.
	Bastions []Bastion
	// Sudo runs privileged steps with sudo (NOPASSWD, or a password given
	// at run time).
	Sudo bool
}

// Bastion is one jump host in an SSH chain.
type Bastion struct {
	Address string
	Port    int
	User    string
}

// Paths are the directories Strata uses on a host (DESIGN "Defaults on a
// host").
type Paths struct {
	Install string
	Conf    string
	Data    string
	Log     string
}

// ReleaseBinary is where the given release version's binary lives.
func (p Paths) ReleaseBinary(version string) string {
	return path.Join(p.Install, "releases", version, "strata")
}

// SupervisorConf is the monitor's INI configuration file.
func (p Paths) SupervisorConf() string { return path.Join(p.Conf, "strata.conf") }

// ClusterFile is the cluster file the processes and clients read.
func (p Paths) ClusterFile() string { return path.Join(p.Conf, "strata.cluster") }

// ProcessData is the data directory of the server process on port.
func (p Paths) ProcessData(port int) string { return path.Join(p.Data, strconv.Itoa(port)) }

// MonitorState is where the monitor keeps its state.
func (p Paths) MonitorState() string { return path.Join(p.Data, "monitor.json") }

// ReleaseSource says where a release binary comes from.
type ReleaseSource string

// The release sources.
const (
	// SourceLocalBinary is the strata binary running the deployer; for
	// local clusters and development.
	SourceLocalBinary ReleaseSource = "local_binary"
	// SourceFile is a binary on the operator's machine, checked by sha256
	// when one is given.
	SourceFile ReleaseSource = "file"
	// SourceURL is a binary downloaded over HTTP(S), always checked by
	// sha256.
	SourceURL ReleaseSource = "url"
)

// ReleaseSources lists the release sources.
func ReleaseSources() []ReleaseSource {
	return []ReleaseSource{SourceLocalBinary, SourceFile, SourceURL}
}

// Release is one `release "version"` block.
type Release struct {
	Version string
	Source  ReleaseSource
	// Path is the binary on the operator's machine for SourceFile (a
	// relative path in the description is joined to ClusterSpec.ConfigDir),
	// empty otherwise.
	Path string
	// URL is set for SourceURL only.
	URL string
	// SHA256 is the lowercase hex digest, required for SourceURL and
	// optional for SourceFile.
	SHA256    string
	DeclRange hcl.Range
}

// ProcessDefaults are the settings of each server process on a host.
type ProcessDefaults struct {
	// Memory is the memory limit of each process in bytes; 0 means the
	// server's own default.
	Memory uint64
	// PortBase is the first server port; processes take consecutive ports.
	PortBase int
	// HTTPPortOffset is added to a server port for its HTTP status port.
	HTTPPortOffset int
}

// Transport says how the deployer reaches a host.
type Transport string

// The transports of deployer/remote.
const (
	TransportSSH   Transport = "ssh"
	TransportLocal Transport = "local"
)

// ProcessClass is a server process class, as FoundationDB names them.
type ProcessClass string

// The process classes a host may run. The order of ProcessClasses() is the
// order in which a host's processes take ports.
const (
	ClassStorage           ProcessClass = "storage"
	ClassLog               ProcessClass = "log"
	ClassTransaction       ProcessClass = "transaction"
	ClassStateless         ProcessClass = "stateless"
	ClassCommitProxy       ProcessClass = "commit_proxy"
	ClassGRVProxy          ProcessClass = "grv_proxy"
	ClassResolution        ProcessClass = "resolution"
	ClassClusterController ProcessClass = "cluster_controller"
)

// ProcessClasses lists the classes in port-assignment order.
func ProcessClasses() []ProcessClass {
	return []ProcessClass{
		ClassStorage, ClassLog, ClassTransaction, ClassStateless,
		ClassCommitProxy, ClassGRVProxy, ClassResolution, ClassClusterController,
	}
}

// Locality is where a host sits in the fault-domain tree.
type Locality struct {
	// Zone is the unit of failure replicas are spread over; it defaults to
	// the host name.
	Zone     string
	DataHall string
	DC       string
	// Machine defaults to the host name.
	Machine string
}

// ProcessCount is how many processes of one class a host runs.
type ProcessCount struct {
	Class ProcessClass
	Count int
}

// Host is one `host "name"` block with overrides merged.
type Host struct {
	Name string
	// Address is where the host's processes listen and are reached, and
	// where SSH connects.
	Address   string
	Transport Transport
	Locality  Locality
	// Processes are in ProcessClasses() order, zero counts omitted.
	Processes []ProcessCount
	SSH       SSH
	Paths     Paths
	Process   ProcessDefaults

	// Source ranges for diagnostics about this host (layout uses them).
	// AddressRange and ProcessesRange are zero when the value was not
	// written in the host block (a default, or inherited).
	DeclRange      hcl.Range
	AddressRange   hcl.Range
	ProcessesRange hcl.Range
}

// ProcessTotal is the number of server processes on the host.
func (h *Host) ProcessTotal() int {
	n := 0
	for _, p := range h.Processes {
		n += p.Count
	}
	return n
}
