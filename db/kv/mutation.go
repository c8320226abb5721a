package kv

import "fmt"

// MutationType is the kind of a mutation, with FoundationDB's codes for the
// atomic operations (fdb.options MutationType) so that logs and wire
// messages are easy to compare with FDB's.
type MutationType uint8

// Mutation types.
const (
	SetValue             MutationType = 0
	ClearRange           MutationType = 1
	AddValue             MutationType = 2
	BitAnd               MutationType = 6
	BitOr                MutationType = 7
	BitXor               MutationType = 8
	AppendIfFits         MutationType = 9
	Max                  MutationType = 12
	Min                  MutationType = 13
	SetVersionstampedKey MutationType = 14
	SetVersionstampedVal MutationType = 15
	ByteMin              MutationType = 16
	ByteMax              MutationType = 17
	CompareAndClear      MutationType = 20
	// PrivateRemoveShard is Strata's private mutation (FoundationDB's
	// serverKeys): a commit proxy tags it to a storage server that stops
	// owning [Key, Param) at the mutation's version, so the server learns
	// in version order, through its own log stream, that it must stop
	// serving the range. Clients never send it.
	PrivateRemoveShard MutationType = 200
)

var mutationNames = map[MutationType]string{
	SetValue: "set", ClearRange: "clear_range", AddValue: "add", BitAnd: "bit_and", BitOr: "bit_or",
	BitXor: "bit_xor", AppendIfFits: "append_if_fits", Max: "max", Min: "min",
	SetVersionstampedKey: "set_versionstamped_key", SetVersionstampedVal: "set_versionstamped_value",
	ByteMin: "byte_min", ByteMax: "byte_max", CompareAndClear: "compare_and_clear",
}

func (t MutationType) String() string {
	if n, ok := mutationNames[t]; ok {
		return n
	}
	return fmt.Sprintf("mutation(%d)", uint8(t))
}

// Valid reports whether t is a known mutation type.
func (t MutationType) Valid() bool { _, ok := mutationNames[t]; return ok }

// IsAtomic reports whether t is an atomic read-modify-write operation
// applied by storage servers against the existing value.
func (t MutationType) IsAtomic() bool {
	switch t {
	case SetValue, ClearRange, SetVersionstampedKey, SetVersionstampedVal:
		return false
	}
	return t.Valid()
}

// Mutation is one write. For SetValue and the atomic ops Param is the
// value or operand; for ClearRange, Key..Param is the cleared range
// [Key, Param).
type Mutation struct {
	Type  MutationType
	Key   []byte
	Param []byte
}

func (m Mutation) String() string {
	return fmt.Sprintf("%s(%s, %s)", m.Type, Printable(m.Key), Printable(m.Param))
}

// Size is the mutation's contribution to the transaction size limit.
func (m Mutation) Size() int { return len(m.Key) + len(m.Param) }
