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
//     report as soon as the coordinators agree on it;
//   - follows the coordinators when they move: when the old ones answer
//     with a forward (coordinator.ErrCoordinatorsChanged), the campaign and
//     the follower switch to the new connection string (Conn), and
//     OnConnectionChange persists it (the process's cluster file).
//
// Changing the coordinators (coordinators.go, FoundationDB's changeQuorum
// and coordinators_changed): when the Configuration also implements
// CoordinatorsReader, the controller of a recovered generation reads
// kv.CoordinatorsKey every ConfigurationInterval. A connection string with
// a new ID makes it check that every new coordinator answers, move the
// coordinated state there (coordinator.MoveCoordinatedState; the old
// coordinators then forward) and end its generation. Its own campaign is
// forwarded too, so it stops; the processes elect a controller on the new
// coordinators, which recovers from the moved state.
//
// The leader runs a Controller: it takes reports at kv.TokenWorkerReport,
// watches every reporting process with flow's failure monitor
// (WaitFailure) and keeps a failed process listed, marked unreachable, as
// FoundationDB does; and it answers StatusRequest at kv.TokenStatus with
// the status document (db/status) built from the reports — bounded in size
// and cost by the number of processes (at most MaxWorkers), with no work
// per key.
package controller
