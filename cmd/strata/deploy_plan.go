package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/strata-db/strata/deployer/apply"
	"github.com/strata-db/strata/deployer/plan"
	"github.com/strata-db/strata/deployer/state"
)

// requirements are what every host must offer.
func (d *deployment) requirements() (apply.Requirements, error) {
	arch, err := apply.BinaryArch(d.binary)
	if err != nil {
		return apply.Requirements{}, err
	}
	req := apply.Requirements{Arch: arch, MinFreeBytes: 256 << 20, Commands: apply.DefaultCommands(), MaxClockSkew: 30 * time.Second,
		Ports: map[string][]int{}}
	for _, hl := range d.layout.Hosts {
		for _, p := range hl.Processes {
			req.Ports[hl.Name] = append(req.Ports[hl.Name], p.Port, p.HTTPPort)
		}
	}
	return req, nil
}

// inspect checks every host and, with refresh, reads what it runs, in one
// remote command per host (connecting on the way); hosts that could not be
// set up at all (fails) and failed checks make a *PreflightError. The
// facts are kept for apply (systemd or not).
func (d *deployment) inspect(ctx context.Context, fails []apply.CheckFailure, refresh bool) (map[string]*apply.HostReport, error) {
	req, err := d.requirements()
	if err != nil {
		return nil, err
	}
	reachable := &plan.Desired{}
	for _, h := range d.desired.Hosts {
		if d.hosts[h.Name] != nil {
			reachable.Hosts = append(reachable.Hosts, h)
		}
	}
	reps := apply.Inspect(ctx, reachable, d.hosts, apply.InspectOptions{
		Requirements: &req, Refresh: refresh, ClusterFile: refresh, Parallel: d.flags.parallel})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	facts, err := apply.FactsOf(reps)
	var pe *apply.PreflightError
	switch {
	case errors.As(err, &pe):
		fails = append(fails, pe.Failures...)
	case err != nil:
		return nil, err
	}
	if len(fails) > 0 {
		slices.SortFunc(fails, func(a, b apply.CheckFailure) int { return strings.Compare(a.Host+a.Check, b.Host+b.Check) })
		return nil, &apply.PreflightError{Failures: fails}
	}
	d.facts = facts
	return reps, nil
}

// preflight checks every host without reading what it runs.
func (d *deployment) preflight(ctx context.Context, fails []apply.CheckFailure) (map[string]apply.HostFacts, error) {
	if _, err := d.inspect(ctx, fails, false); err != nil {
		return nil, err
	}
	return d.facts, nil
}

// observe turns the hosts' reports into what they run and, when a monitor
// runs anywhere, reads the database through the cluster file of the first
// host that has one (the hosts' own cluster file says where the database
// is now); or, with -refresh=false, reads both from the state.
func (d *deployment) observe(ctx context.Context, reps map[string]*apply.HostReport, warn io.Writer) *plan.Observed {
	if !d.flags.refresh {
		return observedFromState(d.desired, d.state)
	}
	o := apply.ObservedOf(reps)
	if !slices.ContainsFunc(d.desired.Hosts, func(h plan.DesiredHost) bool {
		oh := o.Hosts[h.Name]
		return oh != nil && oh.MonitorRunning
	}) {
		return o // a fresh cluster has no database to wait for
	}
	var cf []byte
	for _, h := range d.desired.Hosts {
		if r := reps[h.Name]; r != nil && r.ClusterFile != nil {
			cf = r.ClusterFile
			break
		}
	}
	if cf == nil {
		fmt.Fprintln(warn, "Warning: no host has a cluster file to reach the database through; its configuration is planned as if new.")
		return o
	}
	db, err := apply.Database{ClusterFile: cf, Timeout: 5 * time.Second}.Observe(ctx)
	if err != nil {
		fmt.Fprintf(warn, "Warning: the database did not answer (%v); its configuration is planned as if new.\n", err)
		return o
	}
	o.Database, d.dbClusterFile = db, cf
	return o
}

// observedFromState is what the state says was applied, for
// -refresh=false. The state does not record coordinators: they are taken
// as desired.
func observedFromState(d *plan.Desired, st *state.State) *plan.Observed {
	o := &plan.Observed{Hosts: map[string]*plan.ObservedHost{}}
	attr := func(addr, key string) string {
		if r := st.Resource(addr); r != nil {
			return r.Attributes[key]
		}
		return ""
	}
	// The processes of each host, found in one pass over the state.
	procs := map[string][]*state.Resource{}
	for i := range st.Resources {
		if r := &st.Resources[i]; r.Type == plan.TypeProcess {
			procs[r.Attributes["host"]] = append(procs[r.Attributes["host"]], r)
		}
	}
	for _, dh := range d.Hosts {
		oh := &plan.ObservedHost{Processes: map[string]plan.ObservedProcess{}}
		prefix := "host." + dh.Name + "."
		if attr(prefix+plan.TypeRelease, "path") == dh.Release.Path {
			oh.ReleaseSHA256 = attr(prefix+plan.TypeRelease, "sha256")
		}
		oh.ConfSHA256 = attr(prefix+plan.TypeConf, "sha256")
		oh.ClusterFileSHA256 = attr(prefix+plan.TypeClusterFile, "sha256")
		oh.MonitorRunning = st.Resource(prefix+plan.TypeMonitor) != nil
		for _, r := range procs[dh.Name] {
			if _, id, ok := strings.Cut(r.Address, ":"); ok {
				oh.Processes[id] = plan.ObservedProcess{LaunchDigest: r.Attributes["launch_digest"], Running: true}
			}
		}
		o.Hosts[dh.Name] = oh
	}
	if r := st.Resource(plan.DatabaseAddress); r != nil {
		o.Database = &plan.ObservedDatabase{Configured: true, Redundancy: r.Attributes["redundancy"],
			StorageEngine: r.Attributes["storage_engine"], Coordinators: d.Database.Coordinators}
	}
	return o
}

