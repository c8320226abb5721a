package flow

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"sync"
)

// RealConfig configures a process on the real runtime.
type RealConfig struct {
	// ListenAddress is where to accept connections, "host:port"; port 0
	// picks a free one.
	ListenAddress string
	// PublicAddress is the address peers dial; empty means the listener's
	// actual address.
	PublicAddress string
	// DataDir holds the process's files; empty means no files.
	DataDir string
	// ProcessID names the process in handshakes and traces.
	ProcessID string
	Locality  Locality
	Knobs     Knobs
	// Tracer receives trace events; nil discards them.
	Tracer Tracer
}

// RealProcess is one process on the real runtime: a loop on the wall clock,
// a TCP transport and a data directory.
type RealProcess struct {
	loop *Loop
	env  *Env
	tr   *tcpTransport
}

// NewRealProcess listens and builds the process's Env. Nothing runs until
// Run is called; use Do to spawn the process's actors.
func NewRealProcess(cfg RealConfig) (*RealProcess, error) {
	ln, err := net.Listen("tcp", cfg.ListenAddress)
	if err != nil {
		return nil, fmt.Errorf("flow: listening on %s: %w", cfg.ListenAddress, err)
	}
	public := cfg.PublicAddress
	if public == "" {
		public = ln.Addr().String()
	}
	var fs FS
	if cfg.DataDir != "" {
		if fs, err = NewOSFS(cfg.DataDir); err != nil {
			ln.Close()
			return nil, err
		}
	}
	var seed [8]byte
	if _, err := crand.Read(seed[:]); err != nil {
		ln.Close()
		return nil, fmt.Errorf("flow: seeding: %w", err)
	}
	loop := NewRealLoop()
	tr := newTCPTransport(loop, ln, Address(public), cfg.ProcessID)
	env := NewEnv(loop, EnvConfig{
		Address: Address(public), Locality: cfg.Locality, Seed: binary.LittleEndian.Uint64(seed[:]),
		Transport: tr, FS: fs, Tracer: cfg.Tracer, Knobs: cfg.Knobs,
	})
	tr.start(env)
	return &RealProcess{loop: loop, env: env, tr: tr}, nil
}

// Address returns the address peers reach the process at.
func (p *RealProcess) Address() Address { return p.env.addr }

// Do runs fn on the process's loop with the baton (for example to spawn
// actors) and returns without waiting for it.
func (p *RealProcess) Do(fn func(e *Env)) error {
	return p.loop.Post(func() { fn(p.env) })
}

// Call runs fn on the loop and waits for it, or for ctx.
func (p *RealProcess) Call(ctx context.Context, fn func(e *Env)) error {
	done := make(chan struct{})
	if err := p.loop.Post(func() { fn(p.env); close(done) }); err != nil {
		return err
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run drives the process until ctx is done, then stops every actor and
// closes the transport.
func (p *RealProcess) Run(ctx context.Context) error {
	err := p.loop.Run(ctx)
	p.env.Kill()
	p.tr.wait()
	if c, ok := p.env.Files().(io.Closer); ok {
		_ = c.Close() // the syncs in flight are waited for; new ones cannot start
	}
	if err == context.Canceled || err == context.DeadlineExceeded {
		return nil
	}
	return err
}

// JSONTracer writes trace events as JSON lines, at or above a severity.
type JSONTracer struct {
	mu  sync.Mutex
	enc *json.Encoder
	min Severity
}

// NewJSONTracer returns a tracer writing to w.
func NewJSONTracer(w io.Writer, min Severity) *JSONTracer {
	return &JSONTracer{enc: json.NewEncoder(w), min: min}
}

// Trace implements Tracer.
func (t *JSONTracer) Trace(ev TraceEvent) {
	if ev.Severity < t.min {
		return
	}
	m := make(map[string]any, len(ev.Details)+4)
	for _, d := range ev.Details {
		if err, ok := d.Value.(error); ok {
			// Errors have no exported fields: JSON would show {}.
			m[d.Key] = err.Error()
			continue
		}
		m[d.Key] = d.Value
	}
	m["Time"] = ev.Time.UTC().Format("2006-01-02T15:04:05.000000Z")
	m["Severity"] = ev.Severity.String()
	m["Type"] = ev.Type
	m["Machine"] = string(ev.Address)
	t.mu.Lock()
	defer t.mu.Unlock()
	_ = t.enc.Encode(m)
}

// LocalAddressToward returns this machine's IP address on the route to
// addr ("host:port"). Peers answer a process by dialling its listen
// address, so a client talking to a remote cluster must listen on an
// address the cluster can reach, not on loopback. No packet is sent.
func LocalAddressToward(addr string) (string, error) {
	conn, err := net.Dial("udp", addr)
	if err != nil {
		return "", fmt.Errorf("flow: no route to %s: %w", addr, err)
	}
	defer conn.Close()
	return conn.LocalAddr().(*net.UDPAddr).IP.String(), nil
}

// ListenAddressToward is a listen address ("ip:0", any port) on the route
// to addr, or the loopback address when there is no route.
func ListenAddressToward(addr string) string {
	ip, err := LocalAddressToward(addr)
	if err != nil {
		ip = "127.0.0.1"
	}
	return net.JoinHostPort(ip, "0")
}
