package spec

import (
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
)

// The raw* types mirror the blocks as written. Optional attributes are
// pointers so that an absent attribute (inherit the default) differs from
// one set to the zero value; the *Range fields let semantic checks point at
// the offending value.

type rawCluster struct {
	Description   *string        `hcl:"description,optional"`
	Version       *string        `hcl:"version,optional"`
	Redundancy    string         `hcl:"redundancy"`
	StorageEngine *string        `hcl:"storage_engine,optional"`
	Coordinators  hcl.Expression `hcl:"coordinators,optional"`
	CommitProxies *int           `hcl:"commit_proxies,optional"`
	GRVProxies    *int           `hcl:"grv_proxies,optional"`
	Resolvers     *int           `hcl:"resolvers,optional"`
	Logs          *int           `hcl:"logs,optional"`

	VersionRange       hcl.Range `hcl:"version,attr_value_range"`
	RedundancyRange    hcl.Range `hcl:"redundancy,attr_value_range"`
	EngineRange        hcl.Range `hcl:"storage_engine,attr_value_range"`
	CommitProxiesRange hcl.Range `hcl:"commit_proxies,attr_value_range"`
	GRVProxiesRange    hcl.Range `hcl:"grv_proxies,attr_value_range"`
	ResolversRange     hcl.Range `hcl:"resolvers,attr_value_range"`
	LogsRange          hcl.Range `hcl:"logs,attr_value_range"`
}

type rawSSH struct {
	User            *string      `hcl:"user,optional"`
	Port            *int         `hcl:"port,optional"`
	PrivateKeyFiles *[]string    `hcl:"private_key_files,optional"`
	Agent           *bool        `hcl:"agent,optional"`
	KnownHosts      *string      `hcl:"known_hosts,optional"`
	Sudo            *bool        `hcl:"sudo,optional"`
	Bastions        []rawBastion `hcl:"bastion,block"`

	PortRange hcl.Range `hcl:"port,attr_value_range"`
}

type rawBastion struct {
	Address string  `hcl:"address"`
	Port    *int    `hcl:"port,optional"`
	User    *string `hcl:"user,optional"`

	AddressRange hcl.Range `hcl:"address,attr_value_range"`
	PortRange    hcl.Range `hcl:"port,attr_value_range"`
}

type rawPaths struct {
	Install *string `hcl:"install,optional"`
	Conf    *string `hcl:"conf,optional"`
	Data    *string `hcl:"data,optional"`
	Log     *string `hcl:"log,optional"`

	InstallRange hcl.Range `hcl:"install,attr_value_range"`
	ConfRange    hcl.Range `hcl:"conf,attr_value_range"`
	DataRange    hcl.Range `hcl:"data,attr_value_range"`
	LogRange     hcl.Range `hcl:"log,attr_value_range"`
}

type rawDefaults struct {
	Memory         *string        `hcl:"memory,optional"`
	PortBase       *int           `hcl:"port_base,optional"`
	HTTPPortOffset *int           `hcl:"http_port_offset,optional"`
	Processes      hcl.Expression `hcl:"processes,optional"`

	MemoryRange    hcl.Range `hcl:"memory,attr_value_range"`
	PortBaseRange  hcl.Range `hcl:"port_base,attr_value_range"`
	OffsetRange    hcl.Range `hcl:"http_port_offset,attr_value_range"`
	ProcessesRange hcl.Range `hcl:"processes,attr_value_range"`
}

type rawRelease struct {
	Source string  `hcl:"source"`
	Path   *string `hcl:"path,optional"`
	URL    *string `hcl:"url,optional"`
	SHA256 *string `hcl:"sha256,optional"`

	SourceRange hcl.Range `hcl:"source,attr_value_range"`
	PathRange   hcl.Range `hcl:"path,attr_range"`
	URLRange    hcl.Range `hcl:"url,attr_range"`
	SHA256Range hcl.Range `hcl:"sha256,attr_value_range"`
}

