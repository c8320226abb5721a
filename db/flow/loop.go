package flow

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// Loop is a scheduler that runs one thing at a time: timed events, posted
// functions and actors. A simulated loop jumps virtual time from event to
// event; a real loop waits on the wall clock and on work posted from other
// goroutines.
type Loop struct {
	virtual bool
	now     int64 // virtual time in Unix nanoseconds (virtual loops only)
	seq     uint64
	events  eventHeap

	// running is the actor holding the baton, if any.
	running *task

	// Real loops only: work handed in by other goroutines.
	mu      sync.Mutex
	inbox   []func()
	wake    chan struct{}
	stopped bool
	// roundEnd runs after every round of a real loop, with the baton.
	roundEnd []func()
	// roundStart is when the real loop's current round began: the time of
	// events due at once (soon).
	roundStart int64

	// executed counts events run, for the simulator's statistics.
	executed uint64
	// failure stops a virtual loop: a panic in an actor.
	failure error
}

func (l *Loop) fail(err error) {
	if l.failure == nil {
		l.failure = err
	}
}

// Failure returns the error that stopped a virtual loop (an actor's panic),
// or nil.
func (l *Loop) Failure() error { return l.failure }

// NewVirtualLoop returns a loop whose clock starts at start and advances only
// when the next event is later than now. It is driven by RunUntil.
func NewVirtualLoop(start time.Time) *Loop {
	return &Loop{virtual: true, now: start.UnixNano()}
}

// NewRealLoop returns a loop driven by the wall clock. It is driven by Run.
func NewRealLoop() *Loop {
	return &Loop{wake: make(chan struct{}, 1)}
}

// Virtual reports whether the loop runs on virtual time.
func (l *Loop) Virtual() bool { return l.virtual }

// Now returns the loop's current time.
func (l *Loop) Now() time.Time { return time.Unix(0, l.nowNanos()) }

func (l *Loop) nowNanos() int64 {
	if l.virtual {
		return l.now
	}
	return time.Now().UnixNano()
}

// soon is the time of an event due at once (an actor woken, a message to
// itself): on a real loop the start of the current round, which is never
// later than now and costs no clock read. Reading the clock at every
// wake-up was 7% of a bench client's CPU on kvm-clock.
func (l *Loop) soon() int64 {
	if l.virtual {
		return l.now
	}
	return l.roundStart
}

// coarseNow is the loop's time to within a round, for bookkeeping that
// happens on every message (when a peer was last heard from).
func (l *Loop) coarseNow() time.Time { return time.Unix(0, l.soon()) }

// Executed returns how many events the loop has run.
func (l *Loop) Executed() uint64 { return l.executed }

// Timer is a scheduled event that can be stopped before it runs.
type Timer struct{ ev *event }

// Stop prevents the timer's function from running if it has not run yet.
func (t *Timer) Stop() {
	if t != nil && t.ev != nil {
		t.ev.fn = nil
	}
}

// At schedules fn to run on the loop at time at (or as soon as possible if
// at has passed). It must be called with the baton (from an actor, an event,
// or a posted function).
func (l *Loop) At(at time.Time, fn func()) *Timer {
	return l.at(at.UnixNano(), fn)
}

// After schedules fn to run d from now.
func (l *Loop) After(d time.Duration, fn func()) *Timer {
	if d <= 0 {
		return l.at(l.soon(), fn)
	}
	return l.at(l.nowNanos()+int64(d), fn)
}

func (l *Loop) at(at int64, fn func()) *Timer {
	l.seq++
	ev := &event{at: at, seq: l.seq, fn: fn}
	heap.Push(&l.events, ev)
	return &Timer{ev: ev}
}

// Post hands fn to the loop from any goroutine. It is how code that does
// not hold the baton (network readers, blocking calls, API callers) reaches
// futures and actors. On a virtual loop it must be called with the baton and
// simply schedules fn now.
func (l *Loop) Post(fn func()) error {
	if l.virtual {
		l.at(l.now, fn)
		return nil
	}
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		return ErrLoopStopped
	}
	l.inbox = append(l.inbox, fn)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	return nil
}

// RunUntil runs a virtual loop until done reports true (checked after every
// event), no events remain, or virtual time would pass deadline. It reports
// whether done became true.
func (l *Loop) RunUntil(deadline time.Time, done func() bool) bool {
	limit := deadline.UnixNano()
	for len(l.events) > 0 && l.failure == nil {
		if done != nil && done() {
			return true
		}
		ev := l.events[0]
		if ev.at > limit {
			l.now = limit
			return false
		}
		heap.Pop(&l.events)
		if ev.at > l.now {
			l.now = ev.at
		}
		l.runEvent(ev)
	}
	return done != nil && done()
}

// Run drives a real loop until ctx is done. Posted functions run in the
// order they were posted, timed events when their time comes.
func (l *Loop) Run(ctx context.Context) error {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var batch []func()
	for {
		l.roundStart = time.Now().UnixNano()
		l.mu.Lock()
		batch, l.inbox = l.inbox, batch[:0]
		l.mu.Unlock()
		for i, fn := range batch {
			fn()
			batch[i] = nil
		}
		l.runDue()
		for _, fn := range l.roundEnd {
			fn()
		}
		if ctx.Err() != nil {
			l.mu.Lock()
			l.stopped = true
			l.mu.Unlock()
			return ctx.Err()
		}
		if l.hasInbox() {
			continue
		}
		wait := time.Hour
		if len(l.events) > 0 {
			wait = time.Duration(l.events[0].at - time.Now().UnixNano())
			if wait <= 0 {
				continue // more are due (some scheduled during this round)
			}
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
		case <-l.wake:
		case <-timer.C:
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// OnRoundEnd makes a real loop call fn, with the baton, after each round
// of posted functions and due events: the transport sends what the round
// queued then, in one write per peer. It must be called before Run.
func (l *Loop) OnRoundEnd(fn func()) { l.roundEnd = append(l.roundEnd, fn) }

func (l *Loop) hasInbox() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.inbox) > 0
}

// runDue runs the real loop's events whose time had come when the round
// began. Events that these events schedule (an actor yielding, a promise
// waking another) wait for the next round, after the inbox is drained:
// otherwise actors that keep each other busy would starve network input
// and blocking-call results.
func (l *Loop) runDue() {
	last := l.seq
	for len(l.events) > 0 {
		ev := l.events[0]
		if ev.at > l.roundStart || ev.seq > last {
			return
		}
		l.runEvent(heap.Pop(&l.events).(*event))
	}
}

func (l *Loop) runEvent(ev *event) {
	if ev.fn == nil {
		return
	}
	l.executed++
	fn := ev.fn
	ev.fn = nil
	fn()
}

// resume hands the baton to t and waits until t parks or finishes. The
// caller may itself be an actor (killing a process hands the baton to each
// of its actors in turn); a coroutine always yields to whoever resumed it.
func (l *Loop) resume(t *task) {
	prev := l.running
	l.running = t
	t.co.next()
	l.running = prev
}

type event struct {
	at  int64
	seq uint64
	fn  func()
}

type eventHeap []*event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(*event)) }
func (h *eventHeap) Pop() any {
	old := *h
	n := len(old)
	ev := old[n-1]
	old[n-1] = nil
	*h = old[:n-1]
	return ev
}
