// Package realcluster tests cluster formation with real `strata server`
// processes: several processes sharing one cluster file elect a cluster
// controller, register with it, and show up — or as unreachable — in
// `strata status`.
package realcluster
