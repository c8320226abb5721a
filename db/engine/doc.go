// Package engine holds the storage engines behind a storage server: "ssd"
// on Pebble (github.com/cockroachdb/pebble/v2) with synced commits, and
// "memory", an ordered in-memory map made durable by an append-only log and
// snapshots on a flow.FS (so it runs on the simulator's disks). Both satisfy
// Engine and pass one test suite, including crash tests: after a crash,
// exactly the committed data is there.
package engine
