package flow

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/strata-db/strata/db/wire"
)

// tcpTransport is the real Transport: framed messages (db/wire) over TCP.
// Each process dials one connection to every peer it sends to and writes
// only on connections it dialed; it reads frames from every connection,
// dialed or accepted, and hands them to its loop in batches. Messages
// queued for a peer during a round of the loop are written at the round's
// end in one system call, by the loop itself, as FoundationDB's
// FlowTransport flushes its packets once per turn of its run loop. Only
// what the socket cannot take at once is left to the peer's writer
// goroutine: handing every batch to it made a reply wait until the busy
// loop next went idle, since with one core the writer runs only then.
type tcpTransport struct {
	loop     *Loop
	env      *Env // set once, before the listener accepts
	self     Address
	id       string
	ln       net.Listener
	maxFrame int
	trace    func(sev Severity, typ string, details ...Detail)

	mu     sync.Mutex
	peers  map[Address]*tcpPeer
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
	recv   peerClocks

	dirty []*tcpPeer // peers with frames queued this round (the loop's only)
}

// Timeouts of the real transport.
const (
	dialTimeout      = 2 * time.Second
	handshakeTimeout = 5 * time.Second
	maxDialBackoff   = time.Second
)

func newTCPTransport(loop *Loop, ln net.Listener, self Address, id string) *tcpTransport {
	return &tcpTransport{
		loop: loop, ln: ln, self: self, id: id, maxFrame: wire.MaxFrameSize,
		peers: map[Address]*tcpPeer{}, conns: map[net.Conn]struct{}{}, recv: newPeerClocks(),
	}
}

// newConnReader returns a frame reader of conn whose bytes, once clockFor
// names the peer, count as hearing from it.
func (t *tcpTransport) newConnReader(conn net.Conn) (*wire.FrameReader, *clockedReader) {
	cr := &clockedReader{r: conn, now: t.recv.now}
	return wire.NewFrameReader(bufio.NewReaderSize(cr, 64<<10), t.maxFrame), cr
}

// clockFor starts counting cr's bytes as received from addr.
func (t *tcpTransport) clockFor(cr *clockedReader, addr Address) {
	t.mu.Lock()
	cr.clock = t.recv.clock(addr)
	t.mu.Unlock()
}

// sinceReceived implements receiveClock.
func (t *tcpTransport) sinceReceived(addr Address) (time.Duration, bool) {
	t.mu.Lock()
	c := t.recv.clocks[addr]
	t.mu.Unlock()
	if c == nil {
		return 0, false
	}
	return time.Duration(t.recv.now() - c.Load()), true
}

// start begins accepting connections for env.
func (t *tcpTransport) start(env *Env) {
	t.env = env
	t.loop.OnRoundEnd(t.flush)
	t.trace = func(sev Severity, typ string, details ...Detail) {
		_ = t.loop.Post(func() { env.Trace(sev, typ, details...) })
	}
	t.wg.Add(1)
	go t.acceptLoop()
}

func (t *tcpTransport) acceptLoop() {
	defer t.wg.Done()
	for {
		conn, err := t.ln.Accept()
		if err != nil {
			if t.isClosed() {
				return
			}
			t.trace(SevWarn, "AcceptError", D("Error", err.Error()))
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if !t.track(conn) {
			conn.Close()
			return
		}
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			defer t.untrack(conn)
			t.serveAccepted(conn)
		}()
	}
}

func (t *tcpTransport) isClosed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}

func (t *tcpTransport) track(c net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.conns[c] = struct{}{}
	return true
}

func (t *tcpTransport) untrack(c net.Conn) {
	c.Close()
	t.mu.Lock()
	delete(t.conns, c)
	t.mu.Unlock()
}

// serveAccepted answers the peer's hello and reads its frames.
func (t *tcpTransport) serveAccepted(conn net.Conn) {
	r, cr := t.newConnReader(conn)
	_ = conn.SetDeadline(time.Now().Add(handshakeTimeout))
	peer, err := t.readHello(r)
	if err == nil {
		t.clockFor(cr, peer)
		err = t.writeHello(conn)
	}
	if err != nil {
		t.trace(SevWarn, "HandshakeFailed", D("Remote", conn.RemoteAddr().String()), D("Error", err.Error()))
		return
	}
	_ = conn.SetDeadline(time.Time{})
	if err := t.readFrames(r, peer); err != nil && !t.isClosed() {
		t.trace(SevInfo, "ConnectionClosed", D("Peer", peer), D("Error", err.Error()))
	}
}

func (t *tcpTransport) writeHello(w io.Writer) error {
	body, err := wire.MarshalHello(wire.NewHello(wire.CurrentProtocol, string(t.self), t.id))
	if err != nil {
		return err
	}
	frame, err := wire.AppendFrame(nil, wire.Frame{Kind: wire.FrameHello, Payload: body})
	if err != nil {
		return err
	}
	_, err = w.Write(frame)
	return err
}

