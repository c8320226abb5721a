package sim

import (
	"fmt"
	"time"
)

// Test is a named simulation test: it builds a cluster on the simulation,
// drives it (with faults) and checks its invariants.
type Test struct {
	Name        string
	Description string
	// Run builds, drives and checks; an error fails the run.
	Run func(s *Simulation) error
}

// Result is the outcome of one run of a Test.
type Result struct {
	Test      string
	Seed      uint64
	Buggify   bool
	SimTime   time.Duration
	Wall      time.Duration
	TraceHash uint64
	Events    uint64
	Err       error
	// Recent holds the last traced events, for a failure report.
	Recent []string
}

// RunTest runs t once with seed.
func RunTest(t Test, seed uint64, opts Options) Result {
	s := New(seed, opts)
	err := t.Run(s)
	s.shutdown()
	if ferr := s.loop.Failure(); ferr != nil {
		err = ferr
	}
	return Result{
		Test:      t.Name,
		Seed:      seed,
		Buggify:   opts.Buggify,
		SimTime:   s.Elapsed(),
		Wall:      time.Since(s.started),
		TraceHash: s.TraceHash(),
		Events:    s.tr.events,
		Err:       err,
		Recent:    s.RecentEvents(),
	}
}

// ReproduceCommand is the command line that runs this result's seed again.
func (r Result) ReproduceCommand() string {
	bug := "off"
	if r.Buggify {
		bug = "on"
	}
	return fmt.Sprintf("strata sim --test %s --seed %d --buggify=%s", r.Test, r.Seed, bug)
}

func (r Result) String() string {
	status := "ok"
	if r.Err != nil {
		status = "FAIL"
	}
	return fmt.Sprintf("%s seed=%d sim=%.2fs wall=%.2fs hash=%016x events=%d %s",
		r.Test, r.Seed, r.SimTime.Seconds(), r.Wall.Seconds(), r.TraceHash, r.Events, status)
}
