package monitor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/strata-db/strata/db/monitor/conf"
)

// Options configure a Supervisor. Only ConfFile is required.
type Options struct {
	ConfFile string
	Logger   *slog.Logger
	Clock    Clock
	Starter  Starter
	// RSS returns a process's resident set size in bytes.
	RSS func(pid int) (int64, error)
	// Rand returns uniform numbers in [0, 1) for restart jitter.
	Rand func() float64
	// Environ is the environment children inherit (before envvars and
	// delete-envvars); nil means os.Environ().
	Environ []string
	// PID replaces $PID in the configuration; 0 means os.Getpid().
	PID int
	// MemoryCheckInterval is how often children's RSS is checked (2 s as in
	// fdbmonitor); negative disables the memory guard.
	MemoryCheckInterval time.Duration
	// ReloadDebounce groups the file events of one edit into one reload.
	ReloadDebounce time.Duration
	// DisableWatch turns off watching the configuration's directory; Reload
	// still works.
	DisableWatch bool
}

// EnsureDefaults fills in the zero fields.
func (o *Options) EnsureDefaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	if o.Starter == nil {
		o.Starter = ExecStarter{}
	}
	if o.RSS == nil {
		o.RSS = procRSS
	}
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	if o.Environ == nil {
		o.Environ = os.Environ()
	}
	if o.PID == 0 {
		o.PID = os.Getpid()
	}
	if o.MemoryCheckInterval == 0 {
		o.MemoryCheckInterval = 2 * time.Second
	}
	if o.ReloadDebounce == 0 {
		o.ReloadDebounce = 100 * time.Millisecond
	}
}

// Supervisor runs the children a configuration file describes. Its state is
// owned by the goroutine in Run; everything else talks to it with events.
type Supervisor struct {
	opts     Options
	log      *slog.Logger
	events   chan any
	done     chan struct{}
	doneOnce sync.Once

	// Owned by Run's goroutine.
	cfg         *conf.Config
	confSum     string
	confErr     string
	procs       map[string]*proc
	stopping    bool
	dirty       bool
	memTimer    Timer
	final       State
	stateFailed bool
}

// proc is one configured process and its current child, if any.
type proc struct {
	id       string
	spec     conf.Process // as configured now
	launched conf.Process // what the current (or last) child was started with
	status   string
	child    Child
	pid      int
	started  time.Time
	bo       backoff
	starts   int
	lastExit string
	reason   string
	next     time.Time
	timer    Timer
	timerSeq int
	onStop   stopAction // what to do when a stopping child exits
	stopWhy  string
	rss      int64
}

type stopAction int

const (
	thenHalt           stopAction = iota // monitor shutdown: stay down
	thenRemove                           // deconfigured: forget the process
	thenRestartNow                       // configuration changed: start the new launch
	thenRestartBackoff                   // memory limit: restart on the backoff schedule
)

// Events handled by Run's goroutine.
type (
	exitEvent struct {
		p      *proc
		child  Child
		status ExitStatus
	}
	timerEvent struct {
		p   *proc
		seq int
	}
	reloadEvent   struct{ resetBackoff bool }
	memCheckEvent struct{}
	snapshotEvent struct{ reply chan State }
)

// New returns a Supervisor; call Run (once) to start it.
func New(opts Options) (*Supervisor, error) {
	if opts.ConfFile == "" {
		return nil, errors.New("monitor: no configuration file")
	}
	opts.EnsureDefaults()
	abs, err := filepath.Abs(opts.ConfFile)
	if err != nil {
		return nil, fmt.Errorf("monitor: %w", err)
	}
	opts.ConfFile = abs
	return &Supervisor{
		opts:   opts,
		log:    opts.Logger,
		events: make(chan any, 1024),
		done:   make(chan struct{}),
		procs:  map[string]*proc{},
	}, nil
}

// Run loads the configuration, starts the children and supervises them until
// ctx is cancelled; then it stops every child (SIGTERM, SIGKILL after the
// grace period), waits for them and returns. A configuration that cannot be
// loaded at start is an error; later ones are logged and skipped.
func (s *Supervisor) Run(ctx context.Context) error {
	defer s.closeDone() // also on early errors, so Snapshot and Reload never block
	data, err := os.ReadFile(s.opts.ConfFile)
	if err != nil {
		return fmt.Errorf("monitor: reading configuration: %w", err)
	}
	cfg, err := conf.Parse(s.opts.ConfFile, data, s.opts.PID)
	if err != nil {
		return fmt.Errorf("monitor: %w", err)
	}
	if !s.opts.DisableWatch {
		w, err := watchConf(s.opts.ConfFile, s.opts.ReloadDebounce, s.log, func() { s.post(reloadEvent{}) })
		if err != nil {
			return fmt.Errorf("monitor: %w", err)
		}
		defer w.Close()
	}
	s.log.Info("monitor starting", "conf", s.opts.ConfFile, "pid", s.opts.PID, "processes", len(cfg.Processes))
	s.apply(cfg, checksum(data))
	s.armMemCheck()
	s.writeState()

	ctxDone := ctx.Done()
	for {
		select {
		case <-ctxDone:
			ctxDone = nil
			s.shutdown()
		case ev := <-s.events:
			s.handle(ev)
		}
		if s.stopping && s.live() == 0 {
			s.final = s.snapshot()
			s.final.Stopped = true
			s.writeStateValue(&s.final)
			s.closeDone() // before the watcher is closed: its pending post returns
			s.log.Info("monitor stopped")
			return nil
		}
		if s.dirty && len(s.events) == 0 {
			s.writeState()
		}
	}
}

