package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/strata-db/strata/deployer/apply"
	"github.com/strata-db/strata/deployer/event"
	"github.com/strata-db/strata/deployer/layout"
	"github.com/strata-db/strata/deployer/plan"
	"github.com/strata-db/strata/deployer/remote"
	"github.com/strata-db/strata/deployer/spec"
	"github.com/strata-db/strata/deployer/state"
)

// deployFlags are the flags plan, apply and destroy share.
type deployFlags struct {
	vars, varFiles stringList
	targets        stringList
	jsonOut        bool
	refresh        bool
	acceptNewKeys  bool
	autoApprove    bool
	ignoreLease    bool
	purgeData      bool
	statePath      string
	parallel       int
	connectTimeout time.Duration
	waitTimeout    time.Duration
}

func (f *deployFlags) common(fs *flag.FlagSet) {
	fs.Var(&f.vars, "var", "set a variable: -var 'name=value' (repeatable)")
	fs.Var(&f.varFiles, "var-file", "read variables from an HCL or JSON file (repeatable)")
	fs.BoolVar(&f.jsonOut, "json", false, "machine-readable output (JSON)")
	fs.BoolVar(&f.acceptNewKeys, remote.AcceptNewHostKeysFlag[1:], false, "pin the keys of hosts known_hosts does not list yet (changed keys are always refused)")
	fs.StringVar(&f.statePath, "state", "", "state file (default: beside CONFIG.hcl, named CONFIG.state)")
	fs.IntVar(&f.parallel, "parallelism", 16, "hosts acted on at once in the wide phases")
	fs.DurationVar(&f.connectTimeout, "connect-timeout", 10*time.Second, "bound on connecting to each host")
}

func (f *deployFlags) planning(fs *flag.FlagSet) {
	fs.BoolVar(&f.refresh, "refresh", true, "read the hosts and the database before planning (-refresh=false plans from the state alone)")
	fs.Var(&f.targets, "target", "limit the changes to this resource address and what it contains (repeatable)")
}

func newPlanCommand() *cobra.Command {
	return goFlagCommand("plan [-out FILE] [-json] [-detailed-exitcode] [-refresh=false] [-target ADDR]... [-var k=v]... [-var-file F]... CONFIG.hcl",
		"Show what apply would change",
		`Plan reads the description, checks every host (reachable, Linux on the release's
architecture, sh, sha256sum and setsid installed, free disk in the data path),
refreshes what the hosts and the database run, and lists the changes apply would
make, each with its reason; restarts are listed explicitly (↻).
Exit status with -detailed-exitcode: 0 no changes, 1 error, 2 changes.`,
		func(fs *flag.FlagSet) func(*cobra.Command, []string) error {
			var f deployFlags
			f.common(fs)
			f.planning(fs)
			out := fs.String("out", "", "save the plan to FILE for `strata apply FILE`")
			detailed := fs.Bool("detailed-exitcode", false, "exit 2 when there are changes, 0 when none")
			return func(cmd *cobra.Command, args []string) error {
				if len(args) != 1 {
					return errors.New("plan takes one CONFIG.hcl")
				}
				return runPlan(cmd, args[0], &f, *out, *detailed)
			}
		})
}

func newApplyCommand() *cobra.Command {
	return goFlagCommand("apply [-auto-approve] [-json] [-refresh=false] [-target ADDR]... [-var k=v]... [-var-file F]... CONFIG.hcl | PLANFILE",
		"Bring the hosts to their description",
		`Apply plans as plan does, asks for "yes" (unless -auto-approve) and carries the
plan out: uploads (skipped when the digest is present), conf and cluster files
written atomically, monitors started, then waits until every process runs its
desired launch and configures the database. Each step is journaled beside the
state (CONFIG.state.journal) and the state is saved as steps finish; an
interrupted apply is resumed by the next from what the hosts run. Given a
PLANFILE from plan -out, apply does exactly that plan, refusing it when the
state or the description moved on since.`,
		func(fs *flag.FlagSet) func(*cobra.Command, []string) error {
			var f deployFlags
			f.common(fs)
			f.planning(fs)
			fs.BoolVar(&f.autoApprove, "auto-approve", false, "do not ask for confirmation")
			fs.DurationVar(&f.waitTimeout, "wait-timeout", 2*time.Minute, "bound on waiting for processes to run their desired launch")
			fs.BoolVar(&f.ignoreLease, "ignore-lease", false, "proceed although another run holds the cluster's lease (left by a run that died)")
			return func(cmd *cobra.Command, args []string) error {
				if len(args) != 1 {
					return errors.New("apply takes one CONFIG.hcl or PLANFILE")
				}
				return runApply(cmd, args[0], &f)
			}
		})
}

