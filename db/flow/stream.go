package flow

// PromiseStream is the write side of an unbounded, ordered, local queue.
type PromiseStream[T any] struct{ st *streamState[T] }

// FutureStream is the read side of a PromiseStream.
type FutureStream[T any] struct{ st *streamState[T] }

type streamState[T any] struct {
	queue   []T
	head    int
	err     error // set when closed
	closed  bool
	waiters waiters
}

// NewPromiseStream returns an open, empty stream.
func NewPromiseStream[T any]() PromiseStream[T] {
	return PromiseStream[T]{st: &streamState[T]{}}
}

// Stream returns the read side.
func (p PromiseStream[T]) Stream() FutureStream[T] { return FutureStream[T]{st: p.st} }

// Send appends v; sends after Close are dropped.
func (p PromiseStream[T]) Send(v T) {
	if p.st.closed {
		return
	}
	p.st.queue = append(p.st.queue, v)
	p.st.waiters.fire()
}

// Close ends the stream: once drained, Next returns err (ErrBrokenPromise if
// err is nil).
func (p PromiseStream[T]) Close(err error) {
	if p.st.closed {
		return
	}
	if err == nil {
		err = ErrBrokenPromise
	}
	p.st.closed, p.st.err = true, err
	p.st.waiters.fire()
}

// Len returns the number of queued items.
func (f FutureStream[T]) Len() int { return len(f.st.queue) - f.st.head }

func (f FutureStream[T]) ready() bool { return f.Len() > 0 || f.st.closed }

func (f FutureStream[T]) onReady(fn func()) *waiter {
	if f.ready() {
		fn()
		return nil
	}
	return f.st.waiters.add(fn)
}

// TryNext pops an item without blocking.
func (f FutureStream[T]) TryNext() (T, bool) {
	var zero T
	if f.Len() == 0 {
		return zero, false
	}
	s := f.st
	v := s.queue[s.head]
	s.queue[s.head] = zero
	s.head++
	if s.head == len(s.queue) {
		s.queue, s.head = s.queue[:0], 0
	} else if s.head > 1024 && s.head*2 > len(s.queue) {
		n := copy(s.queue, s.queue[s.head:])
		clear(s.queue[n:])
		s.queue, s.head = s.queue[:n], 0
	}
	return v, true
}

// Next blocks the actor until an item is available and pops it, or returns
// the close error once the stream is closed and drained.
func (f FutureStream[T]) Next(c *Ctx) (T, error) {
	if err := c.waitFor(f); err != nil {
		var zero T
		return zero, err
	}
	if v, ok := f.TryNext(); ok {
		return v, nil
	}
	var zero T
	return zero, f.st.err
}
