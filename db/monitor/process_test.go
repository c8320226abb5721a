package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// These tests supervise real processes: sh one-liners and this test binary
// (see TestMain). Delays are short so the whole file runs in seconds.

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

type realEnv struct {
	t    *testing.T
	dir  string
	conf string
	sup  *Supervisor
	stop func()
}

// monitorHeader points state and output into dir and keeps stops quick.
func monitorHeader(dir string) string {
	return fmt.Sprintf("[monitor]\nstate-file = %s\noutput-dir = %s\nstop-grace-period = 1\n",
		filepath.Join(dir, "state.json"), filepath.Join(dir, "out"))
}

// startReal writes body (after a [monitor] header) and runs a Supervisor on it.
func startReal(t *testing.T, body string, tweak func(*Options)) *realEnv {
	t.Helper()
	dir := t.TempDir()
	e := &realEnv{t: t, dir: dir, conf: filepath.Join(dir, "strata.conf")}
	e.replaceConf(body)
	opts := Options{
		ConfFile: e.conf, Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil)),
		Rand: func() float64 { return 0.5 }, ReloadDebounce: 20 * time.Millisecond,
	}
	if tweak != nil {
		tweak(&opts)
	}
	sup, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	e.sup = sup
	e.stop = runInBackground(t, sup)
	t.Cleanup(e.stop)
	return e
}

// runInBackground runs sup until the returned function (which may be called
// more than once) cancels it and waits for Run to return.
func runInBackground(tb testing.TB, sup *Supervisor) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sup.Run(ctx) }()
	var stopped bool
	return func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				tb.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			tb.Errorf("Run did not return after cancel")
		}
	}
}

// replaceConf replaces the conf atomically: write a temporary file, rename.
func (e *realEnv) replaceConf(body string) {
	e.t.Helper()
	tmp := e.conf + ".tmp"
	if err := os.WriteFile(tmp, []byte(monitorHeader(e.dir)+body), 0o644); err != nil {
		e.t.Fatal(err)
	}
	if err := os.Rename(tmp, e.conf); err != nil {
		e.t.Fatal(err)
	}
}

// waitState polls the Supervisor until cond holds.
func (e *realEnv) waitState(what string, timeout time.Duration, cond func(State) bool) State {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st := e.sup.Snapshot()
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s; state: %+v", what, st.Processes)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func byID(st State) map[string]ProcessState {
	m := map[string]ProcessState{}
	for _, p := range st.Processes {
		m[p.ID] = p
	}
	return m
}

func allRunning(ids ...string) func(State) bool {
	return func(st State) bool {
		m := byID(st)
		if len(m) != len(ids) {
			return false
		}
		for _, id := range ids {
			if m[id].Status != StatusRunning {
				return false
			}
		}
		return true
	}
}

// alive reports whether pid is a live (not zombie) process.
func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fields) > 0 && fields[0] != "Z" && fields[0] != "X"
}

