package plan

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/strata-db/strata/deployer/state"
)

// Action is what a change does to its resource.
type Action string

// Actions, with Terraform's meaning.
const (
	Create  Action = "create"
	Update  Action = "update"
	Replace Action = "replace"
	Delete  Action = "delete"
	Restart Action = "restart"
)

// Glyph is the symbol the human plan shows for the action.
func (a Action) Glyph() string {
	switch a {
	case Create:
		return "+"
	case Update:
		return "~"
	case Replace:
		return "-/+"
	case Delete:
		return "-"
	case Restart:
		return "↻"
	}
	return "?"
}

// Resource types.
const (
	TypeRelease     = "release"
	TypeConf        = "conf"
	TypeClusterFile = "cluster_file"
	TypeMonitor     = "monitor"
	TypeProcess     = "process"
	TypeDatabase    = "database"
)

// The cluster-wide resources' addresses.
const (
	// DatabaseAddress is the database's configuration.
	DatabaseAddress = "cluster.database"
	// CoordinatorsAddress is the coordinators the database runs on.
	CoordinatorsAddress = "cluster.coordinators"
)

// Change is one planned change to one resource.
type Change struct {
	Address string `json:"address"`
	Host    string `json:"host,omitempty"`
	Type    string `json:"type"`
	Action  Action `json:"action"`
	// Reason says why, in words an operator reads in the plan.
	Reason string `json:"reason"`
}

// Plan is the list of changes an apply would make.
type Plan struct {
	// Lineage and Serial of the state the plan was made against; apply
	// refuses a plan whose state has moved on.
	Lineage string `json:"lineage"`
	Serial  uint64 `json:"serial"`
	// DesiredDigest identifies the desired configuration the plan was
	// made for.
	DesiredDigest string   `json:"desired_digest"`
	Changes       []Change `json:"changes"`
}

// Empty reports whether the plan changes nothing.
func (p *Plan) Empty() bool { return len(p.Changes) == 0 }

// Counts returns how many changes add, change, destroy and restart.
func (p *Plan) Counts() (add, change, destroy, restart int) {
	for _, c := range p.Changes {
		switch c.Action {
		case Create:
			add++
		case Update:
			change++
		case Replace:
			add++
			destroy++
		case Delete:
			destroy++
		case Restart:
			restart++
		}
	}
	return
}

// UnreachableError lists hosts a refresh could not read; no plan is made
// from partial knowledge.
type UnreachableError struct{ Hosts map[string]string }

func (e *UnreachableError) Error() string {
	names := make([]string, 0, len(e.Hosts))
	for n := range e.Hosts {
		names = append(names, n)
	}
	slices.Sort(names)
	var b strings.Builder
	b.WriteString("cannot plan: hosts could not be refreshed:")
	for _, n := range names {
		fmt.Fprintf(&b, "\n  %s: %s", n, e.Hosts[n])
	}
	return b.String()
}

// Make plans the changes that bring observed to desired. st is the state
// of the previous applies (nil for none); it tells drift (a file changed by
// hand) from intent and lists hosts removed from the description.
func Make(d *Desired, o *Observed, st *state.State) (*Plan, error) {
	unreachable := map[string]string{}
	for _, h := range d.Hosts {
		oh := o.Hosts[h.Name]
		switch {
		case oh == nil:
			unreachable[h.Name] = "not refreshed"
		case oh.Error != "":
			unreachable[h.Name] = oh.Error
		}
	}
	if len(unreachable) > 0 {
		return nil, &UnreachableError{Hosts: unreachable}
	}
	p := &Plan{DesiredDigest: d.Digest()}
	if st != nil {
		p.Lineage, p.Serial = st.Lineage, st.Serial
	}
	for i := range d.Hosts {
		p.Changes = append(p.Changes, planHost(&d.Hosts[i], o.Hosts[d.Hosts[i].Name], st)...)
	}
	p.Changes = append(p.Changes, planRemovedHosts(d, st)...)
	p.Changes = append(p.Changes, planDatabase(d, o)...)
	return p, nil
}

