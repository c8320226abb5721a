// Package storage shows what role code may do: every line here is allowed.
package storage

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// Env is the slice of flow.Env this file needs.
type Env interface {
	Now() time.Time
	Rand() *rand.Rand
}

type server struct {
	env      Env
	lag      time.Duration
	lastSeen time.Time
	reads    atomic.Int64
	initOnce sync.Once
	addr     netip.Addr
}

const pollEvery = 250 * time.Millisecond

func (s *server) tick() {
	s.lastSeen = s.env.Now()
	s.lag = s.env.Now().Sub(s.lastSeen) + pollEvery
	s.reads.Add(1)
	s.initOnce.Do(func() { s.addr = netip.MustParseAddr("10.0.0.1") })
}

func (s *server) pickReplica(n int) int {
	r := s.env.Rand()
	zipf := rand.NewZipf(r, 1.1, 1, uint64(n-1))
	return int(zipf.Uint64()) + r.IntN(1)
}

// roll's parameter shadows the package name inside the body.
func roll(rand *rand.Rand) int { return rand.IntN(6) }

func missing(err error) bool {
	return errors.Is(err, os.ErrNotExist) || os.IsNotExist(err)
}

func perm() os.FileMode { return os.ModePerm & 0o644 }

func path(dir string) string { return filepath.Join(dir, "data") }

func cancelable(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithCancel(ctx)
}

func epoch() time.Time { return time.Unix(0, 0).UTC() }

// wallClock is a sanctioned exception, one per form of the escape hatch.
func wallClock() (time.Time, time.Time) {
	a := time.Now() //lint:allow time this example shows a trailing allow comment
	//lint:allow time this example shows an allow comment on the line above
	b := time.Now()
	return a, b
}
