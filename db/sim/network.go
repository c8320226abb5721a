package sim

import (
	"time"

	"github.com/strata-db/strata/db/flow"
)

// network is the simulated network. Each ordered pair of processes is a
// link that behaves like a TCP connection: messages arrive in the order sent,
// after a latency, unless the receiving incarnation died first. Clogging a
// link or a process holds its messages (in order) until the clog ends, which
// is also how partitions are made, as in FoundationDB's simulator.
type network struct {
	s         *Simulation
	links     map[linkKey]*link
	procClogs map[flow.Address]time.Time
}

type linkKey struct{ from, to flow.Address }

type link struct {
	key       linkKey
	latency   time.Duration // base one-way latency of this link
	clogUntil time.Time
	queue     []inflight
	pumping   bool
}

type inflight struct {
	at      time.Time
	token   uint64
	replyTo uint64
	payload []byte
	dstInc  uint64
	srcInc  uint64
}

// clogPoll bounds how long a held message waits before the link checks
// whether its clog was lifted early (by Unclog or a healed partition).
const clogPoll = 50 * time.Millisecond

func newNetwork(s *Simulation) *network {
	return &network{s: s, links: map[linkKey]*link{}, procClogs: map[flow.Address]time.Time{}}
}

func (n *network) link(from, to flow.Address) *link {
	k := linkKey{from, to}
	l := n.links[k]
	if l == nil {
		// Base latency 50us..1ms, decided once per link from the run's seed.
		l = &link{key: k, latency: 50*time.Microsecond + time.Duration(n.s.rng.Int64N(int64(950*time.Microsecond)))}
		if from == to {
			l.latency = 10 * time.Microsecond
		}
		n.links[k] = l
	}
	return l
}

// send queues a message from a process to an endpoint.
func (n *network) send(from *Process, to flow.Endpoint, replyTo uint64, payload []byte) {
	dst := n.s.procs[to.Addr]
	l := n.link(from.Addr, to.Addr)
	if dst == nil || !dst.alive {
		// Nobody listening: the connection is refused.
		n.notifyBroken(from, from.incarnation, to.Addr, l.latency)
		return
	}
	now := n.s.loop.Now()
	delay := l.latency + time.Duration(n.s.rng.Int64N(int64(l.latency)/2+1))
	if n.s.rng.Float64() < 0.001 {
		delay += time.Duration(n.s.rng.Int64N(int64(20 * time.Millisecond))) // rare slow delivery
	}
	at := now.Add(delay)
	if k := len(l.queue); k > 0 && !at.After(l.queue[k-1].at) {
		at = l.queue[k-1].at.Add(time.Nanosecond)
	}
	l.queue = append(l.queue, inflight{
		at: at, token: to.Token, replyTo: replyTo,
		payload: append([]byte(nil), payload...), dstInc: dst.incarnation,
	})
	if !l.pumping {
		l.pumping = true
		n.s.loop.At(at, func() { n.pump(l) })
	}
}

// clogged returns until when messages on l must wait, or the zero time.
func (n *network) clogged(l *link, now time.Time) time.Time {
	until := l.clogUntil
	for _, a := range []flow.Address{l.key.from, l.key.to} {
		if t := n.procClogs[a]; t.After(until) {
			until = t
		}
	}
	if until.After(now) {
		return until
	}
	return time.Time{}
}

// pump delivers the link's due messages in order, holding them while the
// link is clogged.
func (n *network) pump(l *link) {
	now := n.s.loop.Now()
	for len(l.queue) > 0 && !l.queue[0].at.After(now) {
		if until := n.clogged(l, now); !until.IsZero() {
			next := now.Add(clogPoll)
			if until.Before(next) {
				next = until
			}
			n.s.loop.At(next, func() { n.pump(l) })
			return
		}
		m := l.queue[0]
		l.queue[0] = inflight{}
		l.queue = l.queue[1:]
		n.deliver(l.key, m)
	}
	if len(l.queue) == 0 {
		l.pumping = false
		l.queue = nil
		return
	}
	n.s.loop.At(l.queue[0].at, func() { n.pump(l) })
}

func (n *network) deliver(k linkKey, m inflight) {
	dst := n.s.procs[k.to]
	if dst == nil || !dst.alive || dst.incarnation != m.dstInc {
		// The connection died with the incarnation it was made to; the
		// sender learns it as a TCP sender would.
		n.notifyBroken(n.s.procs[k.from], m.srcInc, k.to, n.link(k.from, k.to).latency)
		return
	}
	n.s.tr.delivery(n.s.loop.Now(), k.from, k.to, m.token, m.payload)
	dst.env.Deliver(k.from, m.token, m.replyTo, m.payload)
}

// transport is one process incarnation's view of the network.
type transport struct {
	n    *network
	p    *Process
	inc  uint64
	dead bool
}

func (t *transport) Send(to flow.Endpoint, replyTo uint64, payload []byte) {
	if t.dead || t.p.incarnation != t.inc {
		return
	}
	t.n.send(t.p, to, replyTo, payload)
}

func (t *transport) Close() { t.dead = true }

// notifyBroken tells incarnation inc of p, after latency, that its
// connection to addr broke.
func (n *network) notifyBroken(p *Process, inc uint64, addr flow.Address, latency time.Duration) {
	if p == nil {
		return
	}
	n.s.loop.After(latency, func() {
		if p.alive && p.incarnation == inc {
			p.env.ConnectionFailed(addr)
		}
	})
}

// processDied breaks every connection to and from p: each live process that
// has a link with p hears of it after the link's latency.
func (n *network) processDied(p *Process) {
	for _, q := range n.s.order {
		if q == p || !q.alive {
			continue
		}
		l, out := n.links[linkKey{q.Addr, p.Addr}]
		if !out {
			if l, out = n.links[linkKey{p.Addr, q.Addr}]; !out {
				continue
			}
		}
		n.notifyBroken(q, q.incarnation, p.Addr, l.latency)
	}
}
