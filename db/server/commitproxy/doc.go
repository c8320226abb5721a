// Package commitproxy is the commit proxy role: it commits transactions in
// batches and tells clients where keys live.
//
// # Intake
//
// Each CommitTransactionRequest is checked when it arrives, before it joins
// a batch: known mutation types (client_invalid_operation, 2000), keys at
// most kv.MaxKeySize bytes (kv.MaxSystemKeySize under \xff) (key_too_large,
// 2102), values at most kv.MaxValueSize (value_too_large, 2103), the whole
// transaction — mutations' keys and params plus conflict ranges' bounds, as
// FoundationDB counts it — at most kv.MaxTransactionSize
// (transaction_too_large, 2101), no writes at or above \xff\xff
// (key_outside_legal_range, 2004), no inverted ranges (inverted_range,
// 2005), versionstamp offsets that fit (versionstamp_invalid), a read
// version that is not negative, and not more than kv.MVCCWindow below the
// latest commit version this proxy has seen (transaction_too_old, 1007).
//
// # Lock
//
// While the database is locked (kv.DBLockedKey holds the lock's UID),
// transactions that are not lock_aware get database_locked (1038), in
// batch order after resolution, so a lock committed by a transaction of a
// batch refuses the plain transactions after it in the same batch. Not at
// intake: this proxy may not have received another proxy's lock or unlock
// yet. The proxy starts from Config.Locked (the key's value when the
// generation starts) and follows the key's committed sets and clears, its
// own and the other proxies' (see State). Writing the key needs lock_aware
// (else client_invalid_operation, which is not retried, unlike
// database_locked); atomic operations on it are refused.
//
// # Batches
//
// A batch that finds the pipeline idle starts at once (IdleBatchWindow);
// while batches are in flight, batch starts are spaced by an interval of a
// tenth of the smoothed batch latency, within [MinBatchWindow,
// BatchWindow], as FoundationDB's commit batcher does. A batch also closes
// at MaxBatchTransactions transactions, or at MaxBatchBytes bytes. While no
// transaction arrives, an empty batch is committed every IdleCommitInterval
// so that versions keep moving. Each batch then goes through:
//
//  1. GetCommitVersion from the sequencer (request_num = the batch number),
//     giving (prev_version, version): one chain across all proxies.
//  2. Resolution: every resolver gets every transaction of the batch (so
//     verdict i is transaction i everywhere), with conflict ranges clipped
//     to the resolver's key range. A transaction commits only if every
//     resolver says committed (1); any too old (2) gives
//     transaction_too_old, else any conflict (0) gives not_committed (1020).
//  3. For the committed transactions, in batch order: versionstamps are
//     written in (the last 4 bytes of the key or value of
//     SetVersionstampedKey/Value are a little-endian offset; the 10-byte
//     versionstamp, 8-byte big-endian version and 2-byte big-endian batch
//     index, is written there and the offset dropped, leaving a plain set),
//     \xff/keyServers/ changes are applied to the shard map, and each
//     mutation is tagged with the storage tags of the shards it touches (a
//     clear-range is clipped to each shard it overlaps).
//  4. One TLogCommitRequest per log (for now every log gets every tag)
//     with the sequencer's prev_version; the proxy waits for every log to
//     acknowledge (durable).
//  5. ReportCommitted to the sequencer, so read versions include the batch,
//     then each committed transaction gets (version, batch_index).
//
// Batches overlap: batch n+1 may be resolving while batch n is being
// logged. Stages that must follow version order wait for the previous batch
// of this proxy: resolver requests go out in batch order, and so do log
// pushes, so the logs see this proxy's batches in version order (and the
// prev_version chain orders them with other proxies' batches).
//
// # Failure: the generation dies
//
// Requests to the sequencer are safe to repeat (it answers a repeated
// GetCommitVersion as the first time; ReportCommitted takes a maximum), so
// when the sequencer is only unreachable for a while the proxy asks again
// once it is back, within SequencerTimeout.
//
// If the sequencer, a resolver or a log fails or does not answer in time
// (SequencerTimeout, ResolverTimeout, LogTimeout), the proxy cannot know
// whether batches in flight reached the logs: every transaction of those
// batches gets commit_unknown_result (1021), no further batch is pushed, the
// commit endpoint is closed (later commits fail with endpoint_not_found,
// queued ones with broken_promise) and Done fails with ErrGenerationDead.
// Recovery, which replaces the whole generation, comes in a later issue.
// Transactions that had already been refused (conflict, too old) keep their
// certain answers.
//
// # Shard map
//
// GetKeyServerLocations is served from the proxy's shard map, the
// in-memory form of \xff/keyServers/ (see KeyServersPrefix): whole shards
// intersecting [begin, end), an empty end meaning the end of the key space.
// Committed sets and clears of \xff/keyServers/ keys update the map, in
// commit order, including those committed through other commit proxies.
//
// # State
//
// The shard map and the lock are the proxies' state: every proxy must hold
// the same at every version (FoundationDB's txnStateStore). A transaction
// that writes them sends its state mutations and lock_aware option with
// its resolver request; each resolver hands them, with its verdict, to the
// other proxies with their next batch (ResolveTransactionBatchReply's
// state_transactions after the proxy's last_received_version). Before
// tagging a batch, the proxy applies the other proxies' state transactions
// of earlier versions in version and batch order: committed only if every
// resolver said so, refused if a lock refuses it, versionstamps written in
// as their proxy did. Since the resolvers see every batch in version order,
// each proxy's state at version v is the same.
//
// Metrics (Env.Metrics), prefixed commitproxy.: transactions, committed,
// conflicts, too_old, rejected, unknown_result, batches counters; latency
// (arrival to reply of committed transactions) and batch_latency
// histograms.
package commitproxy
