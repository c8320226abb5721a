package spec

import (
	"fmt"
	"math/big"
	"net/url"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

func decodeCluster(b *hcl.Block, ctx *hcl.EvalContext, releases []Release) (*Cluster, hcl.Diagnostics) {
	var raw rawCluster
	diags := gohcl.DecodeBody(b.Body, ctx, &raw)
	if diags.HasErrors() {
		return nil, diags
	}
	c := &Cluster{
		Name:            b.Labels[0],
		Redundancy:      Redundancy(raw.Redundancy),
		StorageEngine:   defaultEngine,
		DeclRange:       b.DefRange,
		RedundancyRange: raw.RedundancyRange,
	}
	if !clusterNameRE.MatchString(c.Name) {
		diags = append(diags, errorf(b.LabelRanges[0], "Invalid cluster name",
			"%q is not a valid cluster name: use letters, digits and underscores (it becomes the cluster file's description).", c.Name))
	}
	setString(&c.Description, raw.Description)
	if !slices.Contains(Redundancies(), c.Redundancy) {
		diags = append(diags, errorf(raw.RedundancyRange, "Unsupported redundancy mode",
			"%q is not a redundancy mode; use one of %s.", raw.Redundancy, quoteList(Redundancies())))
	}
	if raw.StorageEngine != nil {
		c.StorageEngine = StorageEngine(*raw.StorageEngine)
		if !slices.Contains(StorageEngines(), c.StorageEngine) {
			diags = append(diags, errorf(raw.EngineRange, "Unsupported storage engine",
				"%q is not a storage engine; use one of %s.", *raw.StorageEngine, quoteList(StorageEngines())))
		}
	}
	for _, n := range []struct {
		dst  *int
		src  *int
		rng  hcl.Range
		name string
	}{
		{&c.CommitProxies, raw.CommitProxies, raw.CommitProxiesRange, "commit_proxies"},
		{&c.GRVProxies, raw.GRVProxies, raw.GRVProxiesRange, "grv_proxies"},
		{&c.Resolvers, raw.Resolvers, raw.ResolversRange, "resolvers"},
		{&c.Logs, raw.Logs, raw.LogsRange, "logs"},
	} {
		if n.src == nil {
			continue
		}
		if *n.src < 0 {
			diags = append(diags, errorf(n.rng, "Invalid role count",
				"%s cannot be negative; use 0 (or leave it out) for the database's default.", n.name))
		}
		*n.dst = *n.src
	}
	coords, rng, more := decodeCoordinators(raw.Coordinators, ctx)
	diags = append(diags, more...)
	c.Coordinators, c.CoordinatorsRange = coords, rng
	version, more := chooseVersion(raw, b, releases)
	diags = append(diags, more...)
	c.Version = version
	return c, diags
}

// chooseVersion resolves cluster.version against the declared releases.
func chooseVersion(raw rawCluster, b *hcl.Block, releases []Release) (string, hcl.Diagnostics) {
	if raw.Version == nil {
		switch len(releases) {
		case 0:
			return "", hcl.Diagnostics{errorf(b.DefRange, "No release declared",
				`Declare the binary to run with a release "VERSION" { source = ... } block.`)}
		case 1:
			return releases[0].Version, nil
		default:
			return "", hcl.Diagnostics{errorf(b.DefRange, "Missing cluster version",
				"Several releases are declared; set version to the one the cluster should run.")}
		}
	}
	for _, r := range releases {
		if r.Version == *raw.Version {
			return r.Version, nil
		}
	}
	return *raw.Version, hcl.Diagnostics{errorf(raw.VersionRange, "Unknown release",
		"No release %q is declared; declared: %s.", *raw.Version, quoteList(releaseVersions(releases)))}
}

func releaseVersions(rs []Release) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Version
	}
	return out
}

