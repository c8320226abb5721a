// Package layout decides where every server process of a cluster runs:
// processes per host and class, their ports and data directories, their
// localities, and which of them are coordinators. It is a pure function of
// a spec.ClusterSpec (no I/O, no clock, no randomness), so the plan can call
// it freely and tests describe it with data (testdata/*.txt).
//
// Placement rules:
//   - A host's processes take consecutive ports from its port base, in
//     spec.ProcessClasses() order (storage, log, transaction, stateless, ...)
//     and then by index; each HTTP status port is its server port plus the
//     host's offset. A process ID is "host:port", which depends only on the
//     host's own name and counts, so reordering the description or adding
//     hosts never renames a process.
//   - Localities come from the host; its zone defaults to its name.
//   - Coordinators are chosen as in coordinators.go: 1/3/5 for
//     single/double/triple and 9 for three_data_hall, one per zone, by class
//     priority then host and port.
//
// Compute reports, as hcl.Diagnostics with the range of the block at fault,
// layouts that cannot work: too few zones or halls for the redundancy mode or
// its coordinators, ports used twice or above 65535 on an address, SSH hosts
// sharing an address, local hosts sharing directories, and zones that span
// halls or data centres.
package layout
