package sim

import (
	"slices"
	"time"

	"github.com/strata-db/strata/db/flow"
)

// ClogOptions shape RandomClogging.
type ClogOptions struct {
	// Targets are the processes whose links and selves may be clogged.
	Targets []flow.Address
	// MeanInterval is the mean time between faults.
	MeanInterval time.Duration
	// MaxClog bounds one clog's length.
	MaxClog time.Duration
}

// RandomClogging injects network faults until the actor is cancelled or
// until stop: clogged links, clogged processes, partitions and swizzles, as
// FoundationDB's RandomClogging workload does.
func (s *Simulation) RandomClogging(c *flow.Ctx, stop time.Time, o ClogOptions) error {
	if len(o.Targets) < 2 {
		return nil
	}
	rng := s.rng
	for {
		if err := c.Sleep(time.Duration(rng.Int64N(int64(2*o.MeanInterval) + 1))); err != nil {
			return err
		}
		if !s.Now().Before(stop) {
			return nil
		}
		d := time.Duration(rng.Int64N(int64(o.MaxClog) + 1))
		a := o.Targets[rng.IntN(len(o.Targets))]
		b := o.Targets[rng.IntN(len(o.Targets))]
		switch rng.IntN(10) {
		case 0, 1, 2, 3:
			if a != b {
				s.ClogLink(a, b, d)
			}
		case 4, 5:
			s.ClogProcess(a, d)
		case 6, 7:
			if a != b {
				s.ClogPair(a, b, d)
			}
		case 8:
			s.Partition(s.randomSubset(o.Targets, len(o.Targets)/2), d)
		case 9:
			if err := s.Swizzle(c, s.randomSubset(o.Targets, len(o.Targets)), o.MaxClog); err != nil {
				return err
			}
		}
	}
}

// Swizzle clogs the given processes one by one at random moments, then
// unclogs them one by one in a different random order: the fault pattern
// that FoundationDB found shakes out the most bugs.
func (s *Simulation) Swizzle(c *flow.Ctx, targets []flow.Address, step time.Duration) error {
	if len(targets) == 0 {
		return nil
	}
	s.Note("swizzle %v", targets)
	for _, a := range targets {
		s.ClogProcess(a, time.Hour)
		if err := c.Sleep(time.Duration(s.rng.Int64N(int64(step) + 1))); err != nil {
			return err
		}
	}
	order := append([]flow.Address(nil), targets...)
	s.rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	for _, a := range order {
		if err := c.Sleep(time.Duration(s.rng.Int64N(int64(step) + 1))); err != nil {
			return err
		}
		s.UnclogProcess(a)
	}
	return nil
}

// randomSubset returns between 1 and max distinct elements of xs, in a
// random order.
func (s *Simulation) randomSubset(xs []flow.Address, max int) []flow.Address {
	if max < 1 {
		max = 1
	}
	perm := s.rng.Perm(len(xs))
	n := 1 + s.rng.IntN(min(max, len(xs)))
	out := make([]flow.Address, n)
	for i := range n {
		out[i] = xs[perm[i]]
	}
	return out
}

// AttritionOptions shape Attrition.
type AttritionOptions struct {
	// Machines may be hit; processes on others are never killed.
	Machines []*Machine
	// MeanInterval is the mean time between kills.
	MeanInterval time.Duration
	// MaxDowntime bounds how long a victim stays down before rebooting.
	MaxDowntime time.Duration
	// Allowed, if set, vetoes a kill that would leave the cluster beyond its
	// fault tolerance: it gets the machines that would be down.
	Allowed func(down []*Machine) bool
}

