package apply

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/strata-db/strata/db/monitor"
	"github.com/strata-db/strata/deployer/event"
	"github.com/strata-db/strata/deployer/plan"
	"github.com/strata-db/strata/deployer/state"
)

// Options configure an apply.
type Options struct {
	// Parallel bounds concurrent hosts in the wide phases (uploads).
	Parallel int
	// Release opens the release binary to upload.
	Release func() (io.ReadCloser, int64, error)
	// Events receives progress; nil discards it.
	Events event.Sink
	// Journal records each step durably; nil records nothing.
	Journal *state.Journal
	// RunID names this run in events and the journal.
	RunID string
	// State is updated as steps finish and saved to StatePath after each.
	State     *state.State
	StatePath string
	// WaitTimeout bounds the wait for processes to run their desired
	// launch. Hosts watch their monitor themselves and report each change,
	// so there is no poll interval.
	WaitTimeout time.Duration
	// Configure performs database changes (configure new, coordinators).
	// Nil makes such changes fail, saying the database is not reachable.
	Configure func(ctx context.Context, d plan.DesiredDatabase, c plan.Change) error
	// Systemd lists the hosts whose init is systemd (HostFacts.Systemd):
	// their monitor is installed as a systemd unit, not started detached.
	Systemd map[string]bool
}

func (o *Options) defaults() {
	if o.Parallel <= 0 {
		o.Parallel = 8
	}
	if o.Events == nil {
		o.Events = event.Discard{}
	}
	if o.WaitTimeout == 0 {
		o.WaitTimeout = 2 * time.Minute
	}
}

// runner carries one apply.
type runner struct {
	opts  Options
	d     *plan.Desired
	hosts map[string]Host
	mu    sync.Mutex // guards opts.State and puts
	puts  uint64     // resources put into opts.State so far
	// saveMu is held while saving; saved is how many puts the state file
	// holds.
	saveMu sync.Mutex
	saved  uint64
}

// Apply carries out p, which was made for d, on hosts. It stops at the
// first failed phase; what finished is in the state and the journal, and the
// next plan starts from what the hosts really run.
func Apply(ctx context.Context, p *plan.Plan, d *plan.Desired, hosts map[string]Host, opts Options) error {
	opts.defaults()
	r := &runner{opts: opts, d: d, hosts: hosts}
	r.journal(state.Entry{Status: state.RunStarted, Detail: fmt.Sprintf("%d changes", len(p.Changes))})
	err := r.run(ctx, p)
	status := state.RunFinished
	if ctx.Err() != nil {
		status = state.RunCancelled
	}
	e := state.Entry{Status: status}
	if err != nil {
		e.Error = err.Error()
	}
	r.journal(e)
	return err
}

func (r *runner) run(ctx context.Context, p *plan.Plan) error {
	for _, c := range p.Changes {
		if c.Action == plan.Delete && c.Host != "" && r.d.Host(c.Host) == nil {
			return fmt.Errorf("apply: %s: removing a host from the cluster is a playbook (exclude, then remove), not an apply; run strata run exclude-host first", c.Host)
		}
	}
	works := r.hostWorks(p)
	wait := hasProcessChanges(p) || slices.ContainsFunc(p.Changes, func(c plan.Change) bool {
		return c.Action != plan.Delete && (c.Type == plan.TypeMonitor || c.Type == plan.TypeConf)
	})
	var err error
	if restartsAny(p) {
		err = r.rolling(ctx, works, wait)
	} else {
		err = r.wide(ctx, works, wait)
	}
	if err != nil {
		return err
	}
	if wait {
		if err := r.recordProcesses(); err != nil {
			return err
		}
	}
	return r.phase(ctx, "database", byType(p, plan.TypeDatabase), false, r.configure)
}

// wide does every host at once (up to Parallel): each host's release,
// cluster file, conf, monitor and the wait for its processes in one remote
// command, so a host never waits for the slowest host between steps.
func (r *runner) wide(ctx context.Context, works []*hostWork, wait bool) error {
	g, gctx := errgroupWithLimit(ctx, r.opts.Parallel)
	for _, w := range works {
		w.waitMonitor = w.monitor != nil
		w.waitConverged = wait
		if !w.busy() {
			continue
		}
		g.Go(func() error { return r.runPipeline(gctx, w) })
	}
	return g.Wait()
}

