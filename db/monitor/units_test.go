package monitor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-db/strata/db/monitor/conf"
)

func TestChildEnv(t *testing.T) {
	base := []string{"HOME=/root", "PATH=/bin", "KEEP=1", "OVER=old"}
	got := childEnv(base, conf.Process{Env: []string{"OVER=new", "ADD=x", "GONE=y"}, DeleteEnv: []string{"HOME", "GONE"}})
	want := []string{"PATH=/bin", "KEEP=1", "OVER=new", "ADD=x"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("environment (-want +got):\n%s", diff)
	}
}

func TestRotatingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "x.out")
	r, err := openRotatingFile(path, 10, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		fmt.Fprintf(r, "line%d\n", i) // 6 bytes: one line per file
	}
	r.Close()
	read := func(p string) string {
		data, err := os.ReadFile(p)
		if err != nil {
			return "<" + err.Error() + ">"
		}
		return string(data)
	}
	got := []string{read(path), read(path + ".1"), read(path + ".2")}
	if diff := cmp.Diff([]string{"line4\n", "line3\n", "line2\n"}, got); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(path + ".3"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("kept more than 2 old files")
	}
	// Reopening appends and counts what is there.
	r, _ = openRotatingFile(path, 10, 2)
	fmt.Fprint(r, "ab")
	fmt.Fprint(r, "cdefgh")
	r.Close()
	if got := read(path); got != "cdefgh" || read(path+".1") != "line4\nab" {
		t.Errorf("after reopening: %q and %q", got, read(path+".1"))
	}
}

func TestLockIsExclusive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.lock")
	l, err := AcquireLock(path)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if strings.TrimSpace(string(data)) != fmt.Sprint(os.Getpid()) {
		t.Errorf("lockfile holds %q, want our pid", data)
	}
	_, err = AcquireLock(path)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Errorf("second AcquireLock: %v; want ErrLocked naming the holder", err)
	}
	if held, _ := LockHeld(path); !held {
		t.Errorf("LockHeld = false while held")
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if held, err := LockHeld(path); held || err != nil {
		t.Errorf("LockHeld after Release = %v, %v", held, err)
	}
	l, err = AcquireLock(path)
	if err != nil {
		t.Fatalf("AcquireLock after Release: %v", err)
	}
	l.Release()
}

func TestFormatState(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	st := &State{
		MonitorPID: 10, ConfFile: "/etc/strata/strata.conf", ConfSHA256: "0123456789abcdef", Updated: now.Add(-2 * time.Second),
		ConfError: "/etc/strata/strata.conf:3: oops",
		Processes: []ProcessState{
			{ID: "4500", Status: StatusRunning, PID: 11, ArgvDigest: "d1", StartTime: now.Add(-90 * time.Second), RSS: 3 << 20},
			{ID: "4501", Status: StatusWaiting, ArgvDigest: "d2", NextStart: now.Add(1500 * time.Millisecond), Restarts: 4,
				LastExit: "exit status 1", LastReason: "crashed"},
		},
	}
	var b strings.Builder
	if err := FormatState(&b, st, true, now); err != nil {
		t.Fatal(err)
	}
	want := `monitor pid 10 running
conf /etc/strata/strata.conf (sha256 0123456789ab), state updated 2s ago
conf not applied: /etc/strata/strata.conf:3: oops
ID    STATUS                     PID  UPTIME  RESTARTS  RSS     LAST EXIT                DIGEST
4500  running                    11   1m30s   0         3.0MiB  -                        d1
4501  waiting (restart in 1.5s)  -    -       4         -       exit status 1 (crashed)  d2
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
	b.Reset()
	FormatState(&b, st, false, now)
	if !strings.Contains(b.String(), "NOT RUNNING") {
		t.Errorf("a stopped monitor is not flagged:\n%s", b.String())
	}
}

func TestStateFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d", "state.json")
	st := &State{MonitorPID: 1, ConfFile: "c", Updated: time.Unix(5, 0).UTC(),
		Processes: []ProcessState{{ID: "a", Status: StatusRunning, PID: 2, Argv: []string{"x", "--y=1"}, ArgvDigest: "dd", Restarts: 3}}}
	if err := WriteState(path, st); err != nil {
		t.Fatal(err)
	}
	got, err := ReadState(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(st, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left beside the state: %v", entries)
	}
}

func TestRemovedWhileWaitingThenReAdded(t *testing.T) {
	sup, clock, starter := fakeSupervisor(t, docExample)
	child := starter.nextStart(t)
	child.exitWith(1)
	clock.nextArmed(t) // waiting for its restart
	rewriteFakeConf(t, sup, "")
	sup.Reload(false)
	waitFake(t, sup, "4500 forgotten", func(st State) bool { return len(st.Processes) == 0 })
	clock.Advance(time.Minute) // the cancelled restart must not fire
	select {
	case c := <-starter.started:
		t.Fatalf("a deconfigured process was started: %+v", c.launch)
	case <-time.After(50 * time.Millisecond):
	}

	// Configure it again: it starts at once with a fresh schedule.
	rewriteFakeConf(t, sup, docExample)
	sup.Reload(false)
	child = starter.nextStart(t)
	child.exitWith(1)
	if d := clock.nextArmed(t); d != 0 {
		t.Errorf("re-added process: first delay %v, want 0", d)
	}
}

func TestConfErrorKeepsProcesses(t *testing.T) {
	sup, _, starter := fakeSupervisor(t, docExample)
	child := starter.nextStart(t)
	rewriteFakeConf(t, sup, "[server.4500]\n") // no command anywhere
	sup.Reload(false)
	st := waitFake(t, sup, "the error recorded", func(st State) bool { return st.ConfError != "" })
	if !strings.Contains(st.ConfError, "strata.conf:4: [server.4500] has no command") {
		t.Errorf("conf error = %q; want file:line", st.ConfError)
	}
	if p := st.Processes[0]; p.PID != child.pid || p.Status != StatusRunning {
		t.Errorf("a bad conf touched the process: %+v", p)
	}
}

func TestNoGoroutinesLeftAfterRun(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Run("run", func(t *testing.T) { // its cleanup stops the Supervisor
		sup, clock, starter := fakeSupervisor(t, docExample)
		child := starter.nextStart(t)
		child.exitWith(1)
		clock.Advance(clock.nextArmed(t))
		starter.nextStart(t)
		sup.Snapshot()
	})
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines before, %d after:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}

// rewriteFakeConf replaces the conf of a fakeSupervisor, keeping its header.
func rewriteFakeConf(t *testing.T, sup *Supervisor, body string) {
	t.Helper()
	data, err := os.ReadFile(sup.opts.ConfFile)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	header := strings.Join(lines[:3], "") // [monitor], state-file, output-dir
	if err := os.WriteFile(sup.opts.ConfFile, []byte(header+body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func waitFake(t *testing.T, sup *Supervisor, what string, cond func(State) bool) State {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if st := sup.Snapshot(); cond(st) {
			return st
		}
	}
	t.Fatalf("timed out waiting for %s", what)
	return State{}
}