// Attrition kills and reboots processes, machines and whole zones until
// stop, as FoundationDB's Attrition workload does.
func (s *Simulation) Attrition(c *flow.Ctx, stop time.Time, o AttritionOptions) error {
	if len(o.Machines) == 0 {
		return nil
	}
	rng := s.rng
	for {
		if err := c.Sleep(time.Duration(rng.Int64N(int64(2*o.MeanInterval) + 1))); err != nil {
			return err
		}
		if !s.Now().Before(stop) {
			return nil
		}
		m := o.Machines[rng.IntN(len(o.Machines))]
		victims := []*Machine{m}
		kind := rng.IntN(10)
		if kind == 9 {
			victims = s.ZoneMachines(m.Locality.Zone)
		}
		if o.Allowed != nil && !o.Allowed(append(s.downMachines(), victims...)) {
			continue
		}
		down := time.Duration(rng.Int64N(int64(o.MaxDowntime) + 1))
		switch {
		case kind < 6 && len(m.Processes) > 0:
			s.Reboot(m.Processes[rng.IntN(len(m.Processes))], down)
		case kind < 9:
			s.RebootMachine(m, down)
		default:
			s.RebootZone(m.Locality.Zone, down)
		}
	}
}

// downMachines returns machines with a dead process.
func (s *Simulation) downMachines() []*Machine {
	var out []*Machine
	for _, m := range s.machines {
		for _, p := range m.Processes {
			if !p.alive {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

// RollbackOptions shape Rollback.
type RollbackOptions struct {
	// Locate returns the process of the commit proxy that pushes commits
	// to the logs and the processes of the current generation's logs. A
	// round that finds no log but the one it keeps is skipped.
	Locate func(c *flow.Ctx) (proxy flow.Address, logs []flow.Address, err error)
	// MeanInterval is the mean time between rounds.
	MeanInterval time.Duration
	// ClogDuration is how long the proxy and the kept log stay cut off; it
	// must be long enough for the controller to notice and lock the other
	// logs.
	ClogDuration time.Duration
}

// Rollback forces recoveries in which some logs, and the storage servers
// that pulled from them, are ahead of the recovery version, so storage
// servers must roll back (FoundationDB's Rollback workload). Each round
// cuts the commit proxy's process off from every log but one while
// commits are in flight, so only that log receives them; then it clogs
// the proxy's process and that log's process altogether. The controller
// declares the proxy failed and recovers from the logs it can lock, which
// lack the versions only the cut-off log received. It runs until stop.
func (s *Simulation) Rollback(c *flow.Ctx, stop time.Time, o RollbackOptions) error {
	rng := s.rng
	for {
		if err := c.Sleep(time.Duration(rng.Int64N(int64(2*o.MeanInterval) + 1))); err != nil {
			return err
		}
		if !s.Now().Before(stop) {
			return nil
		}
		proxy, logs, err := o.Locate(c)
		for err != nil && s.Now().Before(stop) {
			// Mostly a recovery in progress: try again soon, so that
			// rounds do not all fall after the faults' end.
			s.Note("rollback: locating the proxy and logs: %v", err)
			if err := c.Sleep(o.MeanInterval / 8); err != nil {
				return err
			}
			proxy, logs, err = o.Locate(c)
		}
		if err != nil {
			return nil
		}
		// The kept log is the proxy's own when it hosts one (clogging the
		// proxy's process cuts both off), else another chosen at random.
		var others []flow.Address
		for _, l := range logs {
			if l != proxy && !slices.Contains(others, l) {
				others = append(others, l)
			}
		}
		kept := proxy
		if !slices.Contains(logs, proxy) && len(others) > 0 {
			kept = others[rng.IntN(len(others))]
			others = slices.DeleteFunc(others, func(l flow.Address) bool { return l == kept })
		}
		if len(others) == 0 || !s.Now().Before(stop) {
			continue
		}
		s.Note("rollback: proxy %s keeps only log %s, cut off from %v", proxy, kept, others)
		for _, l := range others {
			s.ClogPair(proxy, l, o.ClogDuration)
		}
		// Let commits reach only the kept log, and storage servers pull
		// them from it, until about when the proxy would notice the other
		// logs' silence and stop.
		ft := s.knobs.FailureTimeout
		if err := c.Sleep(ft/4 + time.Duration(rng.Int64N(int64(ft)))); err != nil {
			return err
		}
		s.ClogProcess(proxy, o.ClogDuration)
		if kept != proxy {
			s.ClogProcess(kept, o.ClogDuration)
		}
		if err := c.Sleep(o.ClogDuration); err != nil {
			return err
		}
	}
}