func newDestroyCommand() *cobra.Command {
	return goFlagCommand("destroy [-auto-approve] [-purge-data] [-var k=v]... [-var-file F]... CONFIG.hcl",
		"Stop the cluster and remove what apply installed",
		`Destroy stops each host's monitor (and with it the server processes) and removes
the conf, cluster file, release binary, the monitor's state and the logs strata
wrote. Data directories stay unless -purge-data is given, which asks for the
cluster's name to be typed (or -auto-approve). The state is emptied.`,
		func(fs *flag.FlagSet) func(*cobra.Command, []string) error {
			var f deployFlags
			f.common(fs)
			fs.BoolVar(&f.autoApprove, "auto-approve", false, "do not ask for confirmation")
			fs.BoolVar(&f.purgeData, "purge-data", false, "also delete the server processes' data directories")
			return func(cmd *cobra.Command, args []string) error {
				if len(args) != 1 {
					return errors.New("destroy takes one CONFIG.hcl")
				}
				return runDestroy(cmd, args[0], &f)
			}
		})
}

// deployment is a description resolved for one run: spec, layout, the
// release binary, the state and the connections to the hosts.
type deployment struct {
	configPath string
	statePath  string
	spec       *spec.ClusterSpec
	layout     *layout.Layout
	binary     string // the release binary on this machine
	binarySum  string
	state      *state.State
	stateIsNew bool
	desired    *plan.Desired
	pool       *remote.Pool
	hosts      map[string]apply.Host
	flags      *deployFlags
	// dbClusterFile is the cluster file through which this run's refresh
	// reached the database; nil when it did not.
	dbClusterFile []byte
}

func (d *deployment) close() {
	if d.pool != nil {
		d.pool.Close()
	}
}

// loadDeployment reads the description (printing its diagnostics as
// validate does), the release binary's digest and the state, and builds the
// desired configuration.
func loadDeployment(cmd *cobra.Command, configPath string, f *deployFlags) (*deployment, error) {
	s, sources, diags := spec.Load(configPath, spec.Options{Vars: f.vars, VarFiles: f.varFiles, Env: os.Environ()})
	var l *layout.Layout
	if s != nil && !diags.HasErrors() {
		var more hcl.Diagnostics
		l, more = layout.Compute(s)
		diags = append(diags, more...)
	}
	if len(diags) > 0 {
		width, color := terminalStyle(cmd.ErrOrStderr(), false)
		if err := spec.WriteDiagnostics(cmd.ErrOrStderr(), sources, diags, width, color); err != nil {
			return nil, fmt.Errorf("writing diagnostics: %w", err)
		}
	}
	if diags.HasErrors() {
		return nil, fmt.Errorf("%s is not valid: %d error(s)", configPath, countErrors(diags))
	}
	d := &deployment{configPath: configPath, spec: s, layout: l, flags: f, statePath: f.statePath}
	if d.statePath == "" {
		d.statePath = statePathFor(configPath)
	}
	var err error
	if d.binary, d.binarySum, err = releaseBinary(s); err != nil {
		return nil, err
	}
	if err := d.loadState(); err != nil {
		return nil, err
	}
	if d.desired, err = plan.BuildDesired(s, l, d.binarySum, clusterID(d.state)); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *deployment) loadState() error {
	st, err := state.Load(d.statePath)
	switch {
	case errors.Is(err, state.ErrNoState):
		if st, err = state.New(d.spec.Cluster.Name); err != nil {
			return err
		}
		d.stateIsNew = true
	case err != nil:
		return err
	}
	d.state = st
	return nil
}

