package flow

import (
	"context"
	"errors"
	"sync"
)

// This file is the plumbing between goroutines that do not hold a loop's
// baton (API callers honouring contexts) and a RealProcess's loop: work is
// posted to the loop and its result comes back on a channel, so callers
// never touch futures or actors directly.

// ErrProcessStopped is returned when a real process's loop has stopped.
var ErrProcessStopped = errors.New("flow: process stopped")

type result[T any] struct {
	v   T
	err error
}

// Submit runs start on p's loop and waits for the future it returns, or
// for ctx to be done (then the work goes on, unobserved).
func Submit[T any](ctx context.Context, p *RealProcess, start func(e *Env) Future[T]) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	ch := make(chan result[T], 1)
	err := p.loop.Post(func() {
		start(p.env).OnReady(func(v T, err error) { ch <- result[T]{v, err} })
	})
	if err != nil {
		return zero, ErrProcessStopped
	}
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// Go runs body as an actor named name on p's loop and waits for its
// result. If ctx is done first, the actor is cancelled (its blocking flow
// calls return ErrOperationCancelled) and Go returns ctx's error.
func Go[T any](ctx context.Context, p *RealProcess, name string, body func(c *Ctx) (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	ch := make(chan result[T], 1)
	var actor *Actor // written and read on the loop only
	err := p.loop.Post(func() {
		actor = p.env.Spawn(name, func(c *Ctx) error {
			v, err := body(c)
			ch <- result[T]{v, err}
			return nil
		})
		actor.Done().OnReady(func(_ struct{}, err error) {
			if err != nil { // killed before body returned
				select {
				case ch <- result[T]{zero, err}:
				default:
				}
			}
		})
	})
	if err != nil {
		return zero, ErrProcessStopped
	}
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		_ = p.loop.Post(func() { actor.Cancel() })
		return zero, ctx.Err()
	}
}

// Start runs the process's loop on a goroutine of its own. stop ends the
// loop (killing the process's actors) and waits for it; it returns the
// loop's error and may be called more than once.
func (p *RealProcess) Start() (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	var err error
	return func() error {
		once.Do(func() {
			cancel()
			err = <-done
		})
		return err
	}
}
