// Package conflict is the resolver's conflict set: for every key it records
// the newest commit version that wrote it, over the last few seconds of
// writes, and answers "did anyone write a key of this range after version
// v?" in O(log n) time, however many keys the range covers.
//
// # Representation
//
// The keyspace is cut at boundary keys into segments; each segment [key,
// next boundary) carries one version, the newest write to any of its keys
// (0 if none is remembered). The boundaries live in the leaves of a B+tree
// whose inner nodes store, for every child, its first key and the largest
// version below it, so that the newest write in a range is found by
// walking two root-to-leaf paths and looking only at the maxima of the
// children in between. This plays the part of FoundationDB's skip list with
// per-level maximum versions; nodes of 32 entries with 8-byte key prefixes
// kept inline make a search touch few cache lines.
//
// Writes arrive in version order, so a write [b, e) at version v is newer
// than everything it covers: the boundaries inside [b, e) are removed and
// replaced by at most two, one at b and one at e. A check or a write costs
// O(log n); a removal is paid for once by the write that added the
// boundary. The number of boundaries never exceeds twice the number of
// remembered writes, plus one.
//
// Segments older than the oldest version a transaction may read at can never
// cause a conflict again; adjacent old segments are merged away, either all
// at once ([Set.RemoveBefore]) or a little after every batch ([Set.Resolve]),
// which keeps memory proportional to the writes in the window.
//
// The package is pure: no I/O, no clock, no shared state. A Set is not safe
// for concurrent use; the resolver role owns one.
package conflict
