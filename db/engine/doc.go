// Package engine holds the storage engines behind a storage server. Both
// satisfy Engine and pass one test suite, including crash tests: after a
// crash, exactly the committed data is there (a commit in flight at the
// crash is there entirely or not at all).
//
// "ssd" (OpenPebble) is Pebble (github.com/cockroachdb/pebble/v2) with
// every Commit applied with pebble.Sync through flow's Ctx.Blocking, so the
// process's other actors run while the WAL is fsynced, and concurrent
// commits share Pebble's group commit. Defaults: 64 MiB block cache, 64 MiB
// memtables, bloom filters on every level. Its Stats come from Pebble's
// metrics (DiskBytes) and an estimate of KeyValueBytes: sstable bytes
// (EstimateDiskUsage, compressed, including garbage not yet compacted) plus
// the live WAL bytes standing for the memtables.
//
// "memory" (OpenMemory) is an ordered in-memory B-tree made durable on a
// flow.FS, so it runs unchanged on the simulator's disks: each Commit
// appends one record (length, CRC-32C, encoded batch) to a log and syncs
// it before the batch becomes visible; when the log outgrows four times the
// live data and 1 MiB, the commit also writes a checksummed snapshot,
// syncs it, renames it into place and starts a new log. Open loads the
// snapshot, replays the log and truncates its torn tail. It takes one
// Commit at a time (ErrConcurrentCommit otherwise) and, after a failed
// write or sync, refuses further use until reopened. Its Stats are exact:
// live key and value bytes, and the sizes of its files.
package engine
