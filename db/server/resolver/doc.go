// Package resolver is the resolver role: it decides which transactions of
// a commit batch conflict with writes committed after their read versions,
// over the last five seconds of writes (kv.MVCCWindow).
//
// Commit proxies send each resolver their batches, with the conflict ranges
// clipped to the part of the keyspace the resolver owns. A resolver answers
// every transaction with conflict, committed or too old (code 0, 1, 2 of
// wire.ResolveTransactionBatchReply), and applies batches strictly in
// version order: a batch (prev_version, version) waits until the batch
// ending at prev_version has been resolved, because a transaction can only
// be judged against every write committed before it. Batches from several
// proxies arrive interleaved and out of order; a batch seen again (a proxy's
// retry) gets the reply it got the first time.
//
// Resolvers also carry the commit proxies' state transactions (writes of
// the shard map and the lock) from the proxy that committed them to the
// others: each batch's reply holds the other proxies' state transactions
// since the version the proxy last received, with this resolver's
// verdicts. They are kept for 10 MVCC windows; a proxy silent longer
// (proxies commit empty batches while idle, so only a cut-off one) gets
// commit_unknown_result and its generation ends.
//
// The conflict detection itself is the pure data structure of package
// conflict; this package adds the version chain, the request validation
// and clipping, the reply cache and the metrics.
package resolver
