package sim

import (
	"fmt"
	"time"

	"github.com/strata-db/strata/db/flow"
)

// Kill stops p as if its process died: its actors stop, messages to it are
// lost, and its disk keeps only what was synced (plus whatever of the rest
// the crash happened to leave, possibly torn).
func (s *Simulation) Kill(p *Process) {
	if !p.alive {
		return
	}
	p.alive = false
	lost := p.disk.crash(s.rng)
	s.tr.record(fmt.Sprintf("%d kill %s incarnation %d lost-writes %d", s.loop.Now().UnixNano(), p.Addr, p.incarnation, lost))
	p.env.Kill()
	s.net.processDied(p)
}

// Reboot kills p (if alive) and starts it again after delay.
func (s *Simulation) Reboot(p *Process, delay time.Duration) {
	s.Kill(p)
	if p.rebooting {
		return
	}
	p.rebooting = true
	s.loop.After(delay, func() {
		p.rebooting = false
		if !p.alive {
			p.start()
		}
	})
}

// Restart starts a dead process now (no-op if alive).
func (s *Simulation) Restart(p *Process) {
	if !p.alive {
		p.start()
	}
}

// KillMachine kills every process on m.
func (s *Simulation) KillMachine(m *Machine) {
	for _, p := range m.Processes {
		s.Kill(p)
	}
}

// RebootMachine kills every process on m and starts them after delay.
func (s *Simulation) RebootMachine(m *Machine, delay time.Duration) {
	for _, p := range m.Processes {
		s.Reboot(p, delay)
	}
}

// ZoneMachines returns the machines in zone.
func (s *Simulation) ZoneMachines(zone string) []*Machine {
	var out []*Machine
	for _, m := range s.machines {
		if m.Locality.Zone == zone {
			out = append(out, m)
		}
	}
	return out
}

// RebootZone reboots every machine in zone after delay.
func (s *Simulation) RebootZone(zone string, delay time.Duration) {
	s.Note("reboot zone %s", zone)
	for _, m := range s.ZoneMachines(zone) {
		s.RebootMachine(m, delay)
	}
}

// KillZone kills every machine in zone.
func (s *Simulation) KillZone(zone string) {
	s.Note("kill zone %s", zone)
	for _, m := range s.ZoneMachines(zone) {
		s.KillMachine(m)
	}
}

// ClogLink holds messages from a to b for d.
func (s *Simulation) ClogLink(a, b flow.Address, d time.Duration) {
	l := s.net.link(a, b)
	until := s.loop.Now().Add(d)
	if until.After(l.clogUntil) {
		l.clogUntil = until
	}
	s.tr.record(fmt.Sprintf("%d clog %s->%s %v", s.loop.Now().UnixNano(), a, b, d))
}

// ClogPair holds messages both ways between a and b for d.
func (s *Simulation) ClogPair(a, b flow.Address, d time.Duration) {
	s.ClogLink(a, b, d)
	s.ClogLink(b, a, d)
}

// ClogProcess holds every message to and from addr for d.
func (s *Simulation) ClogProcess(addr flow.Address, d time.Duration) {
	until := s.loop.Now().Add(d)
	if until.After(s.net.procClogs[addr]) {
		s.net.procClogs[addr] = until
	}
	s.tr.record(fmt.Sprintf("%d clog-process %s %v", s.loop.Now().UnixNano(), addr, d))
}

// UnclogProcess lifts a process clog early.
func (s *Simulation) UnclogProcess(addr flow.Address) {
	delete(s.net.procClogs, addr)
	s.tr.record(fmt.Sprintf("%d unclog-process %s", s.loop.Now().UnixNano(), addr))
}

// Partition cuts side off from every other process for d, both ways.
func (s *Simulation) Partition(side []flow.Address, d time.Duration) {
	in := map[flow.Address]bool{}
	for _, a := range side {
		in[a] = true
	}
	s.Note("partition %v for %v", side, d)
	for _, a := range side {
		for _, p := range s.order {
			if !in[p.Addr] {
				s.ClogPair(a, p.Addr, d)
			}
		}
	}
}
