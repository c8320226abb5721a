package apply

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	// launch; PollInterval is how often it looks.
	WaitTimeout  time.Duration
	PollInterval time.Duration
	// Configure performs database changes (configure new, coordinators).
	// Nil makes such changes fail, saying the database is not reachable.
	Configure func(ctx context.Context, d plan.DesiredDatabase, c plan.Change) error
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
	if o.PollInterval == 0 {
		o.PollInterval = 250 * time.Millisecond
	}
}

// runner carries one apply.
type runner struct {
	opts  Options
	d     *plan.Desired
	hosts map[string]Host
	mu    sync.Mutex // guards opts.State and the state file
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
	byType := func(types ...string) []plan.Change {
		var out []plan.Change
		for _, c := range p.Changes {
			if slices.Contains(types, c.Type) && c.Action != plan.Delete {
				out = append(out, c)
			}
		}
		return out
	}
	for _, c := range p.Changes {
		if c.Action == plan.Delete && c.Host != "" && r.d.Host(c.Host) == nil {
			return fmt.Errorf("apply: %s: removing a host from the cluster is a playbook (exclude, then remove), not an apply; run strata run exclude-host first", c.Host)
		}
	}
	phases := []struct {
		name  string
		steps []plan.Change
		wide  bool
		do    func(context.Context, plan.Change) error
	}{
		{"release", byType(plan.TypeRelease), true, r.uploadRelease},
		{"cluster-file", byType(plan.TypeClusterFile), true, r.writeClusterFile},
		{"conf", byType(plan.TypeConf), !restartsAny(p), r.writeConf},
		{"monitor", byType(plan.TypeMonitor), true, r.startMonitor},
	}
	for _, ph := range phases {
		if err := r.phase(ctx, ph.name, ph.steps, ph.wide, ph.do); err != nil {
			return err
		}
	}
	if hasProcessChanges(p) || len(byType(plan.TypeMonitor, plan.TypeConf)) > 0 {
		if err := r.waitProcesses(ctx); err != nil {
			return err
		}
		r.recordProcesses()
	}
	return r.phase(ctx, "database", byType(plan.TypeDatabase), false, r.configure)
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

// record saves a finished resource to state.
func (r *runner) record(c plan.Change, typ string, attrs map[string]string) error {
	if r.opts.State == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	attrs["host"] = c.Host
	r.opts.State.Put(state.Resource{Address: c.Address, Type: typ, Attributes: attrs, UpdatedAt: time.Now().UTC()})
	if r.opts.StatePath == "" {
		return nil
	}
	return state.Save(r.opts.StatePath, r.opts.State)
}

func (r *runner) host(c plan.Change) (Host, *plan.DesiredHost, error) {
	dh := r.d.Host(c.Host)
	h := r.hosts[c.Host]
	if dh == nil || h == nil {
		return nil, nil, fmt.Errorf("no connection to host %s", c.Host)
	}
	return h, dh, nil
}

func (r *runner) uploadRelease(ctx context.Context, c plan.Change) error {
	h, dh, err := r.host(c)
	if err != nil {
		return err
	}
	if r.opts.Release == nil {
		return errors.New("no release binary to upload")
	}
	src, size, err := r.opts.Release()
	if err != nil {
		return fmt.Errorf("opening release: %w", err)
	}
	defer src.Close()
	if err := h.Upload(ctx, src, size, dh.Release.Path, 0o755, dh.Release.SHA256); err != nil {
		return err
	}
	// Cache the verified digest beside the release, keyed by the file's
	// size, mtime and inode, so refreshes need not hash it again.
	key, err := h.Exec(ctx, statKeyCommand(dh.Release.Path), false)
	if err != nil {
		return err
	}
	cache := dh.Release.SHA256 + " " + strings.TrimSpace(string(key)) + "\n"
	if err := h.WriteFile(ctx, digestCachePath(dh.Release.Path), []byte(cache), 0o644); err != nil {
		return err
	}
	return r.record(c, plan.TypeRelease, map[string]string{"version": dh.Release.Version, "sha256": dh.Release.SHA256, "path": dh.Release.Path})
}

func (r *runner) writeClusterFile(ctx context.Context, c plan.Change) error {
	h, dh, err := r.host(c)
	if err != nil {
		return err
	}
	if err := h.WriteFile(ctx, dh.Cluster.Path, dh.Cluster.Content, 0o644); err != nil {
		return err
	}
	return r.record(c, plan.TypeClusterFile, map[string]string{"sha256": dh.Cluster.SHA256, "path": dh.Cluster.Path})
}

func (r *runner) writeConf(ctx context.Context, c plan.Change) error {
	h, dh, err := r.host(c)
	if err != nil {
		return err
	}
	if err := h.WriteFile(ctx, dh.Conf.Path, dh.Conf.Content, 0o644); err != nil {
		return err
	}
	if err := r.record(c, plan.TypeConf, map[string]string{"sha256": dh.Conf.SHA256, "path": dh.Conf.Path}); err != nil {
		return err
	}
	// The monitor applies the new conf itself; when it restarts processes,
	// wait for this host before the next one (rolling).
	st, err := monitorStatus(ctx, h, dh)
	if err != nil || !st.Running {
		return nil
	}
	return r.waitHost(ctx, dh)
}

// startMonitor launches the host's supervisor, detached, with a pidfile.
func (r *runner) startMonitor(ctx context.Context, c plan.Change) error {
	h, dh, err := r.host(c)
	if err != nil {
		return err
	}
	dataDir := path.Dir(dh.MonitorState)
	confDir := path.Dir(dh.Conf.Path)
	logFile := path.Join(dataDir, "monitor.log")
	cmd := fmt.Sprintf("mkdir -p %s %s && cd / && (setsid %s monitor --conffile %s --lockfile %s </dev/null >>%s 2>&1 & echo $! > %s)",
		shQuote(dataDir), shQuote(confDir), shQuote(dh.Release.Path), shQuote(dh.Conf.Path),
		shQuote(dh.Conf.Path+".lock"), shQuote(logFile), shQuote(path.Join(dataDir, "monitor.pid")))
	if _, err := h.Exec(ctx, cmd, false); err != nil {
		return err
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := monitorStatus(ctx, h, dh)
		if err == nil && st.Running {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the monitor did not start within 10s (see %s on the host)", logFile)
		}
		if err := sleep(ctx, r.opts.PollInterval); err != nil {
			return err
		}
	}
	return r.record(c, plan.TypeMonitor, map[string]string{"conf": dh.Conf.Path})
}

// waitProcesses waits until every host runs exactly its desired processes.
func (r *runner) waitProcesses(ctx context.Context) error {
	g, gctx := errgroupWithLimit(ctx, r.opts.Parallel)
	for i := range r.d.Hosts {
		dh := &r.d.Hosts[i]
		g.Go(func() error {
			r.emit(event.Event{Phase: "processes", Host: dh.Name, Step: "wait processes", Status: event.Started})
			if err := r.waitHost(gctx, dh); err != nil {
				r.emit(event.Event{Phase: "processes", Host: dh.Name, Step: "wait processes", Status: event.Failed, Error: err.Error()})
				return fmt.Errorf("%s: %w", dh.Name, err)
			}
			r.emit(event.Event{Phase: "processes", Host: dh.Name, Step: "wait processes", Status: event.Done})
			return nil
		})
	}
	return g.Wait()
}

func (r *runner) waitHost(ctx context.Context, dh *plan.DesiredHost) error {
	h := r.hosts[dh.Name]
	deadline := time.Now().Add(r.opts.WaitTimeout)
	for {
		st, err := monitorStatus(ctx, h, dh)
		var missing []string
		if err != nil {
			missing = []string{err.Error()}
		} else {
			missing = notConverged(dh, st)
		}
		if len(missing) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes not running their desired launch after %v: %s", r.opts.WaitTimeout, strings.Join(missing, "; "))
		}
		if err := sleep(ctx, r.opts.PollInterval); err != nil {
			return err
		}
	}
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

// recordProcesses saves every host's process launches to state.
func (r *runner) recordProcesses() {
	for _, dh := range r.d.Hosts {
		for _, p := range dh.Processes {
			c := plan.Change{Address: "process." + dh.Name + ":" + strconv.Itoa(p.Port), Host: dh.Name}
			_ = r.record(c, plan.TypeProcess, map[string]string{"launch_digest": p.LaunchDigest, "class": p.Class})
		}
	}
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

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
