package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/strata-db/strata/deployer/apply"
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
	sshPersist     time.Duration
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
	fs.DurationVar(&f.sshPersist, "ssh-persist", 60*time.Second, "keep SSH connections open this long after their last use, in a background process of yours, for later runs (as OpenSSH's ControlPersist; 0: off)")
}

func (f *deployFlags) planning(fs *flag.FlagSet) {
	fs.BoolVar(&f.refresh, "refresh", true, "read the hosts and the database before planning (-refresh=false plans from the state alone)")
	fs.Var(&f.targets, "target", "limit the changes to this resource address and what it contains (repeatable)")
}

func newPlanCommand() *cobra.Command {
	return goFlagCommand("plan [-out FILE] [-json] [-detailed-exitcode] [-refresh=false] [-target ADDR]... [-var k=v]... [-var-file F]... CONFIG.hcl",
		"Show what apply would change",
		`Plan reads the description, checks every host (reachable, Linux on the release's
architecture, sh, sha256sum and setsid installed, free disk in the data path,
the processes' ports free on new hosts, clock within 30s of this machine's),
refreshes what the hosts and the database run, and lists the changes apply would
make, each with its reason; restarts are listed explicitly (↻). -refresh=false
plans from what the state records instead, without contacting any host (no
preflight either). The cluster file's ID is the first
16 characters of the state's lineage, so it is the same in every plan and apply.
Exit status with -detailed-exitcode: 0 no changes, 1 error, 2 changes.`,
		func(fs *flag.FlagSet) func(*cobra.Command, []string) error {
			var f deployFlags
			f.common(fs)
			f.planning(fs)
			out := fs.String("out", "", "save the plan to `FILE`, for strata apply FILE")
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
	// offline plans from the state without contacting any host (plan
	// -refresh=false).
	offline bool
	// facts are what the preflight learned of each host.
	facts map[string]apply.HostFacts
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

// reloadState reads the state again once the lock is held (another run may
// have finished meanwhile) and rebuilds the desired configuration from its
// cluster ID. A state that still does not exist keeps the lineage made
// before, so the plan shown and the apply agree on the ID.
func (d *deployment) reloadState() error {
	prev, wasNew := d.state, d.stateIsNew
	if err := d.loadState(); err != nil {
		return err
	}
	if wasNew && d.stateIsNew {
		d.state = prev
	}
	var err error
	d.desired, err = plan.BuildDesired(d.spec, d.layout, d.binarySum, clusterID(d.state))
	return err
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
	sum, err := state.FileDigest(p, digestCacheDir())
	if err != nil {
		return "", "", fmt.Errorf("release %s: %w", rel.Version, err)
	}
	if rel.SHA256 != "" && rel.SHA256 != sum {
		return "", "", fmt.Errorf("release %s: %s has sha256 %s, but the description says %s", rel.Version, p, sum, rel.SHA256)
	}
	return p, sum, nil
}

// digestCacheDir is where release digests are remembered between runs
// (state.FileDigest); empty, so no caching, when there is no cache home.
func digestCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "strata", "digests")
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

// connect makes the pool's host for every host of the description. Eager
// dials them all at once now; otherwise each connects on its first
// command, so a host's inspection starts as soon as its own handshake is
// done. Hosts that cannot be set up, or reached when eager, are returned as
// failed checks.
func (d *deployment) connect(ctx context.Context, eager bool) []apply.CheckFailure {
	pool, err := remote.NewPool(remote.Options{AcceptNewHostKeys: d.flags.acceptNewKeys, ConnectTimeout: d.flags.connectTimeout,
		Persist: d.flags.sshPersist, MuxCommand: sshMuxCommand()})
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
			var h remote.Host
			var err error
			if eager {
				h, err = pool.Connect(ctx, sh)
			} else {
				h, err = pool.Host(sh)
			}
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

// shellQuote quotes s as one POSIX shell word.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
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
