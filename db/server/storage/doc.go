// Package storage is the storage server role: it owns one shard (a key
// range) and one tag, pulls the tag's mutations from a transaction log,
// applies them into an in-memory MVCC window over an engine.Engine, makes
// versions older than the window durable in the engine (then pops the log),
// and serves reads at any version of the window: GetValue, GetKey (key
// selectors, partially resolved at the shard's edge), GetKeyValues (limits,
// byte limits, reverse) and WatchValue.
//
// Versions. The server's version is the newest version it has pulled; the
// log's peek replies advance it even when they carry no mutations. The
// engine holds the state at the durable version, stored with it under a
// reserved key (so a restarted server resumes pulling right after it); the
// window holds every write above it. Reads are served at versions from the
// oldest kept version to the server's version: below it they fail with
// transaction_too_old, above it they wait for the version up to
// Knobs.FutureVersionDelay and then fail with future_version; keys outside
// the shard fail with wrong_shard_server.
//
// The window's span is Knobs.MVCCWindow: the durability actor makes every
// version older than version-MVCCWindow durable, so reads may be that old
// (FoundationDB's 5 seconds), but never a version above the largest known
// committed version the logs' peek replies reported: versions above it may
// be rolled back by a recovery, so they stay in memory. The oldest readable version is the durable
// version, because the engine keeps only its newest state.
//
// Logs and recovery. Every log of a generation holds every tag: the server
// peeks one and moves to the next when a peek fails or goes unanswered for
// Knobs.PeekTimeout, and pops them all. After a recovery, SetLogs rolls back
// every version above the recovery version (its writes and the server's
// version: reads above it wait again) and pulls from the new generation's
// logs; watches whose value the rollback changed fire.
//
// Mutations are applied in log order; atomic operations (kv.ApplyAtomic)
// read the newest value, including earlier writes of the same version.
// Only the shard's part of a mutation is applied: clear ranges are clipped
// to it and other writes outside it are ignored.
//
// Watches. A watch answers with a version at which the key's value differs
// from the one given: at once if it already does at the server's version,
// else at the first applied write that changes it. An A->B->A change
// between two checks may go unreported, as in FoundationDB.
package storage
