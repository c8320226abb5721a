package monitor

import (
	"sync"
	"syscall"
	"testing"
	"time"
)

// fakeClock only moves when the test advances it, and reports every timer
// armed on it so the test can read the Supervisor's schedule.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
	armed  chan time.Duration
}

type fakeTimer struct {
	at      time.Time
	f       func()
	stopped bool
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), armed: make(chan time.Duration, 100)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	t := &fakeTimer{at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	c.mu.Unlock()
	c.armed <- d
	return &fakeTimerHandle{c: c, t: t}
}

type fakeTimerHandle struct {
	c *fakeClock
	t *fakeTimer
}

func (h *fakeTimerHandle) Stop() bool {
	h.c.mu.Lock()
	defer h.c.mu.Unlock()
	was := !h.t.stopped
	h.t.stopped = true
	return was
}

// Advance moves time on and runs the timers that come due, in order.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*fakeTimer
	kept := c.timers[:0]
	for _, t := range c.timers {
		switch {
		case t.stopped:
		case !t.at.After(c.now):
			t.stopped = true
			due = append(due, t)
		default:
			kept = append(kept, t)
		}
	}
	c.timers = kept
	c.mu.Unlock()
	for _, t := range due {
		t.f()
	}
}

// nextArmed waits for the Supervisor to arm a timer and returns its delay.
func (c *fakeClock) nextArmed(t *testing.T) time.Duration {
	t.Helper()
	select {
	case d := <-c.armed:
		return d
	case <-time.After(5 * time.Second):
		t.Fatal("no timer was armed")
		return 0
	}
}

// fakeStarter starts in-memory children that exit when the test says so.
type fakeStarter struct {
	clock   *fakeClock
	mu      sync.Mutex
	nextPID int
	started chan *fakeChild
}

func newFakeStarter(c *fakeClock) *fakeStarter {
	return &fakeStarter{clock: c, nextPID: 1000, started: make(chan *fakeChild, 100)}
}

func (s *fakeStarter) Start(l Launch) (Child, error) {
	if l.Output != nil {
		l.Output.Close()
	}
	s.mu.Lock()
	s.nextPID++
	c := &fakeChild{pid: s.nextPID, launch: l, at: s.clock.Now(), exit: make(chan ExitStatus, 1)}
	s.mu.Unlock()
	s.started <- c
	return c, nil
}

// nextStart waits for the Supervisor to start a child.
func (s *fakeStarter) nextStart(t *testing.T) *fakeChild {
	t.Helper()
	select {
	case c := <-s.started:
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("no child was started")
		return nil
	}
}

type fakeChild struct {
	pid    int
	launch Launch
	at     time.Time
	exit   chan ExitStatus
}

func (c *fakeChild) Pid() int { return c.pid }

// Signal ends the child as a signal would (the default action of SIGTERM).
func (c *fakeChild) Signal(sig syscall.Signal) error {
	select {
	case c.exit <- ExitStatus{Code: -1, Signal: sig}:
	default:
	}
	return nil
}

func (c *fakeChild) Wait() ExitStatus { return <-c.exit }

func (c *fakeChild) exitWith(code int) { c.exit <- ExitStatus{Code: code} }