// decodeCoordinators reads `coordinators`: absent or "auto" lets layout
// choose; otherwise a list of "host:port" or "address:port" entries.
func decodeCoordinators(expr hcl.Expression, ctx *hcl.EvalContext) ([]string, hcl.Range, hcl.Diagnostics) {
	rng := expr.Range()
	val, diags := expr.Value(ctx)
	if diags.HasErrors() || val.IsNull() {
		return nil, rng, diags
	}
	if val.Type() == cty.String {
		if val.AsString() == "auto" {
			return nil, rng, diags
		}
		return nil, rng, append(diags, errorf(rng, "Invalid coordinators",
			`coordinators is "auto" or a list of "host:port" entries; got %q.`, val.AsString()))
	}
	list, err := convert.Convert(val, cty.List(cty.String))
	if err != nil || list.IsNull() || !list.IsWhollyKnown() {
		return nil, rng, append(diags, errorf(rng, "Invalid coordinators",
			`coordinators is "auto" or a list of "host:port" entries.`))
	}
	var out []string
	seen := map[string]bool{}
	for _, v := range list.AsValueSlice() {
		if v.IsNull() {
			return nil, rng, append(diags, errorf(rng, "Invalid coordinators", "The list has a null entry."))
		}
		s := v.AsString()
		if _, _, ok := splitHostPort(s); !ok {
			diags = append(diags, errorf(rng, "Invalid coordinators",
				"%q is not of the form host:port (a host name or address, and a port number).", s))
			continue
		}
		if seen[s] {
			diags = append(diags, errorf(rng, "Invalid coordinators", "%q is listed twice.", s))
			continue
		}
		seen[s] = true
		out = append(out, s)
	}
	if len(out) == 0 && !diags.HasErrors() {
		diags = append(diags, errorf(rng, "Invalid coordinators", `The list is empty; use "auto" to let Strata choose.`))
	}
	return out, rng, diags
}

func decodeRelease(b *hcl.Block, ctx *hcl.EvalContext, baseDir string) (*Release, hcl.Diagnostics) {
	var raw rawRelease
	diags := gohcl.DecodeBody(b.Body, ctx, &raw)
	if diags.HasErrors() {
		return nil, diags
	}
	r := &Release{Version: b.Labels[0], Source: ReleaseSource(raw.Source), DeclRange: b.DefRange}
	if !versionRE.MatchString(r.Version) {
		diags = append(diags, errorf(b.LabelRanges[0], "Invalid release version",
			"%q is not a version: use letters, digits, dots, dashes, underscores and plus signs, starting with a letter or digit.", r.Version))
	}
	// Which attributes each source takes; the others are errors so a
	// half-edited block (a url left behind after switching to file) is
	// caught rather than silently ignored.
	allowed := map[ReleaseSource][]string{
		SourceLocalBinary: nil,
		SourceFile:        {"path", "sha256"},
		SourceURL:         {"url", "sha256"},
	}
	want, known := allowed[r.Source]
	if !known {
		return r, append(diags, errorf(raw.SourceRange, "Unsupported release source",
			"%q is not a release source; use one of %s.", raw.Source, quoteList(ReleaseSources())))
	}
	for _, f := range []struct {
		name string
		set  bool
		rng  hcl.Range
	}{{"path", raw.Path != nil, raw.PathRange}, {"url", raw.URL != nil, raw.URLRange}, {"sha256", raw.SHA256 != nil, raw.SHA256Range}} {
		if f.set && !slices.Contains(want, f.name) {
			diags = append(diags, errorf(f.rng, "Attribute not allowed for this release source",
				"A release with source = %q takes no %s.", r.Source, f.name))
		}
	}
	switch r.Source {
	case SourceFile:
		if raw.Path == nil || *raw.Path == "" {
			diags = append(diags, errorf(b.DefRange, "Missing release path",
				`A release with source = "file" needs path, the binary on this machine.`))
		} else {
			r.Path = absPath(baseDir, *raw.Path)
		}
	case SourceURL:
		if raw.URL == nil {
			diags = append(diags, errorf(b.DefRange, "Missing release URL", `A release with source = "url" needs url.`))
		} else if u, err := url.Parse(*raw.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			diags = append(diags, errorf(raw.URLRange, "Invalid release URL", "%q is not an http or https URL.", *raw.URL))
		} else {
			r.URL = *raw.URL
		}
		if raw.SHA256 == nil {
			diags = append(diags, errorf(b.DefRange, "Missing release digest",
				`A release with source = "url" needs sha256, so a tampered or truncated download is refused.`))
		}
	}
	if raw.SHA256 != nil && slices.Contains(want, "sha256") {
		digest := strings.ToLower(*raw.SHA256)
		if !sha256RE.MatchString(digest) {
			diags = append(diags, errorf(raw.SHA256Range, "Invalid sha256 digest",
				"sha256 must be 64 hexadecimal digits; got %d characters.", len(*raw.SHA256)))
		}
		r.SHA256 = digest
	}
	return r, diags
}

