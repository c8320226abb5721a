// Package tlog is the transaction log role: it makes each commit version's
// tagged mutations durable, in version order, and serves them to the storage
// servers by tag until they pop them. A recovery locks the logs of the
// generation that ended and seeds the new generation's logs from them.
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
//     fdatasync covers it and every version before it. Syncs overlap (see
//     diskqueue): a commit arriving while a sync runs starts its own
//     rather than waiting for that one first. A commit of a version the log
//     already has is acknowledged again once that version is durable.
//   - TLogPeekRequest: the tag's mutations at durable versions >= begin, in
//     version order. With nothing to return it waits (long poll, up to
//     Config.PeekTimeout) and then answers empty. A reply holds at most about
//     Config.MaxPeekReplyBytes of mutations; end is where to peek next (every
//     version below it was returned). A begin below the tag's popped point is
//     answered at once with no messages and popped = end = that point: the
//     data is gone.
//   - TLogPopRequest: the tag no longer needs versions below to. The queue
//     reclaims below the smallest popped point of the tags ever pushed.
//   - TLogLockRequest: ends the log's generation (FoundationDB's epoch end).
//     The log refuses every later commit, and the waiting ones, with
//     tlog_stopped, but goes on serving peeks, pops and locks. The reply
//     comes once everything the log accepted is durable: end is that
//     durable version (final), with the known committed version and every
//     tag's popped point (TLogTagState: versions <= popped may be gone).
//     Locking again gives the same end.
//
// Every reply to a peek carries the log's known committed version: the
// highest known_committed_version of the commits it took (or, on a seeded
// log, at least the seed's version). Storage servers make versions durable
// only up to it.
//
// # Restart
//
// New recovers the queue (truncating a torn tail), rebuilds the index and
// starts at the highest durable version. Popped points are not persisted:
// after a restart a recovered tag's popped point is where the queue's
// reclaimed prefix ended, which is never above what the tag had popped, so at
// worst some popped versions are served again. With Config.Locked the log
// comes back locked: an old generation's log that a recovery may still read.
//
// # Seeding a new generation
//
// With Config.Recover, New makes a log of a new generation: for each tag of
// Recover.Tags it copies versions popped+1 through Recover.Version from the
// old generation's logs (Recover.From), so that storage servers only ever
// read the current generation. It first locks every source (a no-op for
// logs already locked; it also makes sure their data is final) and keeps
// those whose end reaches Recover.Version; tags are spread over them, and a
// tag whose source fails moves to the next one. Each round peeks every tag
// whose buffer ran out (one peek each, in parallel) and writes every version
// all tags are known up to, merging one version's tags into one queue
// record, so the copy holds at most one peek reply per tag besides the
// index. A reply saying a source popped the tag further moves the tag's
// popped point up. The log then starts at version, durable version and known
// committed version Recover.Version, taking commits whose prev_version is
// Recover.Version.
//
// A directory's "state" file makes seeding crash-safe: written incomplete
// before the copy starts and complete (with the seed's version and popped
// points, which a restart then keeps) only after the copy is durable, each
// time by write, sync and rename. A log whose seeding was interrupted does
// not serve: New without Recover fails with ErrIncomplete, and New with
// Recover deletes the partial copy and seeds again. New with Recover on a
// directory already seeded at the same version just reopens it; at another
// version it seeds afresh (the directory must belong to this recruitment);
// on a directory holding an unseeded log it fails with ErrNotSeeded.
//
// Destroy (and RemoveFiles, for a directory not open) deletes a log no
// longer needed, marking the directory incomplete first so that a crash in
// the middle never leaves something that opens as a log.
//
// # Metrics
//
// Counters tlog.commits, tlog.commit_duplicates, tlog.commit_bytes,
// tlog.peeks, tlog.peek_messages, tlog.pops, tlog.queue_bytes_pushed and
// tlog.queue_bytes_reclaimed (their difference is about the queue's size;
// Stats has it exactly); histograms tlog.fsync_latency (each fdatasync) and
// tlog.commit_latency (a commit's arrival to its reply).
package tlog
