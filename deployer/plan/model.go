package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/strata-db/strata/deployer/layout"
	"github.com/strata-db/strata/deployer/render"
	"github.com/strata-db/strata/deployer/spec"
)

// Desired is what the description asks for, resolved down to files and
// processes per host.
type Desired struct {
	Cluster  string          `json:"cluster"`
	Database DesiredDatabase `json:"database"`
	Hosts    []DesiredHost   `json:"hosts"`
}

// DesiredDatabase is the database configuration.
type DesiredDatabase struct {
	Redundancy    string     `json:"redundancy"`
	StorageEngine string     `json:"storage_engine"`
	Coordinators  []string   `json:"coordinators"`
	Roles         RoleCounts `json:"roles"`
}

// RoleCounts are the transaction role counts `configure` sets
// (commit_proxies=, grv_proxies=, resolvers=, logs=); 0 leaves one to the
// database's default.
type RoleCounts struct {
	CommitProxies int `json:"commit_proxies,omitempty"`
	GRVProxies    int `json:"grv_proxies,omitempty"`
	Resolvers     int `json:"resolvers,omitempty"`
	Logs          int `json:"logs,omitempty"`
}

// String is the counts as `configure` arguments, those set only.
func (r RoleCounts) String() string {
	var out []string
	for _, c := range []struct {
		name string
		n    int
	}{{"commit_proxies", r.CommitProxies}, {"grv_proxies", r.GRVProxies}, {"resolvers", r.Resolvers}, {"logs", r.Logs}} {
		if c.n != 0 {
			out = append(out, fmt.Sprintf("%s=%d", c.name, c.n))
		}
	}
	return strings.Join(out, " ")
}

// DesiredHost is one host's files and processes.
type DesiredHost struct {
	Name      string           `json:"name"`
	Address   string           `json:"address"`
	Transport string           `json:"transport"`
	Release   DesiredRelease   `json:"release"`
	Conf      DesiredFile      `json:"conf"`
	Cluster   DesiredFile      `json:"cluster_file"`
	Processes []DesiredProcess `json:"processes"`
	// MonitorState is where the host's monitor publishes its children.
	MonitorState string `json:"monitor_state"`
	// MonitorUnit is the monitor's systemd unit, installed on hosts whose
	// init is systemd: its ExecStart names the release, so a new release
	// rewrites it.
	MonitorUnit DesiredFile `json:"monitor_unit"`
	// Sudo makes apply's commands on the host run as root through sudo
	// (the host's ssh.sudo).
	Sudo bool `json:"sudo,omitempty"`
}

// DesiredRelease is the binary a host must have.
type DesiredRelease struct {
	Version string `json:"version"`
	Path    string `json:"path"`
	SHA256  string `json:"sha256"`
}

// DesiredFile is a file a host must have, with its content.
type DesiredFile struct {
	Path    string `json:"path"`
	SHA256  string `json:"sha256"`
	Content []byte `json:"content"`
}

// DesiredProcess is a server process the monitor must run.
type DesiredProcess struct {
	ID           string `json:"id"`
	Port         int    `json:"port"`
	Class        string `json:"class"`
	LaunchDigest string `json:"launch_digest"`
}

