package flow

import (
	"fmt"
	"iter"
	"runtime/debug"
	"time"
)

// task is the runtime's record of one actor.
//
// An actor is a coroutine (iter.Pull): resuming it switches the resuming
// goroutine's thread straight to the actor's stack, and parking switches
// back, without the scheduler. Handing a baton over channels instead made
// every switch ready a goroutine, and on a multi-core machine the runtime
// then woke an idle thread to look for work (futex and spinning), which
// cost more CPU than the role code itself.
type task struct {
	id   uint64
	name string
	env  *Env
	co   *coroutine // the stack the task runs on

	parked    bool // waiting inside a blocking call
	scheduled bool // a resume event is queued
	cancelled bool
	killed    bool // its process died: unwind without running more role code
	exiting   bool
	finished  bool
}

// Actor is the handle of a spawned actor.
type Actor struct {
	t    *task
	done Promise[struct{}]
}

// Ctx is what an actor's body receives: its process's Env plus the identity
// the runtime needs to block and resume it. Blocking calls take a *Ctx; a Ctx
// belongs to one actor and must not be shared with another.
type Ctx struct {
	*Env
	t *task
}

// Name returns the actor's name, as given to Spawn.
func (c *Ctx) Name() string { return c.t.name }

// Spawn starts an actor running body. It runs when the loop next schedules
// it, never inside Spawn. The returned Actor's Done future carries body's
// error. Spawning on a dead process returns an actor that is already done.
func (e *Env) Spawn(name string, body func(c *Ctx) error) *Actor {
	a := &Actor{done: NewPromise[struct{}]()}
	if e.dead {
		a.done.Fail(ErrOperationCancelled)
		return a
	}
	e.nextTask++
	t := &task{id: e.nextTask, name: name, env: e}
	a.t = t
	e.tasks[t.id] = t
	co := e.coroutine()
	co.run = func() { runTask(t, a, body) }
	t.co = co
	t.parked, t.scheduled = true, true
	e.loop.at(e.loop.soon(), func() { t.env.loop.resumeTask(t) })
	return a
}

// coroutine is a stack actors run on. When its actor finishes it does not
// exit: it waits, idle, for the process's next Spawn (up to
// maxIdleCoroutines of them), so an actor costs neither a new goroutine nor
// growing a fresh stack again (a client's short actors spent a fifth of
// their CPU in stack growth).
type coroutine struct {
	next  func() (struct{}, bool) // hands the baton to the coroutine until it parks, finishes or idles
	stop  func()                  // ends an idle coroutine
	yield func(struct{}) bool     // hands the baton back to whoever called next
	// run is the actor to run when next resumes an idle coroutine.
	run func()
}

// maxIdleCoroutines bounds the coroutines a process keeps for reuse.
const maxIdleCoroutines = 256

// coroutine returns an idle coroutine of the process, or a new one.
func (e *Env) coroutine() *coroutine {
	if n := len(e.idle); n > 0 {
		co := e.idle[n-1]
		e.idle[n-1] = nil
		e.idle = e.idle[:n-1]
		return co
	}
	co := &coroutine{}
	co.next, co.stop = iter.Pull(func(yield func(struct{}) bool) {
		co.yield = yield
		for {
			run := co.run
			co.run = nil
			run()
			if !co.offer(e) {
				return
			}
			if !yield(struct{}{}) {
				return // stopped while idle
			}
		}
	})
	return co
}

// offer offers the coroutine, whose actor just finished, back to e for
// reuse; it reports whether e took it (a dead process or a full pool does
// not, and the coroutine then exits).
func (co *coroutine) offer(e *Env) bool {
	if e.dead || len(e.idle) >= maxIdleCoroutines {
		return false
	}
	e.idle = append(e.idle, co)
	return true
}

// stopIdleCoroutines ends the coroutines kept for reuse: the process died.
func (e *Env) stopIdleCoroutines() {
	idle := e.idle
	e.idle = nil
	for _, co := range idle {
		co.stop()
	}
}

// errKilled is the panic that unwinds a killed actor's stack, running its
// deferred calls; runTask recovers it. (runtime.Goexit would propagate out
// of the coroutine into the loop that resumed it.)
type errKilled struct{}

