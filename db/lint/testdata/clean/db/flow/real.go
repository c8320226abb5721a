// Package flow is the real runtime: it may use the clock, goroutines,
// channels and locks, because it is what role code reaches them through.
package flow

import (
	"net"
	"os"
	"sync"
	"time"
)

type runtime struct {
	mu    sync.Mutex
	wake  chan struct{}
	start time.Time
	conn  net.Conn
}

func (r *runtime) run() {
	r.start = time.Now()
	go func() { r.wake <- struct{}{} }()
	select {
	case <-r.wake:
	case <-time.After(time.Second):
	}
	_, _ = os.ReadFile("/proc/self/stat")
}