func planHost(d *DesiredHost, o *ObservedHost, st *state.State) []Change {
	var out []Change
	addr := func(kind string) string { return "host." + d.Name + "." + kind }
	prev := func(kind, attr string) string {
		if st == nil {
			return ""
		}
		if r := st.Resource(addr(kind)); r != nil {
			return r.Attributes[attr]
		}
		return ""
	}
	switch {
	case o.ReleaseSHA256 == "":
		out = append(out, Change{addr(TypeRelease), d.Name, TypeRelease, Create,
			fmt.Sprintf("install strata %s at %s", d.Release.Version, d.Release.Path)})
	case o.ReleaseSHA256 != d.Release.SHA256:
		out = append(out, Change{addr(TypeRelease), d.Name, TypeRelease, Replace,
			fmt.Sprintf("%s has sha256 %s, want %s", d.Release.Path, short(o.ReleaseSHA256), short(d.Release.SHA256))})
	}
	out = append(out, fileChange(addr(TypeConf), d.Name, TypeConf, d.Conf, o.ConfSHA256, prev(TypeConf, "sha256"))...)
	if o.ClusterFileSHA256 == "" {
		out = append(out, Change{addr(TypeClusterFile), d.Name, TypeClusterFile, Create, "write " + d.Cluster.Path})
	}
	switch {
	case !o.MonitorRunning:
		out = append(out, Change{addr(TypeMonitor), d.Name, TypeMonitor, Create, "start strata monitor"})
	case o.MonitorUnitSHA256 != "" && o.MonitorUnitSHA256 != d.MonitorUnit.SHA256:
		// The running monitor keeps its binary; systemd starts the one the
		// unit names when it restarts it (or at boot).
		out = append(out, Change{addr(TypeMonitor), d.Name, TypeMonitor, Update,
			fmt.Sprintf("rewrite %s (the monitor's unit, to start %s)", d.MonitorUnit.Path, d.Release.Path)})
	}
	return append(out, planProcesses(d, o, prev(TypeRelease, "version"))...)
}

func fileChange(address, host, typ string, d DesiredFile, observed, applied string) []Change {
	switch {
	case observed == "":
		return []Change{{address, host, typ, Create, "write " + d.Path}}
	case observed == d.SHA256:
		return nil
	case applied != "" && observed != applied:
		return []Change{{address, host, typ, Update, "rewrite " + d.Path + " (drift: it was changed on the host since the last apply)"}}
	default:
		return []Change{{address, host, typ, Update, "rewrite " + d.Path}}
	}
}

func planProcesses(d *DesiredHost, o *ObservedHost, appliedVersion string) []Change {
	var out []Change
	want := map[string]bool{}
	for _, p := range d.Processes {
		id := strconv.Itoa(p.Port)
		want[id] = true
		address := "process." + d.Name + ":" + id
		op, running := o.Processes[id]
		switch {
		case !running:
			out = append(out, Change{address, d.Name, TypeProcess, Create, fmt.Sprintf("start %s process on port %d", p.Class, p.Port)})
		case op.LaunchDigest != p.LaunchDigest:
			reason := "arguments changed"
			if appliedVersion != "" && appliedVersion != d.Release.Version {
				reason = fmt.Sprintf("binary %s -> %s", appliedVersion, d.Release.Version)
			}
			out = append(out, Change{address, d.Name, TypeProcess, Restart, reason})
		}
	}
	ids := make([]string, 0, len(o.Processes))
	for id := range o.Processes {
		if !want[id] {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		out = append(out, Change{"process." + d.Name + ":" + id, d.Name, TypeProcess, Delete, "not in the description: stop it"})
	}
	return out
}

// planRemovedHosts destroys what state says was applied to hosts no longer
// described.
func planRemovedHosts(d *Desired, st *state.State) []Change {
	if st == nil {
		return nil
	}
	described := make(map[string]bool, len(d.Hosts))
	for _, h := range d.Hosts {
		described[h.Name] = true
	}
	var out []Change
	for _, r := range st.Resources {
		host := r.Attributes["host"]
		if host == "" || described[host] {
			continue
		}
		out = append(out, Change{r.Address, host, r.Type, Delete, "host " + host + " is no longer in the description"})
	}
	return out
}

func planDatabase(d *Desired, o *Observed) []Change {
	const address = DatabaseAddress
	db := o.Database
	want := d.Database
	wantConf := strings.TrimSpace(fmt.Sprintf("%s %s %s", want.Redundancy, want.StorageEngine, want.Roles))
	switch {
	case db == nil || !db.Configured:
		return []Change{{address, "", TypeDatabase, Create, "configure new " + wantConf}}
	case db.Redundancy != want.Redundancy || db.StorageEngine != want.StorageEngine || db.Roles != want.Roles:
		now := strings.TrimSpace(fmt.Sprintf("%s %s %s", db.Redundancy, db.StorageEngine, db.Roles))
		return []Change{{address, "", TypeDatabase, Update, fmt.Sprintf("configure %s (now %s)", wantConf, now)}}
	case !slices.Equal(sorted(db.Coordinators), sorted(want.Coordinators)):
		return []Change{{CoordinatorsAddress, "", TypeDatabase, Update, "coordinators " + strings.Join(want.Coordinators, ",")}}
	}
	return nil
}

func sorted(xs []string) []string {
	out := slices.Clone(xs)
	slices.Sort(out)
	return out
}

func short(digest string) string {
	if len(digest) > 12 {
		return digest[:12]
	}
	return digest
}
