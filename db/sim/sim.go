package sim

import (
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/strata-db/strata/db/flow"
)

// Epoch is virtual time zero of every run.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Options shape a Simulation.
type Options struct {
	// Buggify enables Buggify sites and randomised knobs.
	Buggify bool
	// TraceOut, if set, receives every trace event as a line of text.
	TraceOut io.Writer
	// KeepEvents is how many recent events a failure report shows.
	KeepEvents int
}

// Simulation is one simulated cluster run.
type Simulation struct {
	seed    uint64
	opts    Options
	loop    *flow.Loop
	rng     *rand.Rand
	buggify *flow.Buggify
	knobs   flow.Knobs
	tr      *tracer
	net     *network

	machines []*Machine
	procs    map[flow.Address]*Process
	order    []*Process // creation order, for deterministic iteration
	ctl      *flow.Env
	started  time.Time
}

// Machine is a simulated computer with a place in the fault-domain tree.
type Machine struct {
	ID        string
	Locality  flow.Locality
	Processes []*Process
	index     int
}

// BootFunc starts a process: it spawns the process's actors on env. It runs
// at first start and at every reboot, with the disk as the crash left it.
type BootFunc func(env *flow.Env)

// Process is a simulated server process on a machine.
type Process struct {
	Addr    flow.Address
	Machine *Machine

	sim         *Simulation
	boot        BootFunc
	env         *flow.Env
	disk        *disk
	alive       bool
	incarnation uint64
	rebooting   bool
}

// New returns an empty simulation decided by seed.
func New(seed uint64, opts Options) *Simulation {
	if opts.KeepEvents == 0 {
		opts.KeepEvents = 40
	}
	s := &Simulation{
		seed:    seed,
		opts:    opts,
		loop:    flow.NewVirtualLoop(Epoch),
		rng:     rand.New(rand.NewPCG(seed, 0x5157)),
		procs:   map[flow.Address]*Process{},
		started: time.Now(),
	}
	s.tr = newTracer(opts.KeepEvents, opts.TraceOut)
	s.net = newNetwork(s)
	if opts.Buggify {
		s.buggify = flow.NewBuggify(seed ^ 0xb0661f7)
		s.knobs = randomKnobs(s.rng)
	}
	s.knobs.EnsureDefaults()
	s.ctl = flow.NewEnv(s.loop, flow.EnvConfig{
		Address: "sim:0", Seed: s.rng.Uint64(), Buggify: s.buggify, Tracer: s.tr, Knobs: s.knobs,
	})
	s.tr.record(fmt.Sprintf("seed %d buggify %v knobs %+v", seed, opts.Buggify, s.knobs))
	return s
}

// randomKnobs varies the runtime's tunables per run, as FoundationDB's
// simulator randomises knobs, within ranges the runtime must work with.
func randomKnobs(rng *rand.Rand) flow.Knobs {
	k := flow.Knobs{}
	if rng.IntN(2) == 0 {
		k.PingInterval = time.Duration(100+rng.IntN(400)) * time.Millisecond
		k.FailureTimeout = k.PingInterval*2 + time.Duration(rng.IntN(1500))*time.Millisecond
		k.PeerIdleTimeout = time.Duration(1+rng.IntN(10)) * time.Second
	}
	return k
}

// Seed returns the seed that decides this run.
func (s *Simulation) Seed() uint64 { return s.seed }

// Rand returns the simulation's own random source (for test drivers and
// fault schedules; processes have their own).
func (s *Simulation) Rand() *rand.Rand { return s.rng }

// Now returns the virtual time.
func (s *Simulation) Now() time.Time { return s.loop.Now() }

// Elapsed returns the virtual time since the run began.
func (s *Simulation) Elapsed() time.Duration { return s.loop.Now().Sub(Epoch) }

// Knobs returns the run's runtime knobs.
func (s *Simulation) Knobs() flow.Knobs { return s.knobs }

