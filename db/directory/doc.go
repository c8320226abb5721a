// Package directory is FoundationDB's directory layer, byte for byte: a
// tree of named directories, each owning a short key prefix, so
// applications address their data by path ("app", "users") while keys
// stay short.
//
// The on-disk layout is FoundationDB's (bindings/python/fdb/
// directory_impl.py), so a database written by either can be read by the
// other: metadata lives in the node subspace 0xFE; the root node
// 0xFE+pack((b'\xfe',)) holds the format version (three little-endian
// uint32s, 1.0.0) and the high-contention allocator's counters and
// recent candidates; each directory's node, 0xFE+pack((prefix,)), holds
// its layer and the links to its children (pack((0, name)) -> prefix).
// Prefixes come from the allocator: a random candidate in a window of 64,
// 1024 or 8192 integers that grows as allocations accumulate, packed as a
// tuple integer, so early prefixes are two bytes long and concurrent
// creators never receive the same one. A directory with layer "partition"
// holds a directory layer of its own inside its prefix; directories never
// move in or out of a partition.
//
// The layer runs on any transaction with the small Tx interface: FromTx
// adapts the Go client (*client.Tx, inside (*client.DB).Transact) and
// FromTransaction the flow client (*client.Transaction, on an actor). The
// package functions CreateOrOpen, Open, Create, Move, Remove,
// RemoveIfExists, List and Exists run one operation of the default layer
// in a transaction of their own:
//
//	users, err := directory.CreateOrOpen(ctx, db, []string{"app", "users"}, nil)
//	...
//	db.Transact(ctx, func(tx *client.Tx) (any, error) {
//		tx.Set(users.Pack(tuple.Tuple{"alice"}), []byte("..."))
//		return nil, nil
//	})
//
// Errors are FoundationDB's, as sentinels for errors.Is: ErrNotExist,
// ErrExists, ErrParentNotExist, ErrDestinationExists,
// ErrMoveIntoSubdirectory, ErrCrossPartition, ErrLayerMismatch and the
// rest in errors.go.
package directory
