package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/strata-db/strata/deployer/apply"
	"github.com/strata-db/strata/deployer/plan"
	"github.com/strata-db/strata/deployer/state"
)

// preflight checks every connected host; a failure, or a host that could
// not be connected (fails), is an error listing each host and check.
func (d *deployment) preflight(ctx context.Context, fails []apply.CheckFailure) (map[string]apply.HostFacts, error) {
	arch, err := apply.BinaryArch(d.binary)
	if err != nil {
		return nil, err
	}
	req := apply.Requirements{Arch: arch, MinFreeBytes: 256 << 20, Commands: apply.DefaultCommands(), MaxClockSkew: 30 * time.Second,
		Ports: map[string][]int{}}
	for _, hl := range d.layout.Hosts {
		for _, p := range hl.Processes {
			req.Ports[hl.Name] = append(req.Ports[hl.Name], p.Port, p.HTTPPort)
		}
	}
	reachable := &plan.Desired{}
	for _, h := range d.desired.Hosts {
		if d.hosts[h.Name] != nil {
			reachable.Hosts = append(reachable.Hosts, h)
		}
	}
	facts, err := apply.Preflight(ctx, reachable, d.hosts, req, d.flags.parallel)
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
	return facts, nil
}

// observe refreshes the hosts and, when a monitor runs anywhere, the
// database; or, with -refresh=false, reads both from the state. The
// database is read at the same time as the hosts, through the cluster file
// of the first host, and the read is dropped when no monitor runs (a
// fresh cluster has no database to wait for).
func (d *deployment) observe(ctx context.Context, warn io.Writer) *plan.Observed {
	if !d.flags.refresh {
		return observedFromState(d.desired, d.state)
	}
	dbCtx, cancelDB := context.WithCancel(ctx)
	defer cancelDB()
	type dbResult struct {
		db          *plan.ObservedDatabase
		clusterFile []byte
		err         error
	}
	dbDone := make(chan dbResult, 1)
	go func() {
		db, cf, err := observeDatabase(dbCtx, d.desired, d.hosts)
		dbDone <- dbResult{db, cf, err}
	}()
	o := apply.Refresh(ctx, d.desired, d.hosts, d.flags.parallel)
	if !slices.ContainsFunc(d.desired.Hosts, func(h plan.DesiredHost) bool {
		oh := o.Hosts[h.Name]
		return oh != nil && oh.MonitorRunning
	}) {
		return o
	}
	r := <-dbDone
	if r.err != nil {
		fmt.Fprintf(warn, "Warning: the database did not answer (%v); its configuration is planned as if new.\n", r.err)
		return o
	}
	o.Database, d.dbClusterFile = r.db, r.clusterFile
	return o
}

// observeDatabase reads the database configuration through the cluster
// file on the first host that has one (the hosts' own cluster file says
// where the database is now), and returns that cluster file.
func observeDatabase(ctx context.Context, d *plan.Desired, hosts map[string]apply.Host) (*plan.ObservedDatabase, []byte, error) {
	var lastErr error
	for _, dh := range d.Hosts {
		h := hosts[dh.Name]
		if h == nil {
			continue
		}
		cf, err := h.Exec(ctx, "cat -- "+shellQuote(dh.Cluster.Path), false)
		if err != nil {
			lastErr = fmt.Errorf("reading %s on %s: %w", dh.Cluster.Path, dh.Name, err)
			continue
		}
		db, err := apply.Database{ClusterFile: cf, Timeout: 5 * time.Second}.Observe(ctx)
		return db, cf, err
	}
	if lastErr == nil {
		lastErr = errors.New("no host to read the cluster file from")
	}
	return nil, nil, lastErr
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
	for _, dh := range d.Hosts {
		oh := &plan.ObservedHost{Processes: map[string]plan.ObservedProcess{}}
		prefix := "host." + dh.Name + "."
		if attr(prefix+plan.TypeRelease, "path") == dh.Release.Path {
			oh.ReleaseSHA256 = attr(prefix+plan.TypeRelease, "sha256")
		}
		oh.ConfSHA256 = attr(prefix+plan.TypeConf, "sha256")
		oh.ClusterFileSHA256 = attr(prefix+plan.TypeClusterFile, "sha256")
		oh.MonitorRunning = st.Resource(prefix+plan.TypeMonitor) != nil
		for _, r := range st.Resources {
			if r.Type == plan.TypeProcess && r.Attributes["host"] == dh.Name {
				if _, id, ok := strings.Cut(r.Address, ":"); ok {
					oh.Processes[id] = plan.ObservedProcess{LaunchDigest: r.Attributes["launch_digest"], Running: true}
				}
			}
		}
		o.Hosts[dh.Name] = oh
	}
	if r := st.Resource("cluster.database"); r != nil {
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
	fails := d.connect(ctx)
	// Preflight and refresh only read, so they run at once; the refresh
	// is discarded when preflight fails.
	var facts map[string]apply.HostFacts
	var perr error
	var wg sync.WaitGroup
	wg.Go(func() { facts, perr = d.preflight(ctx, fails) })
	o := d.observe(ctx, warn)
	wg.Wait()
	if perr != nil {
		return nil, perr
	}
	if !d.flags.jsonOut {
		fmt.Fprintln(w, preflightSummary(facts))
	}
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
	return fmt.Sprintf("Preflight: %d host(s) reachable (%s), sh, sha256sum and setsid present, ports free, clocks within 30s, at least %.1f GiB free in each data path.",
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
