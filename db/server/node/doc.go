// Package node assembles one database server process of a cluster: what
// `strata server` runs and what the simulator runs for each simulated
// server, so both exercise the same wiring.
//
// A node
//
//   - is a coordinator when its address is in the cluster file, and then
//     also answers clients' OpenDatabaseRequest with the current
//     generation's ClientDBInfo, which it learns from the cluster
//     controller's ServerDBInfo;
//   - hosts roles for the cluster controller (worker.Host): it reopens its
//     logs and storage servers from its data directory and starts the
//     roles it is recruited for;
//   - campaigns for cluster controller and reports to the leader
//     (controller.Member); the leader recovers and runs the database.
package node
