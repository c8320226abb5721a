// Package workloads holds workloads that drive Strata processes and check
// what they observe: in simulation (db/sim/simtests) and against real
// processes. Workloads are role code: they use only db/flow for time,
// randomness, actors, network and disk (db/lint enforces it), so the same
// workload runs unchanged under both runtimes.
package workloads
