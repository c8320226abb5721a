package flow

import "time"

// peer is the failure monitor's view of one remote process. A peer is
// pinged while it has outstanding requests or watchers, or was used within
// PeerIdleTimeout; it is declared failed when nothing has been heard from it
// for FailureTimeout (no message, and, on a transport that can tell, no
// bytes of one), and available again as soon as a message arrives.
type peer struct {
	addr        Address
	failed      bool
	lastHeard   time.Time
	lastUsed    time.Time
	outstanding map[uint64]func(error)
	watchers    int
	pinging     bool
	change      Promise[struct{}]
}

// peer returns the monitor's record for a, creating it (available) and
// starting its pinger as needed, and marks it used.
func (n *netState) peer(a Address) *peer {
	e := n.env
	p := n.peers[a]
	if p == nil {
		p = &peer{addr: a, lastHeard: e.loop.coarseNow(), outstanding: map[uint64]func(error){}, change: NewPromise[struct{}]()}
		n.peers[a] = p
	}
	p.lastUsed = e.loop.coarseNow()
	if !p.pinging && a != e.addr && !n.closed {
		p.pinging = true
		e.Spawn("FailureMonitor "+string(a), func(c *Ctx) error { return p.monitor(c) })
	}
	return p
}

func (p *peer) idle(e *Env) bool {
	return len(p.outstanding) == 0 && p.watchers == 0 && e.Now().Sub(p.lastUsed) > e.knobs.PeerIdleTimeout
}

// monitor is the pinger actor of one peer.
func (p *peer) monitor(c *Ctx) error {
	defer func() { p.pinging = false }()
	k := c.knobs
	for !p.idle(c.Env) {
		ping := request(c.Env, Endpoint{Addr: p.addr, Token: TokenPing}, nil, decodeEmpty, false, k.FailureTimeout)
		ping.OnReady(func(_ struct{}, err error) {
			if err == nil {
				p.heard(c.Env)
			}
		})
		if err := c.Sleep(k.PingInterval); err != nil {
			return err
		}
		if !p.failed && c.Now().Sub(p.lastHeard) > k.FailureTimeout && !p.receiving(c.Env, k.FailureTimeout) {
			p.markFailed(c.Env)
		}
	}
	return nil
}

// receiving reports whether the transport received bytes from the peer
// within d, though no whole message: a large frame is on its way.
func (p *peer) receiving(e *Env, d time.Duration) bool {
	rc, ok := e.net.tr.(receiveClock)
	if !ok {
		return false
	}
	since, ok := rc.sinceReceived(p.addr)
	return ok && since <= d
}

func decodeEmpty([]byte) (struct{}, error) { return struct{}{}, nil }

func (p *peer) heard(e *Env) {
	p.lastHeard = e.loop.coarseNow()
	if p.failed {
		p.failed = false
		e.Trace(SevInfo, "PeerAvailable", D("Peer", p.addr))
		p.fireChange()
	}
}

func (p *peer) markFailed(e *Env) {
	p.failed = true
	e.Trace(SevWarn, "PeerFailed", D("Peer", p.addr), D("SilentFor", e.Now().Sub(p.lastHeard)))
	for _, tok := range sortedTokens(p.outstanding) {
		fail := p.outstanding[tok]
		delete(p.outstanding, tok)
		fail(ErrRequestMaybeDelivered)
	}
	p.fireChange()
}

func (p *peer) fireChange() {
	old := p.change
	p.change = NewPromise[struct{}]()
	old.Send(struct{}{})
}

// IsFailed reports whether the failure monitor currently considers addr
// failed. A peer never contacted is not failed.
func (e *Env) IsFailed(addr Address) bool {
	p := e.net.peers[addr]
	return p != nil && p.failed
}

// WaitFailure blocks until the failure monitor declares addr failed,
// monitoring it meanwhile.
func (e *Env) WaitFailure(c *Ctx, addr Address) error {
	return e.waitPeer(c, addr, true)
}

// WaitAvailable blocks until addr is not considered failed, monitoring it
// meanwhile.
func (e *Env) WaitAvailable(c *Ctx, addr Address) error {
	return e.waitPeer(c, addr, false)
}

func (e *Env) waitPeer(c *Ctx, addr Address, failed bool) error {
	p := e.net.peer(addr)
	p.watchers++
	defer func() { p.watchers-- }()
	for p.failed != failed {
		if _, err := Await(c, p.change.Future()); err != nil {
			return err
		}
	}
	return nil
}

// ConnectionFailed tells the process that its connection to addr broke (the
// peer died or refused the connection). Every outstanding request to addr
// fails with request_maybe_delivered: it may have run before the break. The
// peer is not declared failed, since a restarted peer may already be back.
// Transports call it with the loop's baton.
func (e *Env) ConnectionFailed(addr Address) {
	p := e.net.peers[addr]
	if p == nil || len(p.outstanding) == 0 {
		return
	}
	e.Trace(SevInfo, "ConnectionFailed", D("Peer", addr), D("Outstanding", len(p.outstanding)))
	for _, tok := range sortedTokens(p.outstanding) {
		fail := p.outstanding[tok]
		delete(p.outstanding, tok)
		fail(ErrRequestMaybeDelivered)
	}
}

// PeerRefused tells the failure monitor that a connection to addr was
// refused: nothing listens there, so the peer is declared failed at once
// rather than after FailureTimeout of silence. Its next answer clears it.
// Transports call it with the loop's baton.
func (e *Env) PeerRefused(addr Address) {
	p := e.net.peers[addr]
	if p == nil || p.failed {
		return
	}
	p.markFailed(e)
}