func waitDead(t *testing.T, what string, pids ...int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for _, pid := range pids {
		for alive(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: pid %d still alive", what, pid)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// startTimes reads the nanosecond timestamps a child appended to path.
func startTimes(t *testing.T, path string) []time.Time {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []time.Time
	for _, f := range strings.Fields(string(data)) {
		ns, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			t.Fatalf("bad timestamp %q", f)
		}
		out = append(out, time.Unix(0, ns))
	}
	return out
}

func TestRealCrashLoopBacksOff(t *testing.T) {
	dir := t.TempDir()
	stamps := filepath.Join(dir, "starts")
	// initial 0.2 s; the next delay is 2 x max(1 s, 0.2 s), capped at 0.8 s.
	e := startReal(t, fmt.Sprintf(`
[server]
command = sh -c 'date +%%s%%N >> %s; exit 3'
initial-restart-delay = 0.2
restart-delay = 0.8
restart-backoff = 2
restart-delay-reset-interval = 60
[server.1]
`, stamps), nil)
	st := e.waitState("four restarts", 10*time.Second, func(st State) bool {
		return len(st.Processes) == 1 && st.Processes[0].Restarts >= 4
	})
	if p := st.Processes[0]; p.LastExit != "exit status 3" || p.LastReason != "crashed" {
		t.Errorf("state = %+v", p)
	}
	e.stop()
	times := startTimes(t, stamps)
	want := []time.Duration{200 * time.Millisecond, 800 * time.Millisecond, 800 * time.Millisecond}
	// Each gap is the delay plus the child's own start-up and run time, which
	// a loaded machine stretches; the delay is the floor. (The exact
	// schedule is checked under a fake clock in schedule_test.go.)
	for i, w := range want {
		got := times[i+1].Sub(times[i])
		if got < w || got > w+2*time.Second {
			t.Errorf("gap %d between starts = %v, want %v plus start-up time", i, got, w)
		}
	}
	// The output went to the rotated file; nothing was printed here, but it exists.
	if _, err := os.Stat(filepath.Join(e.dir, "out", "1.out")); err != nil {
		t.Errorf("child output file: %v", err)
	}
}

func TestRealExitZeroRestartsAtOnce(t *testing.T) {
	dir := t.TempDir()
	stamps := filepath.Join(dir, "starts")
	// A crash would wait 30 s; only exit 0 restarts at once.
	e := startReal(t, fmt.Sprintf(`
[server]
command = sh -c 'date +%%s%%N >> %s; echo bye; sleep 0.05; exit 0'
initial-restart-delay = 30
restart-delay = 30
[server.1]
`, stamps), nil)
	st := e.waitState("five restarts", 5*time.Second, func(st State) bool {
		return len(st.Processes) == 1 && st.Processes[0].Restarts >= 5
	})
	if p := st.Processes[0]; p.LastExit != "exit status 0" || p.LastReason != "exited" {
		t.Errorf("state = %+v", p)
	}
	e.stop()
	times := startTimes(t, stamps)
	for i := 1; i < len(times); i++ {
		if gap := times[i].Sub(times[i-1]); gap > 500*time.Millisecond {
			t.Errorf("restart %d came %v after the previous start; want at once", i, gap)
		}
	}
	out, err := os.ReadFile(filepath.Join(e.dir, "out", "1.out"))
	if err != nil || strings.Count(string(out), "bye\n") < 5 {
		t.Errorf("child output file has %q, %v; want a bye per run", out, err)
	}
}

const editBase = `
[general]
restart-delay = 1
[server]
command = sh -c 'exec sleep 1000'
[server.a]
[server.b]
[server.c]
tag = 1
`

func TestRealAtomicEdits(t *testing.T) {
	e := startReal(t, editBase, nil)
	before := byID(e.waitState("a, b, c running", 5*time.Second, allRunning("a", "b", "c")))

	// One edit: remove b, add d, change c's arguments, change only a's
	// restart settings.
	e.replaceConf(`
[general]
restart-delay = 1
[server]
command = sh -c 'exec sleep 1000'
[server.a]
restart-delay = 5
restart-backoff = 3
[server.c]
tag = 2
[server.d]
`)
	after := byID(e.waitState("a, c, d running with c's new arguments", 5*time.Second, func(st State) bool {
		return allRunning("a", "c", "d")(st) && byID(st)["c"].PID != before["c"].PID
	}))
	waitDead(t, "removed b", before["b"].PID)
	waitDead(t, "c's old process", before["c"].PID)
	if after["a"].PID != before["a"].PID {
		t.Errorf("a was restarted (pid %d -> %d) for a restart-settings change", before["a"].PID, after["a"].PID)
	}
	if got := after["c"].Argv[len(after["c"].Argv)-1]; got != "--tag=2" || after["c"].ArgvDigest == before["c"].ArgvDigest {
		t.Errorf("c runs %q (digest %s); want --tag=2 and a new digest", after["c"].Argv, after["c"].ArgvDigest)
	}
	if r := after["c"]; r.LastReason != "configuration changed" {
		t.Errorf("c's last exit reason = %q", r.LastReason)
	}
	if after["a"].Restarts != 0 || after["d"].Restarts != 0 {
		t.Errorf("restart counts a=%d d=%d, want 0", after["a"].Restarts, after["d"].Restarts)
	}

	// With kill-on-configuration-change = false a changed command line
	// waits for the next restart.
	e.replaceConf(`
[general]
restart-delay = 1
kill_on_configuration_change = false
[server]
command = sh -c 'exec sleep 1000'
[server.a]
tag = new
[server.c]
tag = 2
[server.d]
`)
	e.waitState("the new conf applied", 5*time.Second, func(st State) bool { return st.ConfSHA256 != "" && st.ConfError == "" && hasKillOff(e) })
	time.Sleep(200 * time.Millisecond)
	now := byID(e.sup.Snapshot())
	for _, id := range []string{"a", "c", "d"} {
		if now[id].PID != after[id].PID {
			t.Errorf("%s restarted with kill-on-configuration-change false", id)
		}
	}

	// A conf that does not parse changes nothing and reports file:line.
	e.replaceConf("[server]\ncommand = x\n[server.a]\nflag_x = maybe\n")
	st := e.waitState("the parse error reported", 5*time.Second, func(st State) bool { return st.ConfError != "" })
	if !strings.Contains(st.ConfError, "strata.conf:8: flag_x = maybe") {
		t.Errorf("conf error %q does not name file and line", st.ConfError)
	}
	time.Sleep(200 * time.Millisecond)
	if got := byID(e.sup.Snapshot()); len(got) != 3 || got["a"].PID != now["a"].PID || got["c"].PID != now["c"].PID || got["d"].PID != now["d"].PID {
		t.Errorf("a bad conf changed the processes: %+v", got)
	}
}

// hasKillOff reports whether the conf on disk is the one the Supervisor applied.
func hasKillOff(e *realEnv) bool {
	data, err := os.ReadFile(e.conf)
	return err == nil && e.sup.Snapshot().ConfSHA256 == checksum(data)
}

func TestRealMemoryGuard(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	e := startReal(t, fmt.Sprintf(`
[server]
command = %s
envvars = %s=alloc
memory = 100MiB
initial-restart-delay = 0.2
restart-delay = 0.2
[server.hog]
`, self, childModeEnv), func(o *Options) { o.MemoryCheckInterval = 100 * time.Millisecond })
	first := e.waitState("hog running", 5*time.Second, allRunning("hog")).Processes[0]
	st := e.waitState("hog stopped for memory and restarted", 15*time.Second, func(st State) bool {
		return len(st.Processes) == 1 && st.Processes[0].Restarts >= 1
	})
	p := st.Processes[0]
	if !strings.HasPrefix(p.LastReason, "memory limit: RSS") || p.LastExit != "killed by signal terminated" {
		t.Errorf("last exit %q (%q); want SIGTERM for the memory limit", p.LastExit, p.LastReason)
	}
	waitDead(t, "the hog over its limit", first.PID)
}

func TestRealStopKillsProcessGroup(t *testing.T) {
	dir := t.TempDir()
	grandchild := filepath.Join(dir, "grandchild")
	e := startReal(t, fmt.Sprintf(`
[server]
command = sh -c 'trap "" TERM; sleep 1000 & echo $! > %s; wait'
[server.1]
`, grandchild), nil)
	st := e.waitState("1 running", 5*time.Second, allRunning("1"))
	var gc int
	for deadline := time.Now().Add(5 * time.Second); gc == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		data, _ := os.ReadFile(grandchild)
		gc, _ = strconv.Atoi(strings.TrimSpace(string(data)))
	}
	if gc == 0 {
		t.Fatal("the child never wrote its grandchild's pid")
	}
	// The child ignores SIGTERM, so this takes the SIGKILL after the grace period.
	e.stop()
	waitDead(t, "the child", st.Processes[0].PID)
	waitDead(t, "the grandchild in its process group", gc)
	if final := e.sup.Snapshot(); !final.Stopped || final.Processes[0].Status != StatusStopped {
		t.Errorf("final state %+v", final)
	}
}

// startMonitorProcess runs this test binary as a monitor on conf.
func startMonitorProcess(t *testing.T, conf, lock string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), childModeEnv+"=monitor", "STRATA_MONITOR_TEST_CONF="+conf, "STRATA_MONITOR_TEST_LOCK="+lock)
	cmd.Stderr = testWriter{t}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

