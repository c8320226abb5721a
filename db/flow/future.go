package flow

// Waitable is something an actor can wait on: a future or a stream. Only
// this package implements it.
type Waitable interface {
	ready() bool
	onReady(fn func()) *waiter
}

// waiter is a registered wake-up callback; cancelled waiters are skipped.
type waiter struct {
	fn   func()
	dead bool
}

func (w *waiter) cancel() {
	if w != nil {
		w.dead = true
	}
}

// waiters is a list of callbacks fired once when something becomes ready.
type waiters []*waiter

func (ws *waiters) add(fn func()) *waiter {
	if len(*ws) >= 8 {
		ws.compact()
	}
	w := &waiter{fn: fn}
	*ws = append(*ws, w)
	return w
}

func (ws *waiters) compact() {
	live := (*ws)[:0]
	for _, w := range *ws {
		if !w.dead {
			live = append(live, w)
		}
	}
	clear((*ws)[len(live):])
	*ws = live
}

// fire runs every live callback in registration order and empties the list.
func (ws *waiters) fire() {
	list := *ws
	*ws = nil
	for _, w := range list {
		if !w.dead {
			w.dead = true
			w.fn()
		}
	}
}

type futureState[T any] struct {
	set     bool
	val     T
	err     error
	waiters waiters
}

// Promise is the write side of a single-assignment value. The first Send or
// Fail wins; later ones are ignored and report false.
type Promise[T any] struct{ st *futureState[T] }

// Future is the read side of a Promise.
type Future[T any] struct{ st *futureState[T] }

// NewPromise returns an unset promise.
func NewPromise[T any]() Promise[T] { return Promise[T]{st: &futureState[T]{}} }

// Ready returns a future that is already set to v.
func Ready[T any](v T) Future[T] { return Future[T]{st: &futureState[T]{set: true, val: v}} }

// Failed returns a future that is already failed with err.
func Failed[T any](err error) Future[T] { return Future[T]{st: &futureState[T]{set: true, err: err}} }

// Future returns the promise's read side.
func (p Promise[T]) Future() Future[T] { return Future[T]{st: p.st} }

// Send sets the value and wakes the waiters.
func (p Promise[T]) Send(v T) bool {
	if p.st.set {
		return false
	}
	p.st.set, p.st.val = true, v
	p.st.waiters.fire()
	return true
}

// Fail sets an error and wakes the waiters.
func (p Promise[T]) Fail(err error) bool {
	if p.st.set {
		return false
	}
	p.st.set, p.st.err = true, err
	p.st.waiters.fire()
	return true
}

// IsSet reports whether the promise has been sent or failed.
func (p Promise[T]) IsSet() bool { return p.st.set }

// IsReady reports whether the future has a value or an error.
func (f Future[T]) IsReady() bool { return f.st.set }

// Get returns the value or error of a ready future. On a future that is not
// ready yet it returns the zero value and a future_not_ready error; use
// Await to wait.
func (f Future[T]) Get() (T, error) {
	if !f.st.set {
		var zero T
		return zero, errNotReady
	}
	return f.st.val, f.st.err
}

// Err returns the error of a ready future (nil for a value or unready).
func (f Future[T]) Err() error {
	if !f.st.set {
		return nil
	}
	return f.st.err
}

func (f Future[T]) ready() bool { return f.st.set }

func (f Future[T]) onReady(fn func()) *waiter {
	if f.st.set {
		fn()
		return nil
	}
	return f.st.waiters.add(fn)
}

// OnReady calls fn (with the baton) once the future is ready; at once if it
// already is.
func (f Future[T]) OnReady(fn func(T, error)) {
	f.onReady(func() { fn(f.st.val, f.st.err) })
}

var errNotReady = &Error{1102, "future_not_ready"}

// Await blocks the calling actor until f is ready and returns its value.
// It returns ErrOperationCancelled if the actor is cancelled first.
func Await[T any](c *Ctx, f Future[T]) (T, error) {
	if !f.st.set {
		if err := c.waitFor(f); err != nil {
			var zero T
			return zero, err
		}
	}
	return f.st.val, f.st.err
}

// Map returns a future holding fn applied to f's value; errors pass through.
func Map[T, U any](f Future[T], fn func(T) (U, error)) Future[U] {
	p := NewPromise[U]()
	f.OnReady(func(v T, err error) {
		if err != nil {
			p.Fail(err)
			return
		}
		u, err := fn(v)
		if err != nil {
			p.Fail(err)
			return
		}
		p.Send(u)
	})
	return p.Future()
}

// Unless returns a future with f's outcome, unless stop is ready first:
// then it fails with stop's error (ErrOperationCancelled if stop holds a
// value). It is how an operation made of callbacks, which has no actor to
// cancel, gives up waiting when its caller aborts; f's own work goes on.
func Unless[T any](f Future[T], stop Future[struct{}]) Future[T] {
	if f.st.set {
		return f
	}
	if stop.st.set {
		return Failed[T](stopError(stop))
	}
	p := NewPromise[T]()
	w := stop.onReady(func() { p.Fail(stopError(stop)) })
	f.onReady(func() {
		w.cancel()
		if f.st.err != nil {
			p.Fail(f.st.err)
		} else {
			p.Send(f.st.val)
		}
	})
	return p.Future()
}

func stopError(stop Future[struct{}]) error {
	if err := stop.Err(); err != nil {
		return err
	}
	return ErrOperationCancelled
}
