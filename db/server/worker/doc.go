// Package worker hosts database roles in a server process. StartSingle runs
// the whole transaction subsystem of a `single` database in one process —
// sequencer, GRV proxy, commit proxy, resolver, transaction log and one
// storage server — wired together, recovered from the process's data
// directory, and published to clients at the well-known OpenDatabase
// endpoint. Cluster formation (coordinators, a controller recruiting roles
// across processes) builds on it in a later step.
//
// A Reporter builds the process's WorkerReport for the cluster controller
// (db/server/controller): identity, the roles it hosts and their metrics
// (storage and log state, the proxies' and storage server's counters, and
// CPU and memory through a Usage hook the binary injects).
package worker