// absPath resolves a path on the operator's machine against the
// description's directory.
func absPath(baseDir, p string) string {
	if !filepath.IsAbs(p) {
		p = filepath.Join(baseDir, p)
	}
	return filepath.Clean(p)
}

func uniqueReleases(rs []Release) hcl.Diagnostics {
	var diags hcl.Diagnostics
	seen := map[string]hcl.Range{}
	for _, r := range rs {
		if prev, dup := seen[r.Version]; dup {
			diags = append(diags, errorf(r.DeclRange, "Duplicate release",
				"Release %q was already declared at %s.", r.Version, prev))
			continue
		}
		seen[r.Version] = r.DeclRange
	}
	return diags
}

func decodeHost(b *hcl.Block, ctx *hcl.EvalContext, spec *ClusterSpec, defaultCounts []ProcessCount) (*Host, hcl.Diagnostics) {
	var raw rawHost
	diags := gohcl.DecodeBody(b.Body, ctx, &raw)
	if diags.HasErrors() {
		return nil, diags
	}
	h := &Host{
		Name:           b.Labels[0],
		Transport:      TransportSSH,
		SSH:            spec.SSH,
		Paths:          spec.Paths,
		Process:        spec.Defaults,
		Processes:      defaultCounts,
		DeclRange:      b.DefRange,
		AddressRange:   raw.AddressRange,
		ProcessesRange: raw.ProcessesRange,
	}
	if !hostNameRE.MatchString(h.Name) {
		diags = append(diags, errorf(b.LabelRanges[0], "Invalid host name",
			"%q is not a valid host name: use letters, digits, dots, dashes and underscores, starting with a letter or digit.", h.Name))
	}
	if raw.Transport != nil {
		h.Transport = Transport(*raw.Transport)
		if h.Transport != TransportSSH && h.Transport != TransportLocal {
			diags = append(diags, errorf(raw.TransportRange, "Unsupported transport",
				`%q is not a transport; use "ssh" or "local".`, *raw.Transport))
		}
	}
	diags = append(diags, h.decodeAddress(raw, b.DefRange)...)
	diags = append(diags, h.decodeLocality(raw)...)
	if raw.Overrides != nil {
		diags = append(diags, h.applyOverrides(raw, raw.Overrides)...)
	}
	if raw.Port != nil {
		diags = append(diags, checkPort(*raw.Port, raw.PortRange, "SSH port")...)
		h.SSH.Port = *raw.Port
	}
	if raw.ProcessesRange != (hcl.Range{}) {
		counts, set, more := decodeProcesses(raw.Processes, ctx)
		diags = append(diags, more...)
		if set {
			h.Processes = counts
		}
	}
	if h.ProcessTotal() == 0 && !diags.HasErrors() {
		diags = append(diags, warnf(b.DefRange, "Host runs no processes",
			"Set processes = { storage = 1, ... } on the host or in the defaults block."))
	}
	return h, diags
}

func (h *Host) decodeAddress(raw rawHost, decl hcl.Range) hcl.Diagnostics {
	if raw.Address == nil {
		if h.Transport == TransportLocal {
			h.Address = "127.0.0.1"
			return nil
		}
		return hcl.Diagnostics{errorf(decl, "Missing host address",
			`Host %q uses SSH and needs address (an IP address or DNS name).`, h.Name)}
	}
	h.Address = *raw.Address
	return checkAddress(h.Address, raw.AddressRange)
}

func (h *Host) decodeLocality(raw rawHost) hcl.Diagnostics {
	var diags hcl.Diagnostics
	h.Locality = Locality{Zone: h.Name, Machine: h.Name}
	for _, f := range []struct {
		dst  *string
		src  *string
		rng  hcl.Range
		name string
	}{
		{&h.Locality.Zone, raw.Zone, raw.ZoneRange, "zone"},
		{&h.Locality.DataHall, raw.DataHall, raw.DataHallRange, "data_hall"},
		{&h.Locality.DC, raw.DC, raw.DCRange, "dc"},
		{&h.Locality.Machine, raw.Machine, raw.MachineRange, "machine"},
	} {
		if f.src == nil {
			continue
		}
		if !localityRE.MatchString(*f.src) {
			diags = append(diags, errorf(f.rng, "Invalid locality",
				"%s %q must be letters, digits, dots, dashes and underscores, starting with a letter or digit.", f.name, *f.src))
		}
		*f.dst = *f.src
	}
	return diags
}