// clusterID is the ID in the cluster file: the first 16 characters of the
// state's lineage. The lineage is made once, with the state, and kept for
// the cluster's life (destroy empties the state but keeps it), so the ID is
// the same in every plan and apply and needs no attribute of its own. A
// plan made before any state exists carries its lineage; applying that
// plan file creates the state with it.
func clusterID(st *state.State) string {
	return st.Lineage[:min(16, len(st.Lineage))]
}

// releaseBinary finds the binary to install and its sha256.
func releaseBinary(s *spec.ClusterSpec) (string, string, error) {
	rel := s.Release()
	if rel == nil {
		return "", "", fmt.Errorf("the description names release %q, which no release block declares", s.Cluster.Version)
	}
	var p string
	switch rel.Source {
	case spec.SourceLocalBinary:
		exe, err := os.Executable()
		if err != nil {
			return "", "", fmt.Errorf("release %s: finding the running strata binary: %w", rel.Version, err)
		}
		p = exe
	case spec.SourceFile:
		p = rel.Path
	case spec.SourceURL:
		return "", "", fmt.Errorf("release %s: downloading %s is not supported here; fetch the file, check its sha256 and declare it with source = \"file\" and path", rel.Version, rel.URL)
	default:
		return "", "", fmt.Errorf("release %s: unknown source %q", rel.Version, rel.Source)
	}
	sum, err := fileSHA256(p)
	if err != nil {
		return "", "", fmt.Errorf("release %s: %w", rel.Version, err)
	}
	if rel.SHA256 != "" && rel.SHA256 != sum {
		return "", "", fmt.Errorf("release %s: %s has sha256 %s, but the description says %s", rel.Version, p, sum, rel.SHA256)
	}
	return p, sum, nil
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("reading %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func (d *deployment) openRelease() (io.ReadCloser, int64, error) {
	f, err := os.Open(d.binary)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, st.Size(), nil
}

// connect opens every host of the description at once. Hosts that cannot
// be reached (or whose key is refused) are returned as failed checks.
func (d *deployment) connect(ctx context.Context) []apply.CheckFailure {
	pool, err := remote.NewPool(remote.Options{AcceptNewHostKeys: d.flags.acceptNewKeys, ConnectTimeout: d.flags.connectTimeout})
	if err != nil {
		return []apply.CheckFailure{{Host: "(all)", Check: "reachable", Problem: err.Error()}}
	}
	d.pool = pool
	d.hosts = map[string]apply.Host{}
	var mu sync.Mutex
	var fails []apply.CheckFailure
	var wg sync.WaitGroup
	for i := range d.spec.Hosts {
		sh := &d.spec.Hosts[i]
		wg.Go(func() {
			h, err := pool.Connect(ctx, sh)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				fails = append(fails, apply.CheckFailure{Host: sh.Name, Check: "reachable", Problem: err.Error()})
				return
			}
			d.hosts[sh.Name] = apply.Adapt(h)
		})
	}
	wg.Wait()
	return fails
}

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

