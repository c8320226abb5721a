// Package client is Strata's database client, with FoundationDB's client
// semantics (fdb.md §2).
//
// It has two layers. The flow layer runs inside a flow process, so that
// simulated workloads and the servers use the real client: NewDatabase
// opens a cluster through the addresses that serve ClientDBInfo, keeps it
// fresh with a long poll, batches read-version requests, caches shard
// locations (refreshed on wrong_shard_server or a failed server) and reads
// straight from storage servers. A Transaction buffers its writes in a
// write map that its reads see (read-your-writes, including range reads
// over buffered sets, clears and atomic operations), records read and
// write conflict ranges, checks FDB's limits, and commits through a commit
// proxy; OnError implements FDB's retry classes and backoff.
//
// commit_unknown_result is made safe to retry on as FoundationDB makes it:
// before Commit returns an unknown result, the client commits a fencing
// transaction that reads a key the original wrote and writes a key it read
// (one it read and wrote, or a random key under \xff/SC/ every commit
// adds to its read set). After it, the original either committed below
// any read version obtained later or never will, so a retry sees the
// outcome (unknown.go; the causal_write_risky option skips both).
//
// With Config.Cluster set, a Database follows the coordinators (the
// status special key's controller, and their moves): when the old
// coordinators forward it (FoundationDB's coordinators_changed) it opens
// the database through the new ones and persists the new connection string
// with Config.OnCoordinatorsChanged; Open rewrites the cluster file it was
// opened with, atomically. Database.ChangeCoordinators and
// DB.ChangeCoordinators are `coordinators auto|<addr>...` for programs
// (AutoCoordinators chooses as `auto` does).
//
// The Go layer (Open, DB, Tx) is goroutine-safe and honours contexts: a DB
// runs a flow process of its own on the loopback interface and every call
// is posted to its loop, through db/flow's bridge.
//
// Transactions reach the cluster through a small interface (backend), so
// their whole behaviour is tested against an in-memory versioned store
// without servers.
//
// Atomic operations on keys not yet read are applied, when the key is read,
// with kv.ApplyAtomic: the same semantics the storage servers use.
package client