// rolling is for plans that restart processes: releases and cluster files
// go everywhere at once, then hosts get their conf (and monitor) one at a
// time, each waiting until its processes run their new launch before the
// next host, then the others are waited for.
func (r *runner) rolling(ctx context.Context, works []*hostWork, wait bool) error {
	var early, serial []*hostWork
	for _, w := range works {
		e := &hostWork{dh: w.dh, release: w.release, clusterFile: w.clusterFile, phaseOf: w.phaseOf, systemd: w.systemd}
		early = append(early, e)
		w.release, w.clusterFile = nil, nil
		serial = append(serial, w)
	}
	if err := r.wide(ctx, early, false); err != nil {
		return err
	}
	var rest []*hostWork
	for _, w := range serial {
		if w.conf == nil && w.monitor == nil {
			rest = append(rest, w)
			continue
		}
		w.waitMonitor, w.waitConverged = w.monitor != nil, true
		if err := r.runPipeline(ctx, w); err != nil {
			return err
		}
	}
	return r.wide(ctx, rest, wait)
}

// hostWorks groups the plan's file and monitor changes by host, for every
// desired host (a host without such changes may still be waited for).
func (r *runner) hostWorks(p *plan.Plan) []*hostWork {
	phaseOf := map[string]string{plan.TypeRelease: "release", plan.TypeClusterFile: "cluster-file", plan.TypeConf: "conf", plan.TypeMonitor: "monitor"}
	var out []*hostWork
	for i := range r.d.Hosts {
		dh := &r.d.Hosts[i]
		w := &hostWork{dh: dh, phaseOf: phaseOf, systemd: r.opts.Systemd[dh.Name]}
		for _, c := range p.Changes {
			if c.Host != dh.Name || c.Action == plan.Delete {
				continue
			}
			c := c
			switch c.Type {
			case plan.TypeRelease:
				w.release = &c
			case plan.TypeClusterFile:
				w.clusterFile = &c
			case plan.TypeConf:
				w.conf = &c
			case plan.TypeMonitor:
				w.monitor = &c
			}
		}
		out = append(out, w)
	}
	return out
}

func byType(p *plan.Plan, types ...string) []plan.Change {
	var out []plan.Change
	for _, c := range p.Changes {
		if slices.Contains(types, c.Type) && c.Action != plan.Delete {
			out = append(out, c)
		}
	}
	return out
}

func restartsAny(p *plan.Plan) bool {
	return slices.ContainsFunc(p.Changes, func(c plan.Change) bool { return c.Action == plan.Restart })
}

func hasProcessChanges(p *plan.Plan) bool {
	return slices.ContainsFunc(p.Changes, func(c plan.Change) bool { return c.Type == plan.TypeProcess })
}

// phase runs steps, all at once (bounded) when wide, else one after the
// other, waiting for each host's processes before the next when a step may
// restart them.
func (r *runner) phase(ctx context.Context, name string, steps []plan.Change, wide bool, do func(context.Context, plan.Change) error) error {
	if len(steps) == 0 {
		return nil
	}
	limit := 1
	if wide {
		limit = r.opts.Parallel
	}
	g, gctx := errgroupWithLimit(ctx, limit)
	for _, c := range steps {
		g.Go(func() error { return r.step(gctx, name, c, do) })
	}
	return g.Wait()
}

func (r *runner) step(ctx context.Context, phase string, c plan.Change, do func(context.Context, plan.Change) error) error {
	r.emit(event.Event{Phase: phase, Host: c.Host, Resource: c.Address, Step: phase, Status: event.Started, Detail: c.Reason})
	r.journal(state.Entry{Status: state.StepStarted, Step: phase, Resource: c.Address, Host: c.Host, Detail: c.Reason})
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := do(ctx, c); err != nil {
		err = fmt.Errorf("%s: %s: %w", hostOrCluster(c.Host), phase, err)
		r.emit(event.Event{Phase: phase, Host: c.Host, Resource: c.Address, Step: phase, Status: event.Failed, Error: err.Error()})
		r.journal(state.Entry{Status: state.StepFailed, Step: phase, Resource: c.Address, Host: c.Host, Error: err.Error()})
		return err
	}
	r.emit(event.Event{Phase: phase, Host: c.Host, Resource: c.Address, Step: phase, Status: event.Done})
	r.journal(state.Entry{Status: state.StepDone, Step: phase, Resource: c.Address, Host: c.Host})
	return nil
}

func hostOrCluster(h string) string {
	if h == "" {
		return "cluster"
	}
	return h
}

func (r *runner) emit(e event.Event) {
	e.Time = time.Now()
	e.Run = r.opts.RunID
	r.opts.Events.Emit(e)
}