func (s *Supervisor) closeDone() { s.doneOnce.Do(func() { close(s.done) }) }

// Reload asks Run to re-read the configuration; resetBackoff also restarts
// every backoff schedule (SIGHUP). It does not wait.
func (s *Supervisor) Reload(resetBackoff bool) { s.post(reloadEvent{resetBackoff: resetBackoff}) }

// Snapshot returns the current state; after Run returns, the final state.
func (s *Supervisor) Snapshot() State {
	reply := make(chan State, 1)
	select {
	case s.events <- snapshotEvent{reply}:
	case <-s.done:
		return s.final
	}
	select {
	case st := <-reply:
		return st
	case <-s.done:
		return s.final
	}
}

// post delivers an event to Run, or drops it once Run has returned.
func (s *Supervisor) post(ev any) {
	select {
	case s.events <- ev:
	case <-s.done:
	}
}

func (s *Supervisor) handle(ev any) {
	switch ev := ev.(type) {
	case exitEvent:
		if s.procs[ev.p.id] == ev.p && ev.p.child == ev.child {
			s.onExit(ev.p, ev.status)
		}
	case timerEvent:
		if s.procs[ev.p.id] == ev.p && ev.p.timerSeq == ev.seq {
			s.onTimer(ev.p)
		}
	case reloadEvent:
		s.reload(ev.resetBackoff)
	case memCheckEvent:
		s.checkMemory()
		s.armMemCheck()
	case snapshotEvent:
		ev.reply <- s.snapshot()
	}
}

func (s *Supervisor) reload(resetBackoff bool) {
	if s.stopping {
		return
	}
	if resetBackoff {
		s.resetBackoff()
	}
	data, err := os.ReadFile(s.opts.ConfFile)
	if err != nil {
		s.confError(fmt.Errorf("reading configuration: %w", err))
		return
	}
	sum := checksum(data)
	if sum == s.confSum {
		if s.confErr != "" {
			s.confErr, s.dirty = "", true
		}
		return
	}
	cfg, err := conf.Parse(s.opts.ConfFile, data, s.opts.PID)
	if err != nil {
		s.confError(err)
		return
	}
	s.log.Info("configuration loaded", "conf", s.opts.ConfFile, "sha256", sum[:12], "processes", len(cfg.Processes))
	s.apply(cfg, sum)
}

// resetBackoff restarts every backoff schedule (SIGHUP); a process waiting
// to restart is rescheduled from the initial delay.
func (s *Supervisor) resetBackoff() {
	for _, id := range sortedIDs(s.procs) {
		p := s.procs[id]
		p.bo.reset()
		if p.status == StatusWaiting {
			s.schedule(p, p.bo.next(0, s.opts.Rand))
		}
	}
}

// confError leaves everything running as it is.
func (s *Supervisor) confError(err error) {
	s.log.Error("configuration not applied; processes left as they are", "error", err)
	s.confErr, s.dirty = err.Error(), true
}

// apply moves the running processes to cfg: fdbmonitor's load_conf.
func (s *Supervisor) apply(cfg *conf.Config, sum string) {
	s.cfg, s.confSum, s.confErr, s.dirty = cfg, sum, "", true
	want := map[string]bool{}
	for _, spec := range cfg.Processes {
		want[spec.ID] = true
		p, ok := s.procs[spec.ID]
		if !ok {
			p = &proc{id: spec.ID, spec: spec, bo: newBackoff(spec.Restart)}
			s.procs[spec.ID] = p
			s.log.Info("process configured", "id", p.id)
			s.start(p)
			continue
		}
		s.update(p, spec)
	}
	for _, id := range sortedIDs(s.procs) {
		if p := s.procs[id]; !want[id] && !(p.status == StatusStopping && p.onStop == thenRemove) {
			s.log.Info("process deconfigured; stopping it", "id", id, "pid", p.pid)
			s.stop(p, "deconfigured", thenRemove)
		}
	}
}