func waitStateFile(t *testing.T, path string, n int) *State {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := ReadState(path)
		if err == nil && len(st.Processes) == n && allRunning(idsOf(st)...)(*st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("state file never showed %d running processes (last: %v, %v)", n, st, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func idsOf(st *State) []string {
	var ids []string
	for _, p := range st.Processes {
		ids = append(ids, p.ID)
	}
	return ids
}

func TestRealKilledMonitorLeavesNoChild(t *testing.T) {
	dir := t.TempDir()
	conf, lock := filepath.Join(dir, "strata.conf"), filepath.Join(dir, "monitor.lock")
	body := monitorHeader(dir) + "[server]\ncommand = sh -c 'exec sleep 1000'\n[server.1]\n[server.2]\n[server.3]\n"
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	mon := startMonitorProcess(t, conf, lock)
	st := waitStateFile(t, filepath.Join(dir, "state.json"), 3)

	// A second monitor on the same conf refuses to start.
	second := exec.Command(mon.Path)
	second.Env = mon.Env
	out, err := second.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "another monitor is running") {
		t.Errorf("second monitor: err %v, output %q; want a refusal", err, out)
	}
	if _, err := AcquireLock(lock); !errors.Is(err, ErrLocked) {
		t.Errorf("AcquireLock while the monitor runs: %v, want ErrLocked", err)
	}
	if held, err := LockHeld(lock); !held || err != nil {
		t.Errorf("LockHeld = %v, %v; want true", held, err)
	}

	if err := mon.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	mon.Wait()
	var pids []int
	for _, p := range st.Processes {
		pids = append(pids, p.PID)
	}
	waitDead(t, "children of the killed monitor", pids...)
}

func TestRealTerminatedMonitorStopsChildrenAndUnlocks(t *testing.T) {
	dir := t.TempDir()
	conf, lock := filepath.Join(dir, "strata.conf"), filepath.Join(dir, "monitor.lock")
	body := monitorHeader(dir) + "[server]\ncommand = sh -c 'exec sleep 1000'\n[server.1]\n[server.2]\n"
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	mon := startMonitorProcess(t, conf, lock)
	st := waitStateFile(t, filepath.Join(dir, "state.json"), 2)
	if err := mon.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := mon.Wait(); err != nil {
		t.Errorf("monitor exit after SIGTERM: %v", err)
	}
	waitDead(t, "children of the stopped monitor", st.Processes[0].PID, st.Processes[1].PID)
	if _, err := os.Stat(lock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lockfile left behind: %v", err)
	}
	final, err := ReadState(filepath.Join(dir, "state.json"))
	if err != nil || !final.Stopped {
		t.Errorf("final state %+v, %v; want stopped", final, err)
	}
	// And a new monitor can start.
	l, err := AcquireLock(lock)
	if err != nil {
		t.Fatalf("lock after the monitor stopped: %v", err)
	}
	l.Release()
}

func TestRealCommandNotFoundIsRetried(t *testing.T) {
	e := startReal(t, `
[server]
command = /nonexistent/strata-server
initial-restart-delay = 0.05
restart-delay = 0.05
[server.1]
`, nil)
	st := e.waitState("two failed starts", 5*time.Second, func(st State) bool {
		return len(st.Processes) == 1 && st.Processes[0].Restarts >= 2
	})
	if p := st.Processes[0]; p.LastExit != "failed to start" || !strings.Contains(p.LastReason, "no such file") || p.PID != 0 {
		t.Errorf("state = %+v", p)
	}
}

func TestRealSIGHUPResetsBackoff(t *testing.T) {
	dir := t.TempDir()
	conf, lock := filepath.Join(dir, "strata.conf"), filepath.Join(dir, "monitor.lock")
	// First delay 0, then 30 s: after two starts it waits half a minute.
	body := monitorHeader(dir) + "[server]\ncommand = sh -c 'exit 1'\nrestart-delay = 30\nrestart-backoff = 30\n[server.1]\n"
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	mon := startMonitorProcess(t, conf, lock)
	statePath := filepath.Join(dir, "state.json")
	waitFor := func(what string, cond func(ProcessState) bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			st, err := ReadState(statePath)
			if err == nil && len(st.Processes) == 1 && cond(st.Processes[0]) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s (state %+v, %v)", what, st, err)
			}
		}
	}
	waitFor("a 30 s wait", func(p ProcessState) bool {
		return p.Restarts == 1 && p.Status == StatusWaiting && time.Until(p.NextStart) > 20*time.Second
	})
	if err := mon.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor("the restart SIGHUP brings forward", func(p ProcessState) bool { return p.Restarts >= 2 })
}
