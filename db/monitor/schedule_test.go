package monitor

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeSupervisor runs a Supervisor on conf with the fake clock and starter,
// no file watching and no memory guard.
func fakeSupervisor(t *testing.T, confText string) (*Supervisor, *fakeClock, *fakeStarter) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "strata.conf")
	confText = "[monitor]\nstate-file = " + filepath.Join(dir, "state.json") + "\noutput-dir = " + dir + "\n" + confText
	if err := os.WriteFile(path, []byte(confText), 0o644); err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock()
	starter := newFakeStarter(clock)
	sup, err := New(Options{
		ConfFile: path, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Clock: clock, Starter: starter, Rand: func() float64 { return 0.5 },
		MemoryCheckInterval: -1, DisableWatch: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sup.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Run did not return after cancel")
		}
	})
	return sup, clock, starter
}

const docExample = `
[general]
restart-delay = 60
initial-restart-delay = 0
restart-backoff = 2.0
restart-delay-reset-interval = 180
[server]
command = /usr/sbin/fdbserver
[server.4500]
`

// TestRestartScheduleDocumentedExample crashes a child over and over under
// the fake clock and reads the delays the Supervisor schedules.
func TestRestartScheduleDocumentedExample(t *testing.T) {
	sup, clock, starter := fakeSupervisor(t, docExample)
	child := starter.nextStart(t)
	var delays []time.Duration
	for range 8 {
		crashedAt := clock.Now()
		child.exitWith(1)
		d := clock.nextArmed(t)
		delays = append(delays, d)
		clock.Advance(d)
		child = starter.nextStart(t)
		if got := child.at.Sub(crashedAt); got != d {
			t.Fatalf("restarted %v after the crash, scheduled %v", got, d)
		}
	}
	want := []time.Duration{0, 2, 4, 8, 16, 32, 60, 60}
	for i := range want {
		want[i] *= time.Second
	}
	if diff := cmp.Diff(want, delays); diff != "" {
		t.Errorf("restart delays (-want +got):\n%s", diff)
	}
	st := sup.Snapshot()
	if got := st.Processes[0]; got.Restarts != 8 || got.LastExit != "exit status 1" || got.LastReason != "crashed" || got.PID != child.pid {
		t.Errorf("state after 8 crashes = %+v", got)
	}

	// A run as long as the reset interval starts the schedule again.
	clock.Advance(180 * time.Second)
	child.exitWith(1)
	if d := clock.nextArmed(t); d != 0 {
		t.Errorf("after a 180 s run the delay is %v, want 0", d)
	}
	clock.Advance(0)
	child = starter.nextStart(t)
	child.exitWith(1)
	if d := clock.nextArmed(t); d != 2*time.Second {
		t.Errorf("second crash after the reset: delay %v, want 2s", d)
	}
}

func TestExitZeroRestartsAtOnce(t *testing.T) {
	sup, clock, starter := fakeSupervisor(t, docExample)
	child := starter.nextStart(t)
	for range 5 {
		child.exitWith(1) // build up some backoff first
		clock.Advance(clock.nextArmed(t))
		child = starter.nextStart(t)
	}
	for range 3 {
		before := clock.Now()
		child.exitWith(0)
		child = starter.nextStart(t)
		if child.at != before {
			t.Fatalf("exit 0 restarted after %v, want at once", child.at.Sub(before))
		}
	}
	select {
	case d := <-clock.armed:
		t.Errorf("exit 0 armed a %v timer; want an immediate restart", d)
	default:
	}
	if got := sup.Snapshot().Processes[0]; got.LastReason != "exited" || got.LastExit != "exit status 0" {
		t.Errorf("state = %+v", got)
	}
	// Exit 0 does not advance the schedule: the next crash waits 32 s, as
	// it would have after the fifth crash.
	child.exitWith(1)
	if d := clock.nextArmed(t); d != 32*time.Second {
		t.Errorf("crash after clean exits: delay %v, want 32s", d)
	}
}

func TestReloadWithResetBackoffRestartsSchedule(t *testing.T) {
	sup, clock, starter := fakeSupervisor(t, docExample)
	child := starter.nextStart(t)
	for range 5 {
		child.exitWith(1)
		clock.Advance(clock.nextArmed(t))
		child = starter.nextStart(t)
	}
	child.exitWith(1)
	if d := clock.nextArmed(t); d != 32*time.Second {
		t.Fatalf("delay %v, want 32s", d)
	}
	sup.Reload(true) // SIGHUP
	if d := clock.nextArmed(t); d != 0 {
		t.Errorf("SIGHUP rescheduled the waiting restart after %v, want the initial 0", d)
	}
	clock.Advance(0)
	child = starter.nextStart(t)
	child.exitWith(1)
	if d := clock.nextArmed(t); d != 2*time.Second {
		t.Errorf("after SIGHUP the schedule continues 0, 2, ...: got %v", d)
	}
}
