// Package controller is Strata's cluster controller after FoundationDB's
// (fdb.md §6.2; DESIGN.md "Coordination and recovery"), first slice: the
// registry of the cluster's processes and the live status document.
//
// Every server process runs a Member (Start). A Member
//
//   - campaigns for cluster controller through the coordinators
//     (coordinator.LeaderElection). Priority by process class, best
//     first: cluster_controller, then stateless and transaction, then unset,
//     then every other class (storage, log, ...), so the controller lands
//     on a process with spare capacity when there is one. A leader that
//     loses its lease stops its controller and campaigns again with a new
//     change ID;
//   - follows the elected leader (MonitorLeader) and sends it a complete
//     WorkerReport (address, class, locality, version, roles, metrics) at
//     once and then every ReportInterval; a new leader gets the first
//     report as soon as the coordinators agree on it.
//
// The leader runs a Controller: it takes reports at kv.TokenWorkerReport,
// watches every reporting process with flow's failure monitor
// (WaitFailure) and keeps a failed process listed, marked unreachable, as
// FoundationDB does; and it answers StatusRequest at kv.TokenStatus with
// the status document (db/status) built from the reports — bounded in size
// and cost by the number of processes (at most MaxWorkers), with no work
// per key.
package controller
