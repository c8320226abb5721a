// Package realcluster tests cluster formation with real `strata server`
// processes: several processes sharing one cluster file elect a cluster
// controller, register with it, and show up — or as unreachable — in
// `strata status`. The triple tests configure five processes in five
// zones for triple redundancy and check what it promises: a killed
// sequencer loses no acknowledged commit, a killed storage server's data
// is re-replicated, exclusion drains a process, and a register workload
// stays linearizable (checked with porcupine, package register) while the
// sequencer's, a log and a storage process are killed and restarted.
package realcluster