// update applies a changed section to an existing process.
func (s *Supervisor) update(p *proc, spec conf.Process) {
	old := p.spec
	p.spec = spec
	p.bo.setConfig(spec.Restart)
	if p.status == StatusStopping && p.onStop == thenRemove {
		// Deconfigured and configured again before it exited.
		p.onStop = thenRestartNow
	}
	if p.status != StatusRunning || p.launched.SameLaunch(spec) {
		if !old.SameLaunch(spec) || old.Restart != spec.Restart || old.Memory != spec.Memory || old.KillOnConfigChange != spec.KillOnConfigChange {
			s.log.Info("updated configuration", "id", p.id)
		}
		return
	}
	if !spec.KillOnConfigChange {
		s.log.Info("found new configuration; it takes effect when the process next restarts (kill-on-configuration-change is false)", "id", p.id)
		return
	}
	s.log.Info("found new configuration; restarting", "id", p.id, "pid", p.pid)
	s.stop(p, "configuration changed", thenRestartNow)
}

// start launches p's configured command now.
func (s *Supervisor) start(p *proc) {
	s.cancelTimer(p)
	p.launched, p.next, s.dirty = p.spec, time.Time{}, true
	p.starts++ // restarts counts every start after the first
	launch := Launch{ID: p.id, Argv: p.spec.Argv, Env: childEnv(s.opts.Environ, p.spec)}
	m := s.cfg.Monitor
	out, err := openRotatingFile(filepath.Join(m.OutputDir, p.id+".out"), m.OutputMaxSize, m.OutputKeep)
	if err != nil {
		s.log.Warn("child output discarded", "id", p.id, "error", err)
	} else {
		launch.Output = out
	}
	child, err := s.opts.Starter.Start(launch)
	now := s.opts.Clock.Now()
	if err != nil {
		p.lastExit, p.reason = "failed to start", err.Error()
		p.status, p.child, p.pid = StatusWaiting, nil, 0
		d := p.bo.next(0, s.opts.Rand)
		s.log.Error("process failed to start", "id", p.id, "argv", strings.Join(p.spec.Argv, " "), "error", err, "restart_in", d)
		s.schedule(p, d)
		return
	}
	p.status, p.child, p.pid, p.started, p.rss = StatusRunning, child, child.Pid(), now, 0
	s.log.Info("process started", "id", p.id, "pid", p.pid, "argv", strings.Join(p.spec.Argv, " "))
	go func() { s.post(exitEvent{p: p, child: child, status: child.Wait()}) }()
}

func (s *Supervisor) onExit(p *proc, st ExitStatus) {
	now := s.opts.Clock.Now()
	ran := now.Sub(p.started)
	wasStopping, action := p.status == StatusStopping, p.onStop
	s.cancelTimer(p)
	p.child, p.pid, p.lastExit, s.dirty = nil, 0, st.String(), true
	switch {
	case wasStopping:
		p.reason = p.stopWhy
	case st.Success():
		p.reason = "exited"
	default:
		p.reason = "crashed"
	}
	s.log.Info("process exited", "id", p.id, "status", p.lastExit, "reason", p.reason, "ran", ran.Round(time.Millisecond))
	switch {
	case s.stopping:
		p.status = StatusStopped
	case wasStopping && action == thenRemove:
		delete(s.procs, p.id)
	case wasStopping && action == thenRestartNow:
		p.bo = newBackoff(p.spec.Restart)
		s.start(p)
	case !wasStopping && st.Success():
		s.start(p)
	default: // a crash, or stopped for memory
		d := p.bo.next(ran, s.opts.Rand)
		s.log.Info("restart scheduled", "id", p.id, "delay", d)
		s.schedule(p, d)
	}
}

func (s *Supervisor) onTimer(p *proc) {
	p.timer = nil
	switch p.status {
	case StatusWaiting:
		s.start(p)
	case StatusStopping:
		s.log.Warn("process did not stop within the grace period; killing its process group", "id", p.id, "pid", p.pid)
		if err := p.child.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			s.log.Error("killing process group", "id", p.id, "error", err)
		}
	}
}

// schedule arranges for p to start after d.
func (s *Supervisor) schedule(p *proc, d time.Duration) {
	p.status, p.next = StatusWaiting, s.opts.Clock.Now().Add(d)
	s.arm(p, d)
}

// stop ends p's child (if any), then does action.
func (s *Supervisor) stop(p *proc, why string, action stopAction) {
	switch p.status {
	case StatusRunning:
		p.status, p.onStop, p.stopWhy, s.dirty = StatusStopping, action, why, true
		if err := p.child.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
			s.log.Error("stopping process", "id", p.id, "error", err)
		}
		s.arm(p, s.cfg.Monitor.GracePeriod)
	case StatusStopping:
		if action != thenRestartBackoff {
			p.onStop = action
		}
	case StatusWaiting:
		s.cancelTimer(p)
		p.next, s.dirty = time.Time{}, true
		switch action {
		case thenRemove:
			delete(s.procs, p.id)
		case thenRestartNow:
			s.start(p)
		case thenHalt:
			p.status = StatusStopped
		}
	}
}