// runTask is the body of one actor's coroutine: it runs from the actor's
// first resume until body returns, and the coroutine then hands the baton
// back for good.
func runTask(t *task, a *Actor, body func(c *Ctx) error) {
	t.parked = false
	defer func() {
		t.finished = true
		delete(t.env.tasks, t.id)
	}()
	if t.killed {
		a.done.Fail(ErrOperationCancelled)
		return
	}
	defer func() {
		if t.killed {
			if r := recover(); r != nil && r != (errKilled{}) {
				panic(r)
			}
			a.done.Fail(ErrOperationCancelled)
		}
	}()
	if t.env.loop.virtual {
		// In simulation a panic in role code fails the run (with its seed)
		// instead of killing the simulator; in production it crashes the
		// process, for the supervisor to restart.
		defer func() {
			if t.exiting {
				return // a killed actor unwinding: the deferred call above ends it
			}
			if r := recover(); r != nil {
				err := fmt.Errorf("actor %q on %s panicked: %v\n%s", t.name, t.env.addr, r, debug.Stack())
				t.env.loop.fail(err)
				a.done.Fail(err)
			}
		}()
	}
	c := &Ctx{Env: t.env, t: t}
	err := body(c)
	if t.cancelled && err == nil {
		err = ErrOperationCancelled
	}
	if err != nil {
		a.done.Fail(err)
	} else {
		a.done.Send(struct{}{})
	}
}

func (l *Loop) resumeTask(t *task) {
	t.scheduled = false
	if t.finished || !t.parked {
		return
	}
	l.resume(t)
}

// wake schedules a parked task to resume.
func (t *task) wake() {
	if !t.parked || t.scheduled || t.finished {
		return
	}
	t.scheduled = true
	l := t.env.loop
	l.at(l.soon(), func() { l.resumeTask(t) })
}

// Done returns a future set when the actor's body returns: to nothing on
// success, to its error otherwise (ErrOperationCancelled if cancelled or its
// process died).
func (a *Actor) Done() Future[struct{}] { return a.done.Future() }

// Cancel makes the actor's current and future blocking calls return
// ErrOperationCancelled. An actor that ignores the error and never blocks
// again runs to completion.
func (a *Actor) Cancel() {
	t := a.t
	if t == nil || t.finished || t.cancelled {
		return
	}
	t.cancelled = true
	t.wake()
}

// park gives the baton back to the loop until the task is woken. It returns
// ErrOperationCancelled if the actor was cancelled. If the actor's process
// died, the actor's stack unwinds (running deferred calls) and park never
// returns.
func (c *Ctx) park() error {
	t := c.t
	if err := t.check(); err != nil {
		return err
	}
	t.parked = true
	t.co.yield(struct{}{})
	t.parked = false
	return t.check()
}

func (t *task) check() error {
	if t.killed {
		if !t.exiting {
			t.exiting = true
			panic(errKilled{})
		}
		return ErrOperationCancelled
	}
	if t.cancelled {
		return ErrOperationCancelled
	}
	return nil
}

// waitFor blocks until w is ready.
func (c *Ctx) waitFor(w Waitable) error {
	for !w.ready() {
		reg := w.onReady(c.t.wake)
		err := c.park()
		reg.cancel()
		if err != nil {
			return err
		}
	}
	return nil
}

// Yield lets every other runnable actor run before this one continues.
func (c *Ctx) Yield() error {
	c.loop.at(c.loop.soon(), c.t.wake)
	return c.park()
}

// Sleep blocks the actor for d of the loop's time.
func (c *Ctx) Sleep(d time.Duration) error {
	_, err := Await(c, c.Delay(d))
	return err
}

// Select blocks until at least one of ws is ready and returns the index of
// the first ready one in argument order, so the choice is deterministic.
func Select(c *Ctx, ws ...Waitable) (int, error) {
	for {
		for i, w := range ws {
			if w.ready() {
				return i, nil
			}
		}
		regs := make([]*waiter, len(ws))
		for i, w := range ws {
			regs[i] = w.onReady(c.t.wake)
		}
		err := c.park()
		for _, r := range regs {
			r.cancel()
		}
		if err != nil {
			return -1, err
		}
	}
}

// Blocking runs fn off the baton, so a blocking library call (a Pebble
// commit, a DNS lookup) does not stall the other actors of the process, and
// returns its error. On a virtual loop fn runs inline: simulated code must
// not block.
func (c *Ctx) Blocking(fn func() error) error {
	if c.loop.virtual {
		return fn()
	}
	p := NewPromise[struct{}]()
	l := c.loop
	go func() {
		err := fn()
		_ = l.Post(func() { settle(p, err) })
	}()
	_, err := Await(c, p.Future())
	return err
}

// settle completes p with err, or with success when err is nil.
func settle(p Promise[struct{}], err error) {
	if err != nil {
		p.Fail(err)
	} else {
		p.Send(struct{}{})
	}
}