// Buggify returns the run's Buggify state (nil when disabled).
func (s *Simulation) Buggify() *flow.Buggify { return s.buggify }

// Controller returns an Env that is part of no machine and never dies, for
// test drivers and fault schedules to spawn actors on. It has no network.
func (s *Simulation) Controller() *flow.Env { return s.ctl }

// TraceHash returns the hash of everything the run did so far.
func (s *Simulation) TraceHash() uint64 { return s.tr.sum() }

// Events returns how many events the loop ran.
func (s *Simulation) Events() uint64 { return s.loop.Executed() }

// RecentEvents returns the last traced events, oldest first.
func (s *Simulation) RecentEvents() []string { return slices.Clone(s.tr.recent) }

// Note records a line in the trace (and its hash).
func (s *Simulation) Note(format string, args ...any) {
	s.tr.record(fmt.Sprintf("%d note ", s.loop.Now().UnixNano()) + fmt.Sprintf(format, args...))
}

// AddMachine adds a machine with the given locality. An empty Machine id
// defaults to the machine's generated id, an empty Zone to the machine id.
func (s *Simulation) AddMachine(loc flow.Locality) *Machine {
	m := &Machine{ID: fmt.Sprintf("m%d", len(s.machines)+1), index: len(s.machines) + 1}
	if loc.Machine == "" {
		loc.Machine = m.ID
	}
	if loc.Zone == "" {
		loc.Zone = loc.Machine
	}
	m.Locality = loc
	s.machines = append(s.machines, m)
	return m
}

// Machines returns the machines in creation order.
func (s *Simulation) Machines() []*Machine { return slices.Clone(s.machines) }

// Processes returns every process in creation order.
func (s *Simulation) Processes() []*Process { return slices.Clone(s.order) }

// Process returns the process at addr, or nil.
func (s *Simulation) Process(addr flow.Address) *Process { return s.procs[addr] }

// AddProcess adds a process listening on port to m and boots it.
func (s *Simulation) AddProcess(m *Machine, port int, boot BootFunc) *Process {
	addr := flow.Address(fmt.Sprintf("10.0.%d.%d:%d", m.index/250, m.index%250+1, port))
	if s.procs[addr] != nil {
		panic(fmt.Sprintf("sim: two processes at %s", addr)) // a bug in the test's setup, not input
	}
	p := &Process{Addr: addr, Machine: m, sim: s, boot: boot, disk: newDisk(s.rng)}
	m.Processes = append(m.Processes, p)
	s.procs[addr] = p
	s.order = append(s.order, p)
	p.start()
	return p
}

// Env returns the current incarnation's Env (nil while dead).
func (p *Process) Env() *flow.Env {
	if !p.alive {
		return nil
	}
	return p.env
}

// Alive reports whether the process is running.
func (p *Process) Alive() bool { return p.alive }

func (p *Process) start() {
	s := p.sim
	p.incarnation++
	p.alive = true
	tr := &transport{n: s.net, p: p, inc: p.incarnation}
	p.env = flow.NewEnv(s.loop, flow.EnvConfig{
		Address: p.Addr, Locality: p.Machine.Locality, Seed: s.rng.Uint64(),
		Transport: tr, Buggify: s.buggify, Tracer: s.tr, Knobs: s.knobs,
	})
	p.env.SetFiles(&fs{d: p.disk, env: p.env})
	s.tr.record(fmt.Sprintf("%d start %s incarnation %d", s.loop.Now().UnixNano(), p.Addr, p.incarnation))
	p.boot(p.env)
}

// Run advances the simulation until done reports true or d of virtual time
// passes; it reports whether done became true.
func (s *Simulation) Run(d time.Duration, done func() bool) bool {
	return s.loop.RunUntil(s.loop.Now().Add(d), done)
}

// shutdown kills every process and the controller so that no actor
// goroutine outlives the run.
func (s *Simulation) shutdown() {
	for _, p := range s.order {
		if p.alive {
			p.alive = false
			p.env.Kill()
		}
	}
	s.ctl.Kill()
}