// targetMatches reports whether -target t selects c: the address itself,
// anything under it ("host.db1" selects host.db1.conf and the processes of
// db1, "cluster" the database).
func targetMatches(c plan.Change, t string) bool {
	return c.Address == t || strings.HasPrefix(c.Address, t+".") || strings.HasPrefix(c.Address, t+":") || t == "host."+c.Host
}

func filterTargets(p *plan.Plan, targets []string) (kept, total int) {
	total = len(p.Changes)
	if len(targets) == 0 {
		return total, total
	}
	p.Changes = slices.DeleteFunc(p.Changes, func(c plan.Change) bool {
		return !slices.ContainsFunc(targets, func(t string) bool { return targetMatches(c, t) })
	})
	return len(p.Changes), total
}

// makePlan runs preflight, refresh and the planner, printing progress to
// w and warnings to warn; the plan is limited to -target.
func (d *deployment) makePlan(ctx context.Context, w, warn io.Writer) (*plan.Plan, error) {
	if d.offline {
		return d.planFromState(warn)
	}
	// One command per host checks it and reads what it runs; each host is
	// connected to on its way there, not after all are.
	reps, err := d.inspect(ctx, d.connect(ctx, false), d.flags.refresh)
	if err != nil {
		return nil, err
	}
	if !d.flags.jsonOut {
		fmt.Fprintln(w, preflightSummary(d.facts))
	}
	o := d.observe(ctx, reps, warn)
	return d.finishPlan(o, warn)
}

// planFromState plans without contacting any host: `plan -refresh=false`
// compares the description with what the state records, so it works (and
// is fast) for any number of hosts, reachable or not. Apply always
// connects, since it must act on the hosts.
func (d *deployment) planFromState(warn io.Writer) (*plan.Plan, error) {
	return d.finishPlan(observedFromState(d.desired, d.state), warn)
}

// finishPlan plans the changes from o to the desired configuration, limited
// to -target.
func (d *deployment) finishPlan(o *plan.Observed, warn io.Writer) (*plan.Plan, error) {
	p, err := plan.Make(d.desired, o, d.state)
	if err != nil {
		return nil, err
	}
	if kept, total := filterTargets(p, d.flags.targets); kept != total {
		fmt.Fprintf(warn, "Note: -target %s limits this plan to %d of %d changes; the others stay pending until a plan without -target.\n",
			strings.Join(d.flags.targets, ", "), kept, total)
	}
	return p, nil
}

func preflightSummary(facts map[string]apply.HostFacts) string {
	minFree := int64(-1)
	arches := map[string]bool{}
	for _, f := range facts {
		arches[f.OS+" "+f.Arch] = true
		if minFree < 0 || f.FreeBytes < minFree {
			minFree = f.FreeBytes
		}
	}
	kinds := make([]string, 0, len(arches))
	for k := range arches {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	return fmt.Sprintf("Preflight: %d host(s) reachable (%s), sh, sha256sum, setsid, flock and head present, ports free, clocks within 30s, at least %.1f GiB free in each data path.",
		len(facts), strings.Join(kinds, ", "), float64(max(minFree, 0))/(1<<30))
}

// writePlan prints a plan for people (or as JSON), with the note on what
// a database configure does today.
func writePlan(w io.Writer, p *plan.Plan, jsonOut bool) error {
	if jsonOut {
		return p.WriteJSON(w)
	}
	if err := p.WriteHuman(w); err != nil {
		return err
	}
	if slices.ContainsFunc(p.Changes, func(c plan.Change) bool { return c.Type == plan.TypeDatabase }) {
		_, err := fmt.Fprintln(w, "\nNote: configuring the database records the redundancy mode and storage engine under \\xff/conf/;\n"+
			"the cluster acts on them once recruitment reads them (see the cluster issue).")
		return err
	}
	return nil
}

func runPlan(cmd *cobra.Command, configPath string, f *deployFlags, out string, detailed bool) error {
	d, err := loadDeployment(cmd, configPath, f)
	if err != nil {
		return err
	}
	defer d.close()
	d.offline = !f.refresh
	stdout := cmd.OutOrStdout()
	p, err := d.makePlan(cmd.Context(), stdout, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	if err := writePlan(stdout, p, f.jsonOut); err != nil {
		return err
	}
	if out != "" {
		if err := plan.SaveFile(out, &plan.File{ConfigPath: configPath, Plan: p, Desired: d.desired}); err != nil {
			return err
		}
		if !f.jsonOut {
			fmt.Fprintf(stdout, "\nSaved the plan to %s. To do exactly this, run: strata apply %s\n", out, out)
		}
	}
	if detailed && !p.Empty() {
		return &exitError{code: 2, err: errors.New("the plan has changes")}
	}
	return nil
}