// readHello reads and checks the peer's handshake and returns its address.
func (t *tcpTransport) readHello(r *wire.FrameReader) (Address, error) {
	f, err := r.Next()
	if err != nil {
		return "", fmt.Errorf("reading hello: %w", err)
	}
	if f.Kind != wire.FrameHello {
		return "", fmt.Errorf("first frame is %v, want hello: %w", f.Kind, wire.ErrMalformed)
	}
	h, err := wire.UnmarshalHello(f.Payload)
	if err != nil {
		return "", err
	}
	if _, err := wire.Negotiate(wire.CurrentProtocol, h.Protocol()); err != nil {
		return "", err
	}
	return Address(h.GetListenAddress()), nil
}

// inboundFrame is a decoded message with its payload copied out of the
// reader's buffer.
type inboundFrame struct {
	token, replyTo uint64
	payload        []byte
}

// readFrames decodes frames until the connection fails, handing each
// read's worth of frames to the loop as one batch. A malformed frame ends
// the connection with an error; it never reaches role code.
func (t *tcpTransport) readFrames(r *wire.FrameReader, from Address) error {
	var batch []inboundFrame
	for {
		f, err := r.Next()
		if err != nil {
			return err
		}
		if f.Kind != wire.FrameMessage {
			if f.Kind == wire.FrameHello {
				return fmt.Errorf("second hello from %s: %w", from, wire.ErrMalformed)
			}
			continue // pings and pongs carry nothing for the loop
		}
		batch = append(batch, inboundFrame{token: f.Token, replyTo: f.ReplyTo, payload: append([]byte(nil), f.Payload...)})
		if r.FrameBuffered() && len(batch) < 1024 {
			continue
		}
		b := batch
		batch = nil
		if err := t.loop.Post(func() {
			for _, m := range b {
				t.env.Deliver(from, m.token, m.replyTo, m.payload)
			}
		}); err != nil {
			return err
		}
	}
}

// Send implements Transport. It is called with the loop's baton.
func (t *tcpTransport) Send(to Endpoint, replyTo uint64, payload []byte) {
	if to.Addr == t.self {
		msg := append([]byte(nil), payload...)
		t.loop.at(t.loop.soon(), func() { t.env.Deliver(t.self, to.Token, replyTo, msg) })
		return
	}
	p := t.peer(to.Addr)
	if p == nil {
		return
	}
	p.enqueue(wire.Frame{Kind: wire.FrameMessage, Token: to.Token, ReplyTo: replyTo, Payload: payload})
}

func (t *tcpTransport) peer(a Address) *tcpPeer {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil
	}
	p := t.peers[a]
	if p == nil {
		p = &tcpPeer{t: t, addr: a}
		p.cond = sync.NewCond(&p.mu)
		t.peers[a] = p
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			p.run()
		}()
	}
	return p
}

// Close implements Transport: it stops accepting, closes every connection
// and waits for the transport's goroutines.
func (t *tcpTransport) Close() {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	t.closed = true
	t.ln.Close()
	for c := range t.conns {
		c.Close()
	}
	peers := t.peers
	t.mu.Unlock()
	for _, p := range peers {
		p.close()
	}
}

// wait blocks until every goroutine of the transport has exited.
func (t *tcpTransport) wait() { t.wg.Wait() }

// flush sends what this round queued, at the round's end, with the baton.
func (t *tcpTransport) flush() {
	for i, p := range t.dirty {
		p.dirty = false
		p.flush()
		t.dirty[i] = nil
	}
	t.dirty = t.dirty[:0]
}

// tcpPeer is the outgoing side towards one peer: a queue of encoded frames
// and the goroutine that dials and writes them.
type tcpPeer struct {
	t    *tcpTransport
	addr Address

	dirty bool // queued frames this round; in t.dirty (the loop's only)

	mu      sync.Mutex
	cond    *sync.Cond
	pending []byte
	spare   []byte
	raw     syscall.RawConn // the connection the writer set up, if any
	writing bool            // the loop or the writer is writing pending bytes
	broken  bool            // the current connection failed; the writer must redial
	closed  bool
}

// enqueue queues f for the end of the round. It is called with the baton.
func (p *tcpPeer) enqueue(f wire.Frame) {
	p.mu.Lock()
	var err error
	p.pending, err = wire.AppendFrame(p.pending, f)
	p.mu.Unlock()
	if err != nil {
		p.t.env.Trace(SevWarnAlw, "MessageTooLarge", D("Peer", p.addr), D("Bytes", len(f.Payload)))
		return
	}
	if !p.dirty {
		p.dirty = true
		p.t.dirty = append(p.t.dirty, p)
	}
}

// flush writes the queued frames without blocking, with the baton, and
// leaves whatever the socket did not take (or the dialling, when there is
// no connection yet) to the writer goroutine. Only the loop queues frames,
// so nothing is queued behind the bytes in flight while it writes.
func (p *tcpPeer) flush() {
	p.mu.Lock()
	if p.writing || p.raw == nil || p.broken || p.closed || len(p.pending) == 0 {
		p.mu.Unlock()
		p.cond.Signal()
		return
	}
	batch, raw := p.pending, p.raw
	p.pending, p.writing = p.spare[:0], true
	p.mu.Unlock()
	n := writeNonblocking(raw, batch)
	p.mu.Lock()
	p.writing = false
	p.pending = append(p.pending, batch[n:]...)
	p.spare = batch[:0]
	rest := len(p.pending) > 0
	p.mu.Unlock()
	if rest {
		p.cond.Signal()
	}
}

