// Package worker hosts database roles in a server process. StartSingle runs
// the whole transaction subsystem of a `single` database in one process —
// sequencer, GRV proxy, commit proxy, resolver, transaction log and one
// storage server — wired together, recovered from the process's data
// directory, and published to clients at the well-known OpenDatabase
// endpoint. Cluster formation (coordinators, a controller recruiting roles
// across processes) builds on it in a later step.
package worker