type rawHost struct {
	Address   *string        `hcl:"address,optional"`
	Port      *int           `hcl:"port,optional"`
	Transport *string        `hcl:"transport,optional"`
	Zone      *string        `hcl:"zone,optional"`
	DataHall  *string        `hcl:"data_hall,optional"`
	DC        *string        `hcl:"dc,optional"`
	Machine   *string        `hcl:"machine,optional"`
	Processes hcl.Expression `hcl:"processes,optional"`
	Overrides *rawOverrides  `hcl:"overrides,block"`

	AddressRange   hcl.Range `hcl:"address,attr_value_range"`
	PortRange      hcl.Range `hcl:"port,attr_value_range"`
	TransportRange hcl.Range `hcl:"transport,attr_value_range"`
	ZoneRange      hcl.Range `hcl:"zone,attr_value_range"`
	DataHallRange  hcl.Range `hcl:"data_hall,attr_value_range"`
	DCRange        hcl.Range `hcl:"dc,attr_value_range"`
	MachineRange   hcl.Range `hcl:"machine,attr_value_range"`
	ProcessesRange hcl.Range `hcl:"processes,attr_value_range"`
}

// rawOverrides is a host's `overrides` block: any process default, and
// ssh and paths settings, for this host only.
type rawOverrides struct {
	Memory         *string   `hcl:"memory,optional"`
	PortBase       *int      `hcl:"port_base,optional"`
	HTTPPortOffset *int      `hcl:"http_port_offset,optional"`
	SSH            *rawSSH   `hcl:"ssh,block"`
	Paths          *rawPaths `hcl:"paths,block"`

	MemoryRange   hcl.Range `hcl:"memory,attr_value_range"`
	PortBaseRange hcl.Range `hcl:"port_base,attr_value_range"`
	OffsetRange   hcl.Range `hcl:"http_port_offset,attr_value_range"`
}

func (o *rawOverrides) defaults() *rawDefaults {
	return &rawDefaults{
		Memory: o.Memory, PortBase: o.PortBase, HTTPPortOffset: o.HTTPPortOffset,
		MemoryRange: o.MemoryRange, PortBaseRange: o.PortBaseRange, OffsetRange: o.OffsetRange,
	}
}

// The defaults of DESIGN "Defaults on a host".
var (
	defaultSSH     = SSH{Port: 22, Agent: true, KnownHosts: "~/.ssh/known_hosts"}
	defaultPaths   = Paths{Install: "/opt/strata", Conf: "/etc/strata", Data: "/var/lib/strata", Log: "/var/log/strata"}
	defaultProcess = ProcessDefaults{PortBase: 4500, HTTPPortOffset: 1000}
	defaultEngine  = EngineSSD
)

// decodeRoot decodes the expanded top-level blocks into a ClusterSpec.
func decodeRoot(content *hcl.BodyContent, missing hcl.Range, ctx *hcl.EvalContext, baseDir string) (*ClusterSpec, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	blocks := content.Blocks.ByType()
	spec := &ClusterSpec{SSH: defaultSSH, Paths: defaultPaths, Defaults: defaultProcess, ConfigDir: baseDir}
	for _, typ := range []string{"cluster", "ssh", "paths", "defaults"} {
		diags = append(diags, atMostOne(blocks[typ])...)
	}

	if b := first(blocks["ssh"]); b != nil {
		var raw rawSSH
		more := gohcl.DecodeBody(b.Body, ctx, &raw)
		diags = append(diags, more...)
		if !more.HasErrors() {
			diags = append(diags, raw.applyTo(&spec.SSH)...)
		}
	}
	if b := first(blocks["paths"]); b != nil {
		var raw rawPaths
		more := gohcl.DecodeBody(b.Body, ctx, &raw)
		diags = append(diags, more...)
		if !more.HasErrors() {
			diags = append(diags, raw.applyTo(&spec.Paths)...)
		}
	}
	var defaultCounts []ProcessCount
	if b := first(blocks["defaults"]); b != nil {
		var raw rawDefaults
		more := gohcl.DecodeBody(b.Body, ctx, &raw)
		diags = append(diags, more...)
		if !more.HasErrors() {
			diags = append(diags, raw.applyTo(&spec.Defaults)...)
			counts, _, more := decodeProcesses(raw.Processes, ctx)
			diags = append(diags, more...)
			defaultCounts = counts
		}
	}

	for _, b := range blocks["release"] {
		rel, more := decodeRelease(b, ctx, baseDir)
		diags = append(diags, more...)
		if rel != nil {
			spec.Releases = append(spec.Releases, *rel)
		}
	}
	diags = append(diags, uniqueReleases(spec.Releases)...)

	if b := first(blocks["cluster"]); b != nil {
		cluster, more := decodeCluster(b, ctx, spec.Releases)
		diags = append(diags, more...)
		if cluster != nil {
			spec.Cluster = *cluster
		}
	} else {
		diags = append(diags, errorf(missing, "Missing cluster block",
			`A description needs one cluster "name" { redundancy = ... } block.`))
	}

	for _, b := range blocks["host"] {
		host, more := decodeHost(b, ctx, spec, defaultCounts)
		diags = append(diags, more...)
		if host != nil {
			spec.Hosts = append(spec.Hosts, *host)
		}
	}
	diags = append(diags, uniqueHosts(spec.Hosts)...)
	if len(blocks["host"]) == 0 {
		diags = append(diags, errorf(missing, "No hosts",
			`A description needs at least one host "name" { ... } block.`))
	}
	return spec, diags
}

