// Package tlog is the transaction log role: it makes each commit version's
// tagged mutations durable, in version order, and serves them to the storage
// servers by tag until they pop them.
//
// A TLog keeps its data in a diskqueue (one record per commit version: the
// TLogCommitRequest as received) and an in-memory index of the unpopped
// mutations of every tag, so peeks never read the disk. For now the index
// holds all unpopped data: a storage server that falls far behind costs
// memory, not disk reads (FoundationDB spills such data to disk; Strata does
// not yet).
//
// # Requests
//
//   - TLogCommitRequest: applied strictly in version order. A commit waits
//     until the log's version equals its prev_version, is pushed to the queue
//     and is answered with the durable version once a group commit's
//     fdatasync covers it. A commit of a version the log already has is
//     acknowledged again once that version is durable.
//   - TLogPeekRequest: the tag's mutations at durable versions >= begin, in
//     version order. With nothing to return it waits (long poll, up to
//     Config.PeekTimeout) and then answers empty. A reply holds at most about
//     Config.MaxPeekReplyBytes of mutations; end is where to peek next (every
//     version below it was returned). A begin below the tag's popped point is
//     answered at once with no messages and popped = end = that point: the
//     data is gone.
//   - TLogPopRequest: the tag no longer needs versions below to. The queue
//     reclaims below the smallest popped point of the tags ever pushed.
//
// # Recovery
//
// New recovers the queue (truncating a torn tail), rebuilds the index and
// starts at the highest durable version. Popped points are not persisted:
// after a restart a recovered tag's popped point is where the queue's
// reclaimed prefix ended, which is never above what the tag had popped, so at
// worst some popped versions are served again.
//
// # Metrics
//
// Counters tlog.commits, tlog.commit_duplicates, tlog.commit_bytes,
// tlog.peeks, tlog.peek_messages, tlog.pops, tlog.queue_bytes_pushed and
// tlog.queue_bytes_reclaimed (their difference is about the queue's size;
// Stats has it exactly); histograms tlog.fsync_latency (each fdatasync) and
// tlog.commit_latency (a commit's arrival to its reply).
package tlog