func runApply(cmd *cobra.Command, arg string, f *deployFlags) error {
	ctx := cmd.Context()
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	var saved *plan.File
	configPath := arg
	if !strings.HasSuffix(arg, ".hcl") {
		var err error
		if saved, err = plan.LoadFile(arg); err != nil {
			return err
		}
		configPath = saved.ConfigPath
	}
	d, err := loadDeployment(cmd, configPath, f)
	if err != nil {
		return err
	}
	defer d.close()
	lock, err := state.Acquire(d.statePath, "apply", operator())
	if err != nil {
		return err
	}
	defer lock.Release()
	// Reload under the lock: another run may have finished meanwhile.
	if err := d.loadState(); err != nil {
		return err
	}

	var p *plan.Plan
	desired := d.desired
	if saved != nil {
		if p, desired, err = d.checkSavedPlan(saved); err != nil {
			return err
		}
		if _, err := d.preflight(ctx, d.connect(ctx)); err != nil {
			return err
		}
		if err := writePlan(stdout, p, f.jsonOut); err != nil {
			return err
		}
	} else {
		if p, err = d.makePlan(ctx, stdout, stderr); err != nil {
			return err
		}
		if err := writePlan(stdout, p, f.jsonOut); err != nil {
			return err
		}
		if p.Empty() {
			return nil
		}
		if !f.autoApprove {
			if err := confirm(cmd, "Do you want to perform these actions?\n  Only 'yes' will be accepted to approve.", "yes"); err != nil {
				return err
			}
		}
	}
	if p.Empty() {
		return nil
	}
	if d.stateIsNew {
		// Saved before anything changes, so the cluster ID (from the
		// lineage) is fixed even if the first apply stops early.
		if err := state.Save(d.statePath, d.state); err != nil {
			return err
		}
	}
	journal, err := state.OpenJournal(d.statePath + ".journal")
	if err != nil {
		return err
	}
	defer journal.Close()
	var names []string
	for _, h := range onlyChangedHosts(desired, p).Hosts {
		names = append(names, h.Name)
	}
	sink := progressSink(stdout, stderr, f.jsonOut, names)
	runID, err := newRunID()
	if err != nil {
		return err
	}
	release, err := d.takeLease(ctx, p, runID, stderr)
	if err != nil {
		return err
	}
	defer release()
	db := apply.Database{ClusterFile: desired.Hosts[0].Cluster.Content, Timeout: f.waitTimeout}
	err = apply.Apply(ctx, p, onlyChangedHosts(desired, p), d.hosts, apply.Options{
		Parallel:    f.parallel,
		Release:     d.openRelease,
		Events:      sink,
		Journal:     journal,
		RunID:       runID,
		State:       d.state,
		StatePath:   d.statePath,
		WaitTimeout: f.waitTimeout,
		Configure:   db.Configure,
	})
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("apply interrupted; what finished is in %s and %s.journal, and the next apply resumes from what the hosts run: %w", d.statePath, d.statePath, err)
		}
		return fmt.Errorf("apply failed; what finished is in %s; fix the cause and apply again: %w", d.statePath, err)
	}
	if !f.jsonOut {
		add, change, destroy, restart := p.Counts()
		fmt.Fprintf(stdout, "\nApply complete! Resources: %d added, %d changed, %d destroyed, %d restarted.\n", add, change, destroy, restart)
	}
	return nil
}

// leaseTTL bounds how long a lease left by a run that died blocks others.
const leaseTTL = 30 * time.Minute

// takeLease takes the cluster's lease when its database is reachable: the
// one this run's refresh reached, or, for a saved plan that does not
// create the database, the desired one. Without a database (a new
// cluster) only the state lock guards the run. It returns the release.
func (d *deployment) takeLease(ctx context.Context, p *plan.Plan, runID string, warn io.Writer) (func(), error) {
	noop := func() {}
	cf := d.dbClusterFile
	if cf == nil && d.flags.refresh && !slices.ContainsFunc(p.Changes, func(c plan.Change) bool {
		return c.Address == "cluster.database" && c.Action == plan.Create
	}) {
		cf = d.desired.Hosts[0].Cluster.Content
	}
	if cf == nil || d.flags.ignoreLease {
		return noop, nil
	}
	db := apply.Database{ClusterFile: cf, Timeout: 5 * time.Second}
	err := db.AcquireLease(ctx, apply.Lease{ID: runID, Who: operator(), Op: "apply", Expires: time.Now().Add(leaseTTL)}, time.Now())
	var held *apply.LeaseHeldError
	switch {
	case errors.As(err, &held):
		return nil, err
	case err != nil:
		fmt.Fprintf(warn, "Warning: the cluster's lease could not be taken (%v); only the state lock guards this run.\n", err)
		return noop, nil
	}
	return func() {
		if err := db.ReleaseLease(context.WithoutCancel(ctx), runID); err != nil {
			fmt.Fprintf(warn, "Warning: %v; it expires by itself within %v.\n", err, leaseTTL)
		}
	}, nil
}

