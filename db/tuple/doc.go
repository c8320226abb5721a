// Package tuple encodes ordered tuples of typed values as byte strings whose
// bytewise order equals the tuple order, byte-compatible with FoundationDB's
// tuple layer (FoundationDB's design/tuple.md is the system of record for the
// type codes). It is the key encoding that Strata's layers (subspace,
// directory) and clients build on.
//
// # Element types
//
// A [Tuple] is a []any whose elements have one of these Go types:
//
//	nil                                        0x00
//	[]byte                                     0x01 byte string
//	string (valid UTF-8, see Tuple.Validate)   0x02 unicode string
//	Tuple                                      0x05 nested tuple
//	int, int8, int16, int32, int64,
//	uint, uint8, uint16, uint32, uint64        0x0c–0x1c
//	*big.Int, big.Int (|v| < 2^2040)           0x0b / 0x0c–0x1c / 0x1d
//	float32                                    0x20
//	float64                                    0x21
//	bool                                       0x26 false, 0x27 true
//	UUID                                       0x30
//	Versionstamp                               0x33
//
// Integers always use the shortest encoding: values whose magnitude fits in
// 64 bits use the fixed-width codes 0x0c–0x1c whatever their Go type, larger
// ones the arbitrary-precision codes 0x0b (negative) and 0x1d (positive), as
// FoundationDB's Go and Java bindings do.
//
// # Decoding
//
// [Unpack] normalises integers: a value that fits in int64 comes back as
// int64, a non-negative value that fits only in uint64 as uint64, anything
// else as *big.Int. Byte strings come back as []byte (a copy, never aliasing
// the input), unicode strings as string, nested tuples as Tuple.
//
// Unpack accepts integers written with more bytes than needed (FoundationDB's
// Python binding writes ±(2^64-1) with the arbitrary-precision codes); such
// input re-packs to the shorter canonical bytes. Every other accepted input
// re-packs to exactly the bytes it came from. Malformed input is rejected
// with a [*DecodeError] naming the problem and its byte offset.
//
// # Reading elements
//
// Typed getters return element i as one Go type: [Tuple.StringAt] (String is
// the fmt.Stringer method), [Tuple.Bytes], [Tuple.Int64], [Tuple.Uint64],
// [Tuple.BigInt], [Tuple.Float32], [Tuple.Float64], [Tuple.Bool],
// [Tuple.UUID], [Tuple.Versionstamp], [Tuple.Tuple] and [Tuple.IsNil]. They
// return an error wrapping [ErrIndex] when i is outside the tuple and one
// wrapping [ErrType] when the element has another type. The integer getters
// accept any integer element whose value fits the requested type, whatever
// Go type holds it.
//
// # Order and notation
//
// [Compare] implements the tuple order from the values themselves; the
// bytewise order of packed tuples equals it. [Tuple.String] prints a tuple
// in an FDB-like notation such as ("tenant", 42, b"\x01").
//
// # Versionstamps
//
// A [Versionstamp] whose transaction version is ten 0xff bytes is incomplete:
// the database fills it in at commit time. [Tuple.PackWithVersionstamp] packs
// a tuple holding exactly one incomplete versionstamp and appends the 4-byte
// little-endian offset of its transaction version, the form that
// set_versionstamped_key expects (API version ≥ 520). [Tuple.Pack] writes an
// incomplete versionstamp literally, so that any key read back re-packs to the
// same bytes; such a key is only meaningful through PackWithVersionstamp.
//
// # Programming errors
//
// Pack, AppendPack, [Range] and [Compare] panic when a tuple holds a value of
// an unsupported type, a nil *big.Int, or an integer of 256 bytes or more —
// the same contract as FoundationDB's Go binding. Callers holding values from
// outside the program check them first with [Tuple.Validate].
package tuple
