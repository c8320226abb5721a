// Package node assembles one database server process of a cluster: what
// `strata server` runs and what the simulator runs for each simulated
// server, so both exercise the same wiring.
//
// A node
//
//   - is a coordinator, whether or not the cluster file names it (as any
//     fdbserver can be): `coordinators` may name it later. It also
//     answers clients' OpenDatabaseRequest with the current generation's
//     ClientDBInfo, which it learns from the cluster controller's
//     ServerDBInfo;
//   - hosts roles for the cluster controller (worker.Host): it reopens its
//     logs and storage servers from its data directory and starts the
//     roles it is recruited for;
//   - campaigns for cluster controller and reports to the leader
//     (controller.Member); the leader recovers and runs the database, and
//     moves the cluster to new coordinators when kv.CoordinatorsKey asks
//     (ConfigurationReader.ReadCoordinators);
//   - follows the coordinators when they move: the member, and the client
//     it reads the configuration through, switch to the connection string
//     the old coordinators forward to, and the process rewrites its
//     cluster file (Config.WriteClusterFile, Config.ClusterFilePath).
package node