// checkSavedPlan refuses a plan file whose state or description moved on,
// and returns its plan and the desired configuration it was made for.
func (d *deployment) checkSavedPlan(f *plan.File) (*plan.Plan, *plan.Desired, error) {
	if d.stateIsNew && f.Plan.Lineage != "" {
		// The plan was made before the first apply: the state begins with
		// its lineage, so the cluster ID it rendered holds.
		d.state.Lineage = f.Plan.Lineage
		var err error
		if d.desired, err = plan.BuildDesired(d.spec, d.layout, d.binarySum, clusterID(d.state)); err != nil {
			return nil, nil, err
		}
	}
	if err := f.CheckFresh(d.state, d.desired); err != nil {
		if d.state.Lineage == f.Plan.Lineage && d.state.Serial == f.Plan.Serial {
			return nil, nil, fmt.Errorf("%w (or the release binary or the -var values differ from the plan's)", err)
		}
		return nil, nil, err
	}
	return f.Plan, f.Desired, nil
}

// onlyChangedHosts narrows d to the hosts the plan changes, so that a
// -target plan does not wait for hosts it leaves alone.
func onlyChangedHosts(d *plan.Desired, p *plan.Plan) *plan.Desired {
	out := *d
	out.Hosts = slices.DeleteFunc(slices.Clone(d.Hosts), func(h plan.DesiredHost) bool {
		return !slices.ContainsFunc(p.Changes, func(c plan.Change) bool { return c.Host == h.Name })
	})
	return &out
}

func newRunID() (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("making a run ID: %w", err)
	}
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:]), nil
}

// confirm asks on stderr and reads one line from stdin; anything but want
// cancels.
func confirm(cmd *cobra.Command, question, want string) error {
	fmt.Fprintf(cmd.ErrOrStderr(), "\n%s\n\n  Enter a value: ", question)
	line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("reading the confirmation: %w", err)
	}
	if strings.TrimSpace(line) != want {
		return errors.New("cancelled: nothing was changed")
	}
	return nil
}

func runDestroy(cmd *cobra.Command, configPath string, f *deployFlags) error {
	ctx := cmd.Context()
	d, err := loadDeployment(cmd, configPath, f)
	if err != nil {
		return err
	}
	defer d.close()
	lock, err := state.Acquire(d.statePath, "destroy", operator())
	if err != nil {
		return err
	}
	defer lock.Release()
	if err := d.loadState(); err != nil {
		return err
	}
	if fails := d.connect(ctx); len(fails) > 0 {
		return &apply.PreflightError{Failures: fails}
	}
	targets := d.destroyTargets()
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "Strata will destroy cluster %q:\n", d.spec.Cluster.Name)
	for _, t := range targets {
		fmt.Fprintf(out, "  - host %s: stop the monitor and %d process(es), remove %s, %s, %s\n",
			t.Host.Name, len(t.Host.Processes), t.Host.Conf.Path, t.Host.Cluster.Path, t.Host.Release.Path)
		if f.purgeData {
			fmt.Fprintf(out, "    and DELETE the data in %s\n", strings.Join(t.ProcessDataDirs, " "))
		}
	}
	if !f.purgeData {
		fmt.Fprintln(out, "Data directories are kept (-purge-data deletes them).")
	}
	if !f.autoApprove {
		question, want := "Do you really want to destroy the cluster?\n  Only 'yes' will be accepted to confirm.", "yes"
		if f.purgeData {
			question = fmt.Sprintf("This deletes the database's data. Type the cluster's name (%s) to confirm.", d.spec.Cluster.Name)
			want = d.spec.Cluster.Name
		}
		if err := confirm(cmd, question, want); err != nil {
			return err
		}
	}
	var names []string
	for _, t := range targets {
		names = append(names, t.Host.Name)
	}
	sink := progressSink(out, cmd.ErrOrStderr(), f.jsonOut, names)
	runID, err := newRunID()
	if err != nil {
		return err
	}
	derr := apply.Destroy(ctx, targets, d.hosts, apply.DestroyOptions{
		PurgeData: f.purgeData, Parallel: f.parallel, Events: sink, RunID: runID,
		HostDone: func(host string) { d.forgetHost(host) },
	})
	if derr == nil {
		d.state.Remove("cluster.database")
		d.state.Remove("cluster.coordinators")
	}
	if d.stateIsNew {
		// Nothing was ever applied from this machine; keep no state.
		return derr
	}
	if err := state.Save(d.statePath, d.state); err != nil {
		return errors.Join(derr, err)
	}
	if derr != nil {
		return derr
	}
	if !f.jsonOut {
		fmt.Fprintf(out, "\nDestroy complete! %d host(s) cleaned.\n", len(targets))
	}
	return nil
}