func first(blocks hcl.Blocks) *hcl.Block {
	if len(blocks) == 0 {
		return nil
	}
	return blocks[0]
}

func atMostOne(blocks hcl.Blocks) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, b := range blocks[min(1, len(blocks)):] {
		diags = append(diags, errorf(b.DefRange, "Duplicate "+b.Type+" block",
			"Only one %s block is allowed; the first is at %s.", b.Type, blocks[0].DefRange))
	}
	return diags
}

func (raw *rawSSH) applyTo(s *SSH) hcl.Diagnostics {
	var diags hcl.Diagnostics
	setString(&s.User, raw.User)
	setString(&s.KnownHosts, raw.KnownHosts)
	if raw.Port != nil {
		diags = append(diags, checkPort(*raw.Port, raw.PortRange, "SSH port")...)
		s.Port = *raw.Port
	}
	if raw.PrivateKeyFiles != nil {
		s.PrivateKeyFiles = append([]string(nil), *raw.PrivateKeyFiles...)
	}
	if raw.Agent != nil {
		s.Agent = *raw.Agent
	}
	if raw.Sudo != nil {
		s.Sudo = *raw.Sudo
	}
	if len(raw.Bastions) > 0 {
		s.Bastions = nil
		for _, b := range raw.Bastions {
			bastion := Bastion{Address: b.Address, Port: 22}
			diags = append(diags, checkAddress(b.Address, b.AddressRange)...)
			if b.Port != nil {
				diags = append(diags, checkPort(*b.Port, b.PortRange, "bastion port")...)
				bastion.Port = *b.Port
			}
			setString(&bastion.User, b.User)
			s.Bastions = append(s.Bastions, bastion)
		}
	}
	return diags
}

func (raw *rawPaths) applyTo(p *Paths) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, f := range []struct {
		dst *string
		src *string
		rng hcl.Range
	}{
		{&p.Install, raw.Install, raw.InstallRange},
		{&p.Conf, raw.Conf, raw.ConfRange},
		{&p.Data, raw.Data, raw.DataRange},
		{&p.Log, raw.Log, raw.LogRange},
	} {
		if f.src == nil {
			continue
		}
		diags = append(diags, checkAbsPath(*f.src, f.rng)...)
		*f.dst = filepath.Clean(*f.src)
	}
	return diags
}

func (raw *rawDefaults) applyTo(d *ProcessDefaults) hcl.Diagnostics {
	var diags hcl.Diagnostics
	if raw.Memory != nil {
		n, err := parseBytes(*raw.Memory)
		if err != nil {
			diags = append(diags, errorf(raw.MemoryRange, "Invalid memory size", "%s.", err))
		}
		d.Memory = n
	}
	if raw.PortBase != nil {
		diags = append(diags, checkPort(*raw.PortBase, raw.PortBaseRange, "port_base")...)
		d.PortBase = *raw.PortBase
	}
	if raw.HTTPPortOffset != nil {
		if *raw.HTTPPortOffset < 1 || *raw.HTTPPortOffset > 65534 {
			diags = append(diags, errorf(raw.OffsetRange, "Invalid HTTP port offset",
				"http_port_offset must be between 1 and 65534; got %d.", *raw.HTTPPortOffset))
		}
		d.HTTPPortOffset = *raw.HTTPPortOffset
	}
	return diags
}

func setString(dst *string, src *string) {
	if src != nil {
		*dst = *src
	}
}
