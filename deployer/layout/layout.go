package layout

import (
	"cmp"
	"net/netip"
	"slices"
	"strconv"

	"github.com/hashicorp/hcl/v2"

	"github.com/strata-db/strata/deployer/spec"
)

// Layout is where every server process of a cluster runs.
type Layout struct {
	Cluster    string
	Redundancy spec.Redundancy
	// Hosts are sorted by name, so the layout does not depend on the order
	// of blocks in the description.
	Hosts []HostLayout
	// Coordinators are the IDs of the coordinator processes, sorted.
	Coordinators []string
}

// HostLayout is the processes of one host.
type HostLayout struct {
	Name      string
	Address   string
	Transport spec.Transport
	Locality  spec.Locality
	// Processes are in port order.
	Processes []Process
}

// Process is one server process.
type Process struct {
	// ID is "host:port". It depends only on the host's name and its own
	// process counts, so reordering or adding other hosts never changes
	// it, and later plans do not churn.
	ID    string
	Host  string
	Class spec.ProcessClass
	// Index is the process's position among its host's processes of the
	// same class, from 0.
	Index    int
	Address  string
	Port     int
	HTTPPort int
	Locality spec.Locality
	// Memory is the memory limit in bytes; 0 means the server's default.
	Memory  uint64
	DataDir string
	// Coordinator is set for the processes in Layout.Coordinators.
	Coordinator bool
}

// Endpoint is the process's "address:port", with brackets for IPv6, as the
// cluster file and peers write it.
func (p *Process) Endpoint() string {
	return endpoint(p.Address, p.Port)
}

func endpoint(address string, port int) string {
	if a, err := netip.ParseAddr(address); err == nil && a.Is6() {
		return "[" + address + "]:" + strconv.Itoa(port)
	}
	return address + ":" + strconv.Itoa(port)
}

// Process returns the process with the given ID, or nil.
func (l *Layout) Process(id string) *Process {
	for i := range l.Hosts {
		for j := range l.Hosts[i].Processes {
			if l.Hosts[i].Processes[j].ID == id {
				return &l.Hosts[i].Processes[j]
			}
		}
	}
	return nil
}

// CoordinatorEndpoints are the coordinators' addresses, in Coordinators
// order, for the cluster file.
func (l *Layout) CoordinatorEndpoints() []string {
	out := make([]string, 0, len(l.Coordinators))
	for _, id := range l.Coordinators {
		if p := l.Process(id); p != nil {
			out = append(out, p.Endpoint())
		}
	}
	return out
}

// ProcessCount is the number of server processes in the layout.
func (l *Layout) ProcessCount() int {
	n := 0
	for _, h := range l.Hosts {
		n += len(h.Processes)
	}
	return n
}

// Compute places every process of s. It is a pure function of the spec.
// The layout is returned even with error diagnostics, so a caller can show
// what was placed; it must not be applied then.
func Compute(s *spec.ClusterSpec) (*Layout, hcl.Diagnostics) {
	l := &Layout{Cluster: s.Cluster.Name, Redundancy: s.Cluster.Redundancy}
	hosts := make([]*spec.Host, len(s.Hosts))
	for i := range s.Hosts {
		hosts[i] = &s.Hosts[i]
	}
	slices.SortFunc(hosts, func(a, b *spec.Host) int { return cmp.Compare(a.Name, b.Name) })

	var diags hcl.Diagnostics
	for _, h := range hosts {
		hl, more := placeHost(h)
		diags = append(diags, more...)
		l.Hosts = append(l.Hosts, hl)
	}
	diags = append(diags, checkAddresses(hosts, l)...)
	diags = append(diags, checkLocalities(hosts)...)
	diags = append(diags, checkReplication(s, l)...)
	coords, more := coordinators(s, l)
	diags = append(diags, more...)
	l.Coordinators = coords
	for _, id := range coords {
		if p := l.Process(id); p != nil {
			p.Coordinator = true
		}
	}
	return l, diags
}

// placeHost gives each process of h consecutive ports from the host's port
// base, in spec.ProcessClasses() order and then by index.
func placeHost(h *spec.Host) (HostLayout, hcl.Diagnostics) {
	hl := HostLayout{Name: h.Name, Address: h.Address, Transport: h.Transport, Locality: h.Locality}
	port := h.Process.PortBase
	for _, pc := range h.Processes {
		for i := 0; i < pc.Count; i++ {
			hl.Processes = append(hl.Processes, Process{
				ID:       h.Name + ":" + strconv.Itoa(port),
				Host:     h.Name,
				Class:    pc.Class,
				Index:    i,
				Address:  h.Address,
				Port:     port,
				HTTPPort: port + h.Process.HTTPPortOffset,
				Locality: h.Locality,
				Memory:   h.Process.Memory,
				DataDir:  h.Paths.ProcessData(port),
			})
			port++
		}
	}
	var diags hcl.Diagnostics
	if n := len(hl.Processes); n > 0 {
		last := hl.Processes[n-1]
		if last.HTTPPort > 65535 {
			diags = append(diags, errorf(h.DeclRange, "Ports out of range",
				"Host %q runs %d processes from port %d with HTTP ports %d higher; the last HTTP port would be %d, above 65535.",
				h.Name, n, h.Process.PortBase, h.Process.HTTPPortOffset, last.HTTPPort))
		}
	}
	return hl, diags
}

func errorf(rng hcl.Range, summary, format string, args ...any) *hcl.Diagnostic {
	d := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: sprintf(format, args...)}
	if rng != (hcl.Range{}) {
		d.Subject = rng.Ptr()
	}
	return d
}

func warnf(rng hcl.Range, summary, format string, args ...any) *hcl.Diagnostic {
	d := errorf(rng, summary, format, args...)
	d.Severity = hcl.DiagWarning
	return d
}