// destroyTargets lists each described host with its directories, and the
// binaries of other releases the state says were installed there.
func (d *deployment) destroyTargets() []apply.DestroyTarget {
	var out []apply.DestroyTarget
	for i := range d.desired.Hosts {
		dh := &d.desired.Hosts[i]
		sh := d.spec.Host(dh.Name)
		t := apply.DestroyTarget{Host: dh, LogDir: sh.Paths.Log}
		for _, p := range dh.Processes {
			t.ProcessDataDirs = append(t.ProcessDataDirs, sh.Paths.ProcessData(p.Port))
		}
		if r := d.state.Resource("host." + dh.Name + "." + plan.TypeRelease); r != nil {
			if p := r.Attributes["path"]; p != "" && p != dh.Release.Path && path.IsAbs(p) {
				t.ExtraFiles = append(t.ExtraFiles, p)
			}
		}
		out = append(out, t)
	}
	return out
}

// forgetHost removes a destroyed host's resources from the state.
func (d *deployment) forgetHost(host string) {
	var gone []string
	for _, r := range d.state.Resources {
		if r.Attributes["host"] == host {
			gone = append(gone, r.Address)
		}
	}
	for _, a := range gone {
		d.state.Remove(a)
	}
}

// shellQuote quotes s as one POSIX shell word.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// starterDescription is what `strata init` writes: a cluster on this
// machine that `strata apply` can bring up as it stands.
const starterDescription = `# A Strata cluster description. Check it with:  strata validate %[1]s
# Preview the changes with:  strata plan %[1]s      Apply them with:  strata apply %[1]s
#
# This starter runs two "hosts" on this machine with the local transport (no
# SSH). For real machines, set address = "10.0.0.1" (and remove transport) in
# each host block, and fill in the ssh block.

variable "root" {
  type        = string
  default     = "/tmp/strata-%[2]s"
  description = "Directory that holds every file of this local cluster."
}

cluster "%[2]s" {
  redundancy     = "single"
  storage_engine = "ssd"
}

# The strata binary that runs the deployer is the one installed. For real
# machines: source = "file", path = "./strata", sha256 = "...".
release "dev" {
  source = "local_binary"
}

ssh {
  # user        = "deploy"
  # known_hosts = "~/.ssh/known_hosts"
  # sudo        = true
}

paths {
  install = "${var.root}/opt"
  conf    = "${var.root}/etc"
  data    = "${var.root}/data"
  log     = "${var.root}/log"
}

defaults {
  memory    = "1GiB"
  port_base = 4500
  processes = { storage = 1, stateless = 1 }
}

host "local1" {
  transport = "local"
  overrides {
    paths {
      conf = "${var.root}/local1/etc"
      data = "${var.root}/local1/data"
      log  = "${var.root}/local1/log"
    }
  }
}

host "local2" {
  transport = "local"
  overrides {
    port_base = 4510
    paths {
      conf = "${var.root}/local2/etc"
      data = "${var.root}/local2/data"
      log  = "${var.root}/local2/log"
    }
  }
}
`

