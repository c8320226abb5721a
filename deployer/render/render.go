package render

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/strata-db/strata/db/monitor/conf"
	"github.com/strata-db/strata/deployer/layout"
	"github.com/strata-db/strata/deployer/spec"
)

// HostFiles is what one host needs.
type HostFiles struct {
	// Conf is the supervisor configuration, for spec.Paths.SupervisorConf.
	Conf []byte
	// ConfDigest is the hex SHA-256 of Conf.
	ConfDigest string
	// ProcessDigests maps each process ID to the digest of its launch
	// (argv and environment) as `strata monitor` computes it, so the
	// planner can compare with what the monitor reports running.
	ProcessDigests map[string]string
}

// Host renders the files of host h. release is the release every process
// runs; its binary path comes from the host's paths.
func Host(s *spec.ClusterSpec, l *layout.Layout, hostName string, release *spec.Release) (*HostFiles, error) {
	h := s.Host(hostName)
	var hl *layout.HostLayout
	for i := range l.Hosts {
		if l.Hosts[i].Name == hostName {
			hl = &l.Hosts[i]
		}
	}
	if h == nil || hl == nil {
		return nil, fmt.Errorf("render: no host %q in the description", hostName)
	}
	return HostOf(s, h, hl, release)
}

// HostOf is Host for a host and its layout the caller already has, which
// spares a description of many hosts two searches per host.
func HostOf(s *spec.ClusterSpec, h *spec.Host, hl *layout.HostLayout, release *spec.Release) (*HostFiles, error) {
	if release == nil {
		return nil, fmt.Errorf("render: host %s: no release to run", h.Name)
	}
	data := hostConf(s, h, hl, release)
	parsed, err := conf.Parse(h.Paths.SupervisorConf(), data, 0)
	if err != nil {
		// The renderer and the monitor disagree: a bug here, not user input.
		return nil, fmt.Errorf("render: host %s: generated configuration does not parse: %w", h.Name, err)
	}
	digests := make(map[string]string, len(parsed.Processes))
	for _, p := range parsed.Processes {
		digests[p.ID] = p.Digest()
	}
	sum := sha256.Sum256(data)
	return &HostFiles{Conf: data, ConfDigest: hex.EncodeToString(sum[:]), ProcessDigests: digests}, nil
}

func hostConf(s *spec.ClusterSpec, h *spec.Host, hl *layout.HostLayout, release *spec.Release) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# Supervisor configuration of host %s in cluster %s.\n", h.Name, s.Cluster.Name)
	b.WriteString("# Written by `strata apply`; edits here are overwritten (and shown as drift by `strata plan`).\n\n")

	b.WriteString("[monitor]\n")
	kv(&b, "restart-delay", "60")
	kv(&b, "initial-restart-delay", "0")
	kv(&b, "restart-backoff", "2")
	kv(&b, "restart-delay-reset-interval", "60")
	kv(&b, "state-file", h.Paths.MonitorState())
	kv(&b, "output-dir", h.Paths.Log)
	b.WriteString("\n[general]\n")
	kv(&b, "kill-on-configuration-change", "true")
	b.WriteString("\n[server]\n")
	kv(&b, "command", h.Paths.ReleaseBinary(release.Version)+" server")
	kv(&b, "cluster-file", h.Paths.ClusterFile())
	kv(&b, "public-address", hl.Address+":$ID")
	kv(&b, "listen-address", hl.Address+":$ID")
	kv(&b, "datadir", strings.TrimSuffix(h.Paths.Data, "/")+"/$ID")
	kv(&b, "logdir", h.Paths.Log)
	locality(&b, hl.Locality)

	procs := append([]layout.Process(nil), hl.Processes...)
	sort.Slice(procs, func(i, j int) bool { return procs[i].Port < procs[j].Port })
	for _, p := range procs {
		fmt.Fprintf(&b, "\n[server.%d]\n", p.Port)
		kv(&b, "class", string(p.Class))
		kv(&b, "status-port", strconv.Itoa(p.HTTPPort))
		if p.Memory > 0 {
			kv(&b, "memory", strconv.FormatUint(p.Memory, 10))
		}
		if p.Locality != hl.Locality {
			locality(&b, p.Locality)
		}
	}
	return []byte(b.String())
}

func locality(b *strings.Builder, l spec.Locality) {
	kv(b, "locality-zone", l.Zone)
	kv(b, "locality-machine", l.Machine)
	if l.DataHall != "" {
		kv(b, "locality-data-hall", l.DataHall)
	}
	if l.DC != "" {
		kv(b, "locality-dc", l.DC)
	}
}

func kv(b *strings.Builder, k, v string) {
	fmt.Fprintf(b, "%s = %s\n", k, v)
}

var descriptionRE = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

// ClusterFile renders FoundationDB's cluster file syntax,
// `description:ID@addr:port,addr:port`, for the layout's coordinators.
// description must be letters, digits and underscores; id likewise (the
// deployer generates it once and keeps it in its state).
func ClusterFile(description, id string, l *layout.Layout) ([]byte, error) {
	if !descriptionRE.MatchString(description) {
		return nil, fmt.Errorf("render: cluster description %q: only letters, digits and underscores may appear", description)
	}
	if !descriptionRE.MatchString(id) {
		return nil, fmt.Errorf("render: cluster ID %q: only letters, digits and underscores may appear", id)
	}
	coords := l.CoordinatorEndpoints()
	if len(coords) == 0 {
		return nil, fmt.Errorf("render: the layout has no coordinators")
	}
	return []byte(fmt.Sprintf("%s:%s@%s\n", description, id, strings.Join(coords, ","))), nil
}

// Description turns a cluster name into a valid cluster-file description
// by replacing other characters with underscores.
func Description(name string) string {
	out := []byte(name)
	for i, c := range out {
		if !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			out[i] = '_'
		}
	}
	if len(out) == 0 {
		return "strata"
	}
	return string(out)
}
