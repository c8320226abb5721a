package flow

import (
	"math/rand/v2"
	"slices"
	"time"
)

// Locality places a process in the failure-domain hierarchy.
type Locality struct {
	DC       string
	DataHall string
	Zone     string
	Machine  string
}

// Address is a process's network address, "host:port".
type Address string

// EnvConfig is what a runtime supplies to build one process's Env.
type EnvConfig struct {
	Address  Address
	Locality Locality
	// Seed seeds the process's random source. The simulator derives it from
	// the run's seed; the real runtime from the operating system.
	Seed uint64
	// Transport carries messages to other processes.
	Transport Transport
	// FS holds the process's files (its data directory).
	FS FS
	// Buggify decides Buggify sites; nil disables Buggify (production).
	Buggify *Buggify
	// Tracer receives trace events; nil discards them.
	Tracer Tracer
	// Knobs tune the runtime; zero fields take defaults.
	Knobs Knobs
}

// Knobs are the runtime's tunables. The simulator randomises some of them.
type Knobs struct {
	// PingInterval is how often a monitored peer is pinged.
	PingInterval time.Duration
	// FailureTimeout is how long a peer may stay silent before it is
	// declared failed.
	FailureTimeout time.Duration
	// PeerIdleTimeout is how long a peer with no outstanding requests or
	// watchers stays monitored after its last use.
	PeerIdleTimeout time.Duration
}

// EnsureDefaults fills zero knobs with their defaults.
func (k *Knobs) EnsureDefaults() {
	if k.PingInterval == 0 {
		k.PingInterval = 250 * time.Millisecond
	}
	if k.FailureTimeout == 0 {
		k.FailureTimeout = time.Second
	}
	if k.PeerIdleTimeout == 0 {
		k.PeerIdleTimeout = 5 * time.Second
	}
}

// Env is one process's view of the world: everything role code may use for
// time, randomness, actors, network and disk. It belongs to one Loop and is
// used only with that loop's baton.
type Env struct {
	loop     *Loop
	addr     Address
	locality Locality
	rng      *rand.Rand
	fs       FS
	buggify  *Buggify
	tracer   Tracer
	knobs    Knobs
	metrics  *Metrics

	tasks    map[uint64]*task
	nextTask uint64
	// idle are coroutines whose actors finished, kept for the next Spawn.
	idle []*coroutine
	dead bool

	net *netState
}

// NewEnv builds a process on loop. Call it with the loop's baton (or before
// the loop runs).
func NewEnv(loop *Loop, cfg EnvConfig) *Env {
	cfg.Knobs.EnsureDefaults()
	e := &Env{
		loop:     loop,
		addr:     cfg.Address,
		locality: cfg.Locality,
		rng:      rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		fs:       cfg.FS,
		buggify:  cfg.Buggify,
		tracer:   cfg.Tracer,
		knobs:    cfg.Knobs,
		metrics:  NewMetrics(),
		tasks:    map[uint64]*task{},
	}
	e.net = newNetState(e, cfg.Transport)
	return e
}

// Loop returns the loop the process runs on.
func (e *Env) Loop() *Loop { return e.loop }

// Address returns the process's network address.
func (e *Env) Address() Address { return e.addr }

// Locality returns the process's place in the failure-domain hierarchy.
func (e *Env) Locality() Locality { return e.locality }

// Now returns the current time (virtual in simulation).
func (e *Env) Now() time.Time { return e.loop.Now() }

// Rand returns the process's random source, seeded by the runtime. Role code
// must take every random choice from here.
func (e *Env) Rand() *rand.Rand { return e.rng }

// Knobs returns the runtime's tunables.
func (e *Env) Knobs() Knobs { return e.knobs }

// Files returns the process's data directory.
func (e *Env) Files() FS { return e.fs }

// Metrics returns the process's metrics registry.
func (e *Env) Metrics() *Metrics { return e.metrics }

// Alive reports whether the process has not been killed.
func (e *Env) Alive() bool { return !e.dead }

// Delay returns a future set d from now.
func (e *Env) Delay(d time.Duration) Future[struct{}] {
	p := NewPromise[struct{}]()
	if d < 0 {
		d = 0
	}
	e.loop.After(d, func() { p.Send(struct{}{}) })
	return p.Future()
}

// Timeout waits for f for at most d and returns ErrTimedOut if d passes
// first.
func Timeout[T any](c *Ctx, f Future[T], d time.Duration) (T, error) {
	if !f.IsReady() {
		timer := c.Delay(d)
		if _, err := Select(c, f, timer); err != nil {
			var zero T
			return zero, err
		}
		if !f.IsReady() {
			var zero T
			return zero, ErrTimedOut
		}
	}
	return f.Get()
}

// Buggify reports whether the named fault-injection site fires now. It is
// always false outside simulation.
func (e *Env) Buggify(site string) bool {
	return e.buggify.fire(site, 0.25, e.rng)
}

// BuggifyP is Buggify with the firing probability p for an enabled site.
func (e *Env) BuggifyP(site string, p float64) bool {
	return e.buggify.fire(site, p, e.rng)
}

// Kill stops the process: every actor unwinds without running further role
// code, its endpoints close and its transport detaches. It must be called
// with the loop's baton; the simulator calls it, and so does a real process
// shutting down.
func (e *Env) Kill() {
	if e.dead {
		return
	}
	e.dead = true
	e.net.close()
	e.stopIdleCoroutines()
	ids := make([]uint64, 0, len(e.tasks))
	for id := range e.tasks {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	running := e.loop.running
	for _, id := range ids {
		t := e.tasks[id]
		t.killed = true
		if t.parked && t != running {
			t.scheduled = true
			e.loop.resume(t)
		}
	}
}

// SetFiles sets the process's data directory. Runtimes call it once, before
// the process boots, when the FS needs the Env itself (the simulator's disks
// take their latencies from the process's random source).
func (e *Env) SetFiles(fs FS) { e.fs = fs }
