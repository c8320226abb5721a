// Package realdb tests the database as real processes on loopback: a
// `strata server` process (built from this repository), clients on the real
// runtime running the same workloads as the simulator, and kill -9 in the
// middle of the load.
package realdb
