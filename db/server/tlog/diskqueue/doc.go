// Package diskqueue is the transaction log's durable queue: an append-only
// sequence of (version, payload) records in segment files on a flow.FS,
// group-committed with fdatasync, whose popped prefix is reclaimed by
// deleting whole segments.
//
// # Format
//
// A queue lives in a directory of segment files named by a 16-hex-digit
// sequence number ("tlog/0000000000000001.seg"). A segment starts with a
// 20-byte header (an 8-byte magic, the version of the last record written
// before the segment, a CRC-32C of both) and holds records back to back. The
// header's version tells recovery where a reclaimed prefix ended and that no
// segment is missing in between. A record is
//
//	length  uint32 big-endian: bytes of the body (8 + len(payload))
//	crc     uint32 big-endian: CRC-32C of the length bytes and the body
//	body    version int64 big-endian, then the payload
//
// Record versions strictly increase across the whole queue, so recovery can
// also reject a well-checksummed record that is out of order.
//
// # Durability
//
// Push buffers a record in memory. Commit writes every buffered record to
// the current segment and syncs it; a Commit returns once everything pushed
// before it was called is durable. Syncs overlap, as FoundationDB's log
// does: a commit whose records no running sync covers writes them and
// starts its own sync at once, even while earlier syncs run (up to
// Options.MaxSyncs), instead of waiting for them to end first. A sync
// covers every write issued before it started, whichever overlapping sync
// ends first, so the durable point only moves forward, over a prefix of the
// records: a commit is acknowledged only once everything before it is
// durable. Commits still group: one sync covers everything pushed before it
// started, and before starting one a committer yields once so that the
// committers just released can push and share it. A segment is only ever
// left once it is fully synced (a flush that finds it full waits for the
// running syncs, then syncs it, and only then starts the next one), so a
// crash can lose only a suffix of the records: what Open recovers is always
// a prefix of what was pushed (after the reclaimed part) that holds every
// record whose Commit returned.
//
// A segment's file is filled with zeros ahead of its records
// (Options.PreallocBytes, synced by an actor of its own), so that the
// commits' syncs overwrite allocated blocks: on ext4 or xfs such an
// fdatasync needs no journal commit, so it is cheaper and does not queue
// behind the file system's other metadata work. Zeros never follow a
// segment's records once it is full (they stop at SegmentBytes).
//
// Open scans the segments in order, validates every record, truncates the
// first torn or corrupt record and everything after it (deleting later
// segments), syncs what it kept and returns the surviving records. The
// zeros preallocated after the last segment's records are cut off the same
// way (a zero length is not a valid record), so a restart never finds
// stale bytes past the records it appends.
//
// The queue is role code: it runs on one actor baton, uses no goroutines or
// locks, and behaves the same on the simulator's disks and on the operating
// system's files.
package diskqueue
