package flow

import (
	"io"
	"sync/atomic"
	"time"
)

// receiveClock is what the failure monitor asks of a transport that can
// tell when bytes last arrived from a peer. A peer sending one large frame
// (a shard's data, a long peek reply) over a slow or busy connection
// delivers no whole message for as long as the frame takes; counting its
// bytes keeps it from being declared failed meanwhile, as FoundationDB's
// failure monitor counts any bytes received.
type receiveClock interface {
	// sinceReceived is how long ago bytes last arrived from addr; false
	// if none have on any connection.
	sinceReceived(addr Address) (time.Duration, bool)
}

// peerClocks records, per peer, when its connections last delivered bytes,
// on a monotonic clock of its own. Readers update it from their goroutines.
type peerClocks struct {
	base   time.Time
	clocks map[Address]*atomic.Int64 // guarded by the transport's mu
}

func newPeerClocks() peerClocks {
	return peerClocks{base: time.Now(), clocks: map[Address]*atomic.Int64{}}
}

// clock returns addr's clock, creating it; the caller holds the
// transport's mu.
func (p *peerClocks) clock(addr Address) *atomic.Int64 {
	c := p.clocks[addr]
	if c == nil {
		c = new(atomic.Int64)
		p.clocks[addr] = c
	}
	return c
}

func (p *peerClocks) now() int64 { return int64(time.Since(p.base)) }

// clockedReader notes on its clock each read that returns bytes. The clock
// is set once the peer is known (after its hello) by the goroutine that
// reads, so it needs no lock.
type clockedReader struct {
	r     io.Reader
	now   func() int64
	clock *atomic.Int64
}

func (c *clockedReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 && c.clock != nil {
		c.clock.Store(c.now())
	}
	return n, err
}