func (r *runner) journal(e state.Entry) {
	if r.opts.Journal == nil {
		return
	}
	e.Run = r.opts.RunID
	// A journal that cannot be written is reported in the event stream; the
	// state file still records what finished.
	if err := r.opts.Journal.Append(e); err != nil {
		r.emit(event.Event{Step: "journal", Status: event.Failed, Error: err.Error()})
	}
}

// record saves a finished resource to state. Saves are group-committed:
// it returns once a save that includes the resource finished, and records
// of hosts finishing together share one save (each is a backup copy and
// three fsyncs).
func (r *runner) record(c plan.Change, typ string, attrs map[string]string) error {
	if r.opts.State == nil {
		return nil
	}
	r.mu.Lock()
	attrs["host"] = c.Host
	if typ == plan.TypeRelease {
		if old := r.opts.State.Resource(c.Address); old != nil {
			if prev := PreviousReleases(old.Attributes, attrs["path"]); len(prev) > 0 {
				attrs[PreviousReleasesAttr] = strings.Join(prev, "\n")
			}
		}
	}
	r.opts.State.Put(state.Resource{Address: c.Address, Type: typ, Attributes: attrs, UpdatedAt: time.Now().UTC()})
	r.puts++
	mine := r.puts
	r.mu.Unlock()
	return r.save(mine)
}

// save writes the state unless a save already covered put number upTo.
func (r *runner) save(upTo uint64) error {
	if r.opts.StatePath == "" {
		return nil
	}
	r.saveMu.Lock()
	defer r.saveMu.Unlock()
	if r.saved >= upTo {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := state.Save(r.opts.StatePath, r.opts.State); err != nil {
		return err
	}
	r.saved = r.puts
	return nil
}

// notConverged lists what keeps a host from its desired processes.
func notConverged(dh *plan.DesiredHost, st *MonitorStatus) []string {
	if !st.Running {
		return []string{"the monitor is not running"}
	}
	byID := map[string]monitor.ProcessState{}
	for _, p := range st.Processes {
		byID[p.ID] = p
	}
	var out []string
	for _, p := range dh.Processes {
		id := strconv.Itoa(p.Port)
		ps, ok := byID[id]
		switch {
		case !ok:
			out = append(out, "process "+id+" not configured in the running monitor")
		case ps.ArgvDigest != p.LaunchDigest:
			out = append(out, "process "+id+" runs an old launch")
		case ps.Status != monitor.StatusRunning:
			msg := "process " + id + " is " + ps.Status
			if ps.LastExit != "" {
				msg += " (last exit: " + ps.LastExit + " " + ps.LastReason + ")"
			}
			out = append(out, msg)
		}
		delete(byID, id)
	}
	for id := range byID {
		out = append(out, "process "+id+" still configured")
	}
	slices.Sort(out)
	return out
}

// recordProcesses saves every host's process launches to state, in one
// save.
func (r *runner) recordProcesses() error {
	if r.opts.State == nil {
		return nil
	}
	r.mu.Lock()
	now := time.Now().UTC()
	for _, dh := range r.d.Hosts {
		for _, p := range dh.Processes {
			r.opts.State.Put(state.Resource{Address: "process." + dh.Name + ":" + strconv.Itoa(p.Port), Type: plan.TypeProcess,
				Attributes: map[string]string{"launch_digest": p.LaunchDigest, "class": p.Class, "host": dh.Name}, UpdatedAt: now})
		}
	}
	r.puts++
	mine := r.puts
	r.mu.Unlock()
	return r.save(mine)
}

func (r *runner) configure(ctx context.Context, c plan.Change) error {
	if r.opts.Configure == nil {
		return errors.New("cannot configure the database: no database client is available to this apply")
	}
	if err := r.opts.Configure(ctx, r.d.Database, c); err != nil {
		return err
	}
	return r.record(c, plan.TypeDatabase, map[string]string{"redundancy": r.d.Database.Redundancy, "storage_engine": r.d.Database.StorageEngine})
}

// PreviousReleasesAttr is the release resource's attribute listing the
// paths of the releases installed on the host before the current one, one
// per line: destroy removes them too.
const PreviousReleasesAttr = "previous"

// PreviousReleases returns the release paths a release resource's
// attributes name (its path and those it lists as previous) other than
// current, sorted.
func PreviousReleases(attrs map[string]string, current string) []string {
	seen := map[string]bool{}
	for _, p := range append(strings.Split(attrs[PreviousReleasesAttr], "\n"), attrs["path"]) {
		if p != "" && p != current && path.IsAbs(p) {
			seen[p] = true
		}
	}
	return slices.Sorted(maps.Keys(seen))
}