func (h *Host) applyOverrides(host rawHost, o *rawOverrides) hcl.Diagnostics {
	diags := o.defaults().applyTo(&h.Process)
	if o.SSH != nil {
		if host.Port != nil && o.SSH.Port != nil {
			diags = append(diags, errorf(o.SSH.PortRange, "Conflicting SSH port",
				"The host sets port = %d and its overrides set ssh.port = %d; keep one.", *host.Port, *o.SSH.Port))
		}
		diags = append(diags, o.SSH.applyTo(&h.SSH)...)
	}
	if o.Paths != nil {
		diags = append(diags, o.Paths.applyTo(&h.Paths)...)
	}
	return diags
}

// decodeProcesses reads a `processes` map of class => count. When the map
// is written literally, a bad entry is reported at its own key or value.
// A null value (set reports false) means "inherit", so a conditional can
// fall back to the defaults block.
func decodeProcesses(expr hcl.Expression, ctx *hcl.EvalContext) (counts []ProcessCount, set bool, diags hcl.Diagnostics) {
	val, diags := expr.Value(ctx)
	if diags.HasErrors() || val.IsNull() {
		return nil, false, diags
	}
	rng := expr.Range()
	ty := val.Type()
	if !(ty.IsObjectType() || ty.IsMapType()) || !val.IsWhollyKnown() {
		return nil, true, append(diags, errorf(rng, "Invalid processes",
			"processes is a map of process class to count, such as { storage = 2, log = 1 }."))
	}
	keyRanges, valueRanges := itemRanges(expr)
	byClass := map[ProcessClass]int{}
	for it := val.ElementIterator(); it.Next(); {
		k, v := it.Element()
		class := ProcessClass(k.AsString())
		keyRng, valRng := rangeOr(keyRanges, k.AsString(), rng), rangeOr(valueRanges, k.AsString(), rng)
		if !slices.Contains(ProcessClasses(), class) {
			diags = append(diags, errorf(keyRng, "Unknown process class",
				"%q is not a process class; use one of %s.", class, quoteList(ProcessClasses())))
			continue
		}
		n, ok := wholeNumber(v)
		if !ok || n < 0 || n > 1000 {
			diags = append(diags, errorf(valRng, "Invalid process count",
				"The count of %s processes must be a whole number from 0 to 1000.", class))
			continue
		}
		byClass[class] = n
	}
	for _, class := range ProcessClasses() {
		if n := byClass[class]; n > 0 {
			counts = append(counts, ProcessCount{Class: class, Count: n})
		}
	}
	return counts, true, diags
}

// itemRanges maps the keys of a literal object expression to the ranges of
// each key and value; it returns nil maps for any other expression.
func itemRanges(expr hcl.Expression) (keys, values map[string]hcl.Range) {
	items, diags := hcl.ExprMap(expr)
	if diags.HasErrors() {
		return nil, nil
	}
	keys, values = map[string]hcl.Range{}, map[string]hcl.Range{}
	for _, item := range items {
		k, d := item.Key.Value(nil)
		if d.HasErrors() || k.Type() != cty.String || !k.IsKnown() || k.IsNull() {
			continue
		}
		keys[k.AsString()] = item.Key.Range()
		values[k.AsString()] = item.Value.Range()
	}
	return keys, values
}

func rangeOr(m map[string]hcl.Range, key string, fallback hcl.Range) hcl.Range {
	if r, ok := m[key]; ok {
		return r
	}
	return fallback
}

func wholeNumber(v cty.Value) (int, bool) {
	n, err := convert.Convert(v, cty.Number)
	if err != nil || n.IsNull() || !n.IsKnown() {
		return 0, false
	}
	i, acc := n.AsBigFloat().Int64()
	if acc != big.Exact {
		return 0, false
	}
	return int(i), true
}

func uniqueHosts(hosts []Host) hcl.Diagnostics {
	var diags hcl.Diagnostics
	seen := map[string]hcl.Range{}
	for _, h := range hosts {
		if prev, dup := seen[h.Name]; dup {
			diags = append(diags, errorf(h.DeclRange, "Duplicate host",
				"A host named %q was already declared at %s.", h.Name, prev))
			continue
		}
		seen[h.Name] = h.DeclRange
	}
	return diags
}

func quoteList[T ~string](items []T) string {
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = fmt.Sprintf("%q", it)
	}
	return strings.Join(parts, ", ")
}