// Digest identifies the desired configuration, for stale-plan checks.
func (d *Desired) Digest() string {
	data, _ := json.Marshal(d)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// MonitorLog is where the host's monitor writes its output.
func (h *DesiredHost) MonitorLog() string { return path.Join(path.Dir(h.MonitorState), "monitor.log") }

// Host returns the desired host named name, or nil.
func (d *Desired) Host(name string) *DesiredHost {
	for i := range d.Hosts {
		if d.Hosts[i].Name == name {
			return &d.Hosts[i]
		}
	}
	return nil
}

// BuildDesired resolves a description and its layout into Desired.
// releaseSHA256 is the digest of the release binary to install; clusterID
// is the cluster file's ID (kept in state across runs).
func BuildDesired(s *spec.ClusterSpec, l *layout.Layout, releaseSHA256, clusterID string) (*Desired, error) {
	rel := s.Release()
	if rel == nil {
		return nil, fmt.Errorf("plan: the description has no release")
	}
	clusterFile, err := render.ClusterFile(render.Description(s.Cluster.Name), clusterID, l)
	if err != nil {
		return nil, err
	}
	d := &Desired{
		Cluster: s.Cluster.Name,
		Database: DesiredDatabase{
			Redundancy:    string(s.Cluster.Redundancy),
			StorageEngine: string(s.Cluster.StorageEngine),
			Coordinators:  l.CoordinatorEndpoints(),
			Roles: RoleCounts{CommitProxies: s.Cluster.CommitProxies, GRVProxies: s.Cluster.GRVProxies,
				Resolvers: s.Cluster.Resolvers, Logs: s.Cluster.Logs},
		},
	}
	d.Hosts = make([]DesiredHost, len(l.Hosts))
	specHosts := make(map[string]*spec.Host, len(s.Hosts))
	for i := range s.Hosts {
		specHosts[s.Hosts[i].Name] = &s.Hosts[i]
	}
	// Rendering a host parses its conf as the monitor will (for the launch
	// digests), the bulk of planning a large cluster; hosts are independent.
	err = forEachParallel(len(l.Hosts), func(i int) error {
		hl := &l.Hosts[i]
		h := specHosts[hl.Name]
		if h == nil {
			return fmt.Errorf("plan: the layout has host %q, the description does not", hl.Name)
		}
		files, err := render.HostOf(s, h, hl, rel)
		if err != nil {
			return err
		}
		dh := DesiredHost{
			Name: hl.Name, Address: hl.Address, Transport: string(hl.Transport),
			Release:      DesiredRelease{Version: rel.Version, Path: h.Paths.ReleaseBinary(rel.Version), SHA256: releaseSHA256},
			Conf:         desiredFile(h.Paths.SupervisorConf(), files.Conf),
			Cluster:      desiredFile(h.Paths.ClusterFile(), clusterFile),
			MonitorState: h.Paths.MonitorState(),
			Sudo:         h.SSH.Sudo,
		}
		dh.MonitorUnit = desiredFile(render.MonitorUnitPath(dh.Conf.Path), render.MonitorUnit(render.MonitorUnitSpec{
			Cluster: s.Cluster.Name, Release: dh.Release.Path, Conf: dh.Conf.Path, Log: dh.MonitorLog()}))
		for _, p := range hl.Processes {
			dh.Processes = append(dh.Processes, DesiredProcess{
				ID: p.ID, Port: p.Port, Class: string(p.Class),
				LaunchDigest: files.ProcessDigests[strconv.Itoa(p.Port)],
			})
		}
		slices.SortFunc(dh.Processes, func(a, b DesiredProcess) int { return a.Port - b.Port })
		d.Hosts[i] = dh
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(d.Hosts, func(a, b DesiredHost) int { return cmpString(a.Name, b.Name) })
	return d, nil
}

// forEachParallel calls fn(0..n-1) on up to GOMAXPROCS goroutines and
// returns the first error.
func forEachParallel(n int, fn func(i int) error) error {
	workers := min(runtime.GOMAXPROCS(0), n)
	errs := make([]error, workers)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || errs[w] != nil {
					return
				}
				errs[w] = fn(i)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// WithClusterFile returns a copy of d whose hosts get content as their
// cluster file: once a cluster runs, its servers own the cluster file
// (they rewrite it when the coordinators move), so a host added later
// gets the one the cluster runs on, not the one rendered for a new
// cluster.
func (d *Desired) WithClusterFile(content []byte) *Desired {
	out := *d
	out.Hosts = slices.Clone(d.Hosts)
	for i := range out.Hosts {
		out.Hosts[i].Cluster = desiredFile(out.Hosts[i].Cluster.Path, content)
	}
	return &out
}

func desiredFile(path string, content []byte) DesiredFile {
	sum := sha256.Sum256(content)
	return DesiredFile{Path: path, SHA256: hex.EncodeToString(sum[:]), Content: content}
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Observed is what a refresh found on the hosts and in the database.
type Observed struct {
	Hosts map[string]*ObservedHost `json:"hosts"`
	// Database is nil when the database could not be reached.
	Database *ObservedDatabase `json:"database,omitempty"`
}

// ObservedHost is one host as refreshed.
type ObservedHost struct {
	// Error is set when the host could not be refreshed; it names the step.
	Error string `json:"error,omitempty"`
	// ReleaseSHA256 is the digest of the file at the desired release path,
	// "" if absent.
	ReleaseSHA256 string `json:"release_sha256"`
	// ConfSHA256 is the digest of the supervisor conf, "" if absent.
	ConfSHA256 string `json:"conf_sha256"`
	// ClusterFileSHA256 is the digest of the cluster file, "" if absent.
	ClusterFileSHA256 string `json:"cluster_file_sha256"`
	// MonitorRunning reports whether the host's monitor runs.
	MonitorRunning bool `json:"monitor_running"`
	// MonitorUnitSHA256 is the digest of the monitor's systemd unit, ""
	// if absent (the monitor runs detached, or not at all).
	MonitorUnitSHA256 string `json:"monitor_unit_sha256,omitempty"`
	// Processes are the monitor's children by ID (port).
	Processes map[string]ObservedProcess `json:"processes"`
}

// ObservedProcess is a child the monitor reports.
type ObservedProcess struct {
	PID          int    `json:"pid"`
	LaunchDigest string `json:"launch_digest"`
	Running      bool   `json:"running"`
}

// ObservedDatabase is the database's configuration as status reports it.
type ObservedDatabase struct {
	Configured    bool       `json:"configured"`
	Redundancy    string     `json:"redundancy"`
	StorageEngine string     `json:"storage_engine"`
	Coordinators  []string   `json:"coordinators"`
	Roles         RoleCounts `json:"roles"`
}