func (s *Supervisor) shutdown() {
	s.stopping = true
	if s.memTimer != nil {
		s.memTimer.Stop()
	}
	s.log.Info("monitor stopping; stopping all processes")
	for _, id := range sortedIDs(s.procs) {
		s.stop(s.procs[id], "monitor stopping", thenHalt)
	}
}

func (s *Supervisor) live() int {
	n := 0
	for _, p := range s.procs {
		if p.child != nil {
			n++
		}
	}
	return n
}

func (s *Supervisor) arm(p *proc, d time.Duration) {
	s.cancelTimer(p)
	p.timerSeq++
	ev := timerEvent{p: p, seq: p.timerSeq}
	p.timer = s.opts.Clock.AfterFunc(d, func() { s.post(ev) })
}

func (s *Supervisor) cancelTimer(p *proc) {
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	p.timerSeq++ // a timer that already fired is ignored
}

func (s *Supervisor) armMemCheck() {
	if s.opts.MemoryCheckInterval > 0 && !s.stopping {
		s.memTimer = s.opts.Clock.AfterFunc(s.opts.MemoryCheckInterval, func() { s.post(memCheckEvent{}) })
	}
}

// checkMemory is fdbmonitor's memory guard: a child over its limit gets
// SIGTERM and is restarted on the backoff schedule.
func (s *Supervisor) checkMemory() {
	for _, id := range sortedIDs(s.procs) {
		p := s.procs[id]
		if p.status != StatusRunning {
			continue
		}
		rss, err := s.opts.RSS(p.pid)
		if err != nil {
			continue // it exited; its exit event is on the way
		}
		if rss != p.rss {
			p.rss, s.dirty = rss, true
		}
		if p.spec.Memory > 0 && rss > p.spec.Memory {
			why := fmt.Sprintf("memory limit: RSS %s over %s", conf.FormatSize(rss), conf.FormatSize(p.spec.Memory))
			s.log.Warn("process over its memory limit; stopping it", "id", p.id, "pid", p.pid, "rss", rss, "limit", p.spec.Memory)
			s.stop(p, why, thenRestartBackoff)
		}
	}
}

func (s *Supervisor) snapshot() State {
	st := State{
		MonitorPID: s.opts.PID, ConfFile: s.opts.ConfFile, ConfSHA256: s.confSum, ConfError: s.confErr,
		Updated: s.opts.Clock.Now(), Processes: []ProcessState{},
	}
	for _, id := range sortedIDs(s.procs) {
		p := s.procs[id]
		l := p.launched
		if p.child == nil {
			l = p.spec // the next start uses the configured launch
		}
		st.Processes = append(st.Processes, ProcessState{
			ID: p.id, Status: p.status, PID: p.pid, Argv: l.Argv, ArgvDigest: l.Digest(),
			StartTime: p.startedIfUp(), NextStart: p.next, Restarts: max(0, p.starts-1),
			LastExit: p.lastExit, LastReason: p.reason, RSS: p.rss, MemLimit: p.spec.Memory,
		})
	}
	return st
}

func (p *proc) startedIfUp() time.Time {
	if p.child == nil {
		return time.Time{}
	}
	return p.started
}

func (s *Supervisor) writeState() {
	st := s.snapshot()
	s.writeStateValue(&st)
}

func (s *Supervisor) writeStateValue(st *State) {
	s.dirty = false
	if err := WriteState(s.cfg.Monitor.StateFile, st); err != nil {
		if !s.stateFailed {
			s.log.Error("cannot publish monitor state", "error", err)
		}
		s.stateFailed = true
		return
	}
	s.stateFailed = false
}

// childEnv is the monitor's environment with delete-envvars removed and
// envvars set; delete-envvars wins over envvars, as in fdbmonitor.
func childEnv(base []string, p conf.Process) []string {
	drop := map[string]bool{}
	for _, name := range p.DeleteEnv {
		drop[name] = true
	}
	set := map[string]bool{}
	for _, kv := range p.Env {
		name, _, _ := strings.Cut(kv, "=")
		set[name] = true
	}
	env := make([]string, 0, len(base)+len(p.Env))
	for _, kv := range base {
		name, _, _ := strings.Cut(kv, "=")
		if !drop[name] && !set[name] {
			env = append(env, kv)
		}
	}
	for _, kv := range p.Env {
		if name, _, _ := strings.Cut(kv, "="); !drop[name] {
			env = append(env, kv)
		}
	}
	return env
}

func checksum(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func sortedIDs(m map[string]*proc) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
