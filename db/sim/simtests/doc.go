// Package simtests holds the named simulation tests that `strata sim --test
// NAME` runs: each builds a simulated cluster, drives a workload from
// db/workloads under faults, and checks its invariants.
package simtests