// writeNonblocking writes what the socket takes of b now and returns how
// many bytes that was; a full socket or an error writes nothing, for the
// writer goroutine to wait out or report.
func writeNonblocking(raw syscall.RawConn, b []byte) int {
	n := 0
	err := raw.Write(func(fd uintptr) bool {
		n, _ = syscall.Write(int(fd), b)
		return true // never wait for the socket: the writer goroutine does that
	})
	if err != nil || n < 0 {
		return 0
	}
	return n
}

func (p *tcpPeer) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.cond.Broadcast()
}

// run dials the peer, writes queued frames, and redials after a failure
// with jittered backoff. Frames queued while the peer is unreachable are
// dropped and the loop is told the connection failed, so requests fail fast
// instead of hanging.
func (p *tcpPeer) run() {
	backoff := 10 * time.Millisecond
	for {
		if !p.waitPending() {
			return
		}
		conn, err := p.connect()
		if err != nil {
			p.dropPending()
			p.connectionFailed(err)
			if errors.Is(err, syscall.ECONNREFUSED) {
				p.refused()
			}
			time.Sleep(backoff/2 + rand.N(backoff/2+1))
			backoff = min(2*backoff, maxDialBackoff)
			continue
		}
		backoff = 10 * time.Millisecond
		err = p.writeLoop(conn)
		p.mu.Lock()
		p.raw = nil
		p.mu.Unlock()
		conn.Close() // waits for a write of the loop's in progress
		if p.isClosed() {
			return
		}
		p.dropPending()
		p.connectionFailed(err)
	}
}

func (p *tcpPeer) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// waitPending blocks until there is something to send; false means closed.
func (p *tcpPeer) waitPending() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.pending) == 0 && !p.closed {
		p.cond.Wait()
	}
	return !p.closed
}

func (p *tcpPeer) dropPending() {
	p.mu.Lock()
	p.pending = p.pending[:0]
	p.mu.Unlock()
}

// refused tells the loop that nothing listens at the peer's address: the
// process is down now (a restarted one would have accepted), so the
// failure monitor need not wait out its silence timeout.
func (p *tcpPeer) refused() {
	t := p.t
	addr := p.addr
	_ = t.loop.Post(func() { t.env.PeerRefused(addr) })
}

func (p *tcpPeer) connectionFailed(err error) {
	t := p.t
	addr := p.addr
	_ = t.loop.Post(func() {
		t.env.Trace(SevInfo, "PeerConnectionFailed", D("Peer", addr), D("Error", err.Error()))
		t.env.ConnectionFailed(addr)
	})
}

// connect dials and handshakes, and starts a reader that watches the
// connection (and accepts frames on it too).
func (p *tcpPeer) connect() (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", string(p.addr))
	if err != nil {
		return nil, err
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	if !p.t.track(conn) {
		conn.Close()
		return nil, errors.New("transport closed")
	}
	_ = conn.SetDeadline(time.Now().Add(handshakeTimeout))
	r, cr := p.t.newConnReader(conn)
	p.t.clockFor(cr, p.addr)
	if err := p.t.writeHello(conn); err != nil {
		p.t.untrack(conn)
		return nil, fmt.Errorf("sending hello to %s: %w", p.addr, err)
	}
	if _, err := p.t.readHello(r); err != nil {
		p.t.untrack(conn)
		return nil, fmt.Errorf("handshake with %s: %w", p.addr, err)
	}
	_ = conn.SetDeadline(time.Time{})
	p.mu.Lock()
	p.broken = false
	p.mu.Unlock()
	p.t.wg.Add(1)
	go func() {
		defer p.t.wg.Done()
		defer p.t.untrack(conn)
		_ = p.t.readFrames(r, p.addr)
		p.mu.Lock()
		p.broken = true
		p.mu.Unlock()
		p.cond.Broadcast()
	}()
	return conn, nil
}

// writeLoop lets the loop write on conn, and itself writes batches of
// queued frames the loop left (a full socket), until the connection breaks
// or the peer is closed.
func (p *tcpPeer) writeLoop(conn net.Conn) error {
	raw, err := conn.(syscall.Conn).SyscallConn()
	if err != nil {
		return fmt.Errorf("connection to %s: %w", p.addr, err)
	}
	p.mu.Lock()
	p.raw = raw
	p.mu.Unlock()
	for {
		p.mu.Lock()
		for (len(p.pending) == 0 || p.writing) && !p.closed && !p.broken {
			p.cond.Wait()
		}
		if p.closed {
			p.mu.Unlock()
			return nil
		}
		if p.broken {
			p.mu.Unlock()
			return errors.New("connection closed by peer")
		}
		batch := p.pending
		p.pending, p.writing = p.spare[:0], true
		p.mu.Unlock()
		_, err := conn.Write(batch)
		p.mu.Lock()
		p.spare, p.writing = batch[:0], false
		p.mu.Unlock()
		if err != nil {
			return err
		}
	}
}
