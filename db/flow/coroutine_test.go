package flow

import (
	"runtime"
	"testing"
	"time"
)

// An actor that finished leaves its coroutine for the next Spawn: a
// process running short actors one after another keeps reusing one stack
// rather than making a goroutine per actor.
func TestFinishedActorsCoroutinesAreReused(t *testing.T) {
	l := NewVirtualLoop(epoch)
	e := newTestEnvs(l, "a:1")[0]
	ran := 0
	for range 100 {
		e.Spawn("short", func(c *Ctx) error {
			if err := c.Yield(); err != nil {
				return err
			}
			ran++
			return nil
		})
		l.RunUntil(epoch.Add(time.Second), nil)
	}
	if ran != 100 {
		t.Fatalf("%d of 100 actors ran", ran)
	}
	if len(e.idle) != 1 {
		t.Fatalf("%d idle coroutines after 100 actors in turn, want 1", len(e.idle))
	}
}

// A killed process ends its idle coroutines (no goroutine outlives it),
// and an actor that panicked in simulation leaves a coroutine that still
// runs the next actor correctly.
func TestKilledProcessEndsItsIdleCoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	l := NewVirtualLoop(epoch)
	e := newTestEnvs(l, "a:1")[0]
	for range 50 {
		e.Spawn("short", func(c *Ctx) error { return c.Yield() })
	}
	l.RunUntil(epoch.Add(time.Second), nil)
	if len(e.idle) != 50 {
		t.Fatalf("%d idle coroutines, want 50", len(e.idle))
	}
	e.Kill()
	if len(e.idle) != 0 {
		t.Fatalf("%d idle coroutines after Kill", len(e.idle))
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines after Kill, %d before the process", n, before)
	}
}

func TestCoroutineRunsTheNextActorAfterAPanic(t *testing.T) {
	l := NewVirtualLoop(epoch)
	e := newTestEnvs(l, "a:1")[0]
	e.Spawn("panics", func(c *Ctx) error { panic("role bug") })
	l.RunUntil(epoch.Add(time.Second), nil)
	if l.Failure() == nil {
		t.Fatal("a panicking actor did not fail the virtual loop")
	}
	l.failure = nil
	done := e.Spawn("next", func(c *Ctx) error {
		if err := c.Sleep(time.Millisecond); err != nil {
			return err
		}
		return nil
	}).Done()
	l.RunUntil(epoch.Add(2*time.Second), nil)
	if !done.IsReady() || done.Err() != nil {
		t.Fatalf("the actor after a panic: ready %v, err %v", done.IsReady(), done.Err())
	}
}

// BenchmarkSpawn measures spawning an actor that blocks once with a few
// kilobytes of stack, as a client's commit or a log's request handler does.
func BenchmarkSpawn(b *testing.B) {
	l := NewVirtualLoop(epoch)
	e := newTestEnvs(l, "a:1")[0]
	b.ReportAllocs()
	for b.Loop() {
		e.Spawn("bench", func(c *Ctx) error {
			if err := c.Yield(); err != nil {
				return err
			}
			return deepStack(c, 24)
		})
		l.RunUntil(epoch.Add(time.Second), nil)
	}
}

//go:noinline
func deepStack(c *Ctx, n int) error {
	var pad [128]byte
	pad[n%128] = byte(n)
	if n == 0 {
		return nil
	}
	if err := deepStack(c, n-1); err != nil {
		return err
	}
	if pad[n%128] != byte(n) {
		return ErrInternal
	}
	return nil
}
