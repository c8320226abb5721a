package remote

import (
	"context"
	"time"
)

// ServeMuxInTest makes p start its connection-keeping process as a
// goroutine of the test (ServeMux with ctx) instead of a command; the
// returned channel gets ServeMux's result.
func ServeMuxInTest(ctx context.Context, p *Pool) <-chan error {
	done := make(chan error, 1)
	p.mux.start = func(socket string, persist time.Duration) error {
		go func() { done <- ServeMux(ctx, socket, persist) }()
		return nil
	}
	return done
}
