// Package storage is the storage server role. A server has one tag and
// owns a set of shards (key ranges); it pulls its tag's mutations from the
// transaction logs, applies them into an in-memory MVCC window over an
// engine.Engine, makes versions older than the window durable in the
// engine (then pops the logs), and serves reads at any version of the
// window: GetValue, GetKey (key selectors, partially resolved at the edge
// of the shards it holds), GetKeyValues (limits, byte limits, reverse),
// WatchValue, and ShardMetrics (sizes and split keys for data
// distribution).
//
// Versions. The server's version is the newest version it has pulled; the
// logs' peek replies advance it even when they carry no mutations. The
// engine holds the state at the durable version, stored with it under a
// reserved key (so a restarted server resumes pulling right after it); the
// window holds every write above it. Reads are served at versions from the
// oldest kept version to the server's version: below it they fail with
// transaction_too_old, above it they wait for the version up to
// Knobs.FutureVersionDelay and then fail with future_version; keys outside
// the readable shards fail with wrong_shard_server.
//
// The window's span is Knobs.MVCCWindow: the durability actor makes every
// version older than version-MVCCWindow durable, so reads may be that old
// (FoundationDB's 5 seconds), but never a version above the largest known
// committed version the logs' peek replies reported: versions above it may
// be rolled back by a recovery, so they stay in memory. The oldest
// readable version is the durable version, because the engine keeps only
// its newest state.
//
// Logs and recovery. Every log of a generation holds every tag: the server
// peeks one and moves to the next when a peek fails or goes unanswered for
// Knobs.PeekTimeout, and pops them all. After a recovery, SetLogs rolls back
// every version above the recovery version (its writes and the server's
// version: reads above it wait again) and pulls from the new generation's
// logs; watches whose value the rollback changed fire.
//
// Shards. A server starts with the shards of its Config (readable at once)
// and gains one with AddShard, FoundationDB's fetchKeys: from then on it
// applies the shard's mutations where it has the data and holds them back
// where it has not; it copies the shard from its sources with paged range
// reads, each page at the server's version, applies the held-back
// mutations above each page's version over it, and serves the shard from
// the version it finished at. RemoveShard stops serving a range and clears
// it. The writes a copy or a removal makes go in at the version after the
// server's (they are no version's state to read), so a rollback drops them:
// the server clears removed ranges again and copies again the shards it was
// copying or finished copying above the recovery version.
//
// Identity. The engine records the server's ID, tag and shards (a shard
// counts as readable there once the durable version reaches the version it
// became readable at) and a byte sample of its data, under reserved keys
// after every client key (\xff\xff\xff/storage/...). Reopen restores a
// server from them; shards still being copied are dropped and their data
// cleared, as is any data outside the shards.
//
// Mutations are applied in log order; atomic operations (kv.ApplyAtomic)
// read the newest value, including earlier writes of the same version.
// Only the shards' part of a mutation is applied: clear ranges are clipped
// to them and other writes outside them are ignored.
//
// Watches. A watch answers with a version at which the key's value differs
// from the one given: at once if it already does at the server's version,
// else at the first applied write that changes it. An A->B->A change
// between two checks may go unreported, as in FoundationDB. A rollback may
// fire a watch on a value that never committed (a spurious fire, which
// FoundationDB allows), never miss one; a watch on a range the server stops
// serving fails with wrong_shard_server.
package storage