func newInitCommand() *cobra.Command {
	return goFlagCommand("init [-name NAME] [FILE]", "Write a starter cluster description",
		"Writes a starter description (default cluster.hcl) of a small cluster on this machine; it never overwrites a file.",
		func(fs *flag.FlagSet) func(*cobra.Command, []string) error {
			name := fs.String("name", "dev", "the cluster's name (letters, digits, _)")
			return func(cmd *cobra.Command, args []string) error {
				if len(args) > 1 {
					return errors.New("init takes at most one FILE")
				}
				file := "cluster.hcl"
				if len(args) == 1 {
					file = args[0]
				}
				if render := renderDescriptionName(*name); render != *name {
					return fmt.Errorf("-name %q: only letters, digits and _ may appear", *name)
				}
				f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
				if errors.Is(err, os.ErrExist) {
					return fmt.Errorf("%s already exists; init never overwrites a file", file)
				} else if err != nil {
					return err
				}
				_, werr := fmt.Fprintf(f, starterDescription, file, *name)
				if err := errors.Join(werr, f.Close()); err != nil {
					return fmt.Errorf("writing %s: %w", file, err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Wrote %s. Next: strata plan %s\n", file, file)
				return nil
			}
		})
}

func renderDescriptionName(name string) string {
	if name == "" {
		return "_"
	}
	return strings.Map(func(r rune) rune {
		if r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, name)
}

// liveView is the progress of a run on a terminal: one line per host (and
// one for the cluster), rewritten in place as its steps start, finish or
// fail. Output that is not a terminal gets event.Lines instead.
type liveView struct {
	mu    sync.Mutex
	w     io.Writer
	width int
	order []string
	lines map[string]string
	drawn int
}

func newLiveView(w io.Writer, width int, hosts []string) *liveView {
	v := &liveView{w: w, width: width, lines: map[string]string{}}
	v.order = slices.Clone(hosts)
	for _, h := range v.order {
		v.lines[h] = "waiting"
	}
	return v
}

// Emit implements event.Sink.
func (v *liveView) Emit(e event.Event) {
	where := e.Host
	if where == "" {
		where = "cluster"
	}
	text := string(e.Status) + " " + e.Step
	if e.Resource != "" {
		text += " " + e.Resource
	}
	if e.Error != "" {
		text += ": " + e.Error
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, ok := v.lines[where]; !ok {
		v.order = append(v.order, where)
	}
	v.lines[where] = e.Time.Format("15:04:05") + " " + text
	v.draw()
}

// draw moves the cursor back over the block drawn last and rewrites it.
// Lines are cut to the terminal's width so none wraps and the count of
// lines to move back over stays right.
func (v *liveView) draw() {
	var b strings.Builder
	if v.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", v.drawn)
	}
	nameWidth := 0
	for _, h := range v.order {
		nameWidth = max(nameWidth, len(h))
	}
	for _, h := range v.order {
		line := fmt.Sprintf("  %-*s  %s", nameWidth, h, v.lines[h])
		if v.width > 1 && len(line) >= v.width {
			line = line[:v.width-1]
		}
		b.WriteString("\x1b[2K" + line + "\n")
	}
	v.drawn = len(v.order)
	io.WriteString(v.w, b.String())
}

// progressSink picks how a run reports progress: JSON lines with -json, a
// live view on a terminal, plain lines otherwise.
func progressSink(stdout, stderr io.Writer, jsonOut bool, hosts []string) event.Sink {
	if jsonOut {
		return event.NewJSONLines(stdout)
	}
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		width, _, err := term.GetSize(int(f.Fd()))
		if err != nil {
			width = 0
		}
		return newLiveView(stderr, width, hosts)
	}
	return event.NewLines(stderr)
}
