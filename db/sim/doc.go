// Package sim is Strata's deterministic simulator, after FoundationDB's.
//
// A Simulation runs a whole cluster in one Go process on one flow.Loop with
// virtual time: machines (with zone, data hall, dc and machine ids) run
// processes, each a flow.Env booted by the test; a simulated network carries
// their messages with per-link latency, clogging, partitions and swizzle;
// simulated disks lose or tear writes that were not synced when their process
// dies; processes, machines and zones are killed and rebooted. Exactly one
// actor runs at a time and every random choice comes from the run's seed, so
// a run is decided by its seed alone: the trace hash it prints (a hash of
// every message delivery, fault and trace event) is the same for the same
// seed, and a failure found by a seed is reproduced by that seed.
//
// Tests are Test values run by Run; db/sim/simtests holds the named tests
// behind `strata sim --test NAME`.
package sim
