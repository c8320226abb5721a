package subspace

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/strata-db/strata/db/tuple"
)

// ErrNotInSubspace is returned, wrapped, by Unpack for a key that does not
// start with the subspace's prefix.
var ErrNotInSubspace = errors.New("key is not in subspace")

// Subspace is a key prefix. The zero Subspace has the empty prefix and holds
// every key. Subspaces are immutable values, safe to share between
// goroutines.
type Subspace struct {
	prefix []byte
}

// Sub returns the subspace whose prefix is the packed tuple of elems, as in
// FoundationDB's Subspace((elems...)). It panics, like tuple.Tuple.Pack, if
// an element has an unsupported type.
func Sub(elems ...any) Subspace {
	return Subspace{prefix: tuple.Tuple(elems).Pack()}
}

// FromBytes returns the subspace with the raw prefix, as in FoundationDB's
// Subspace(rawPrefix=prefix). The prefix is copied.
func FromBytes(prefix []byte) Subspace {
	return Subspace{prefix: bytes.Clone(prefix)}
}

// Bytes returns the prefix. The caller must not modify it; appending to it
// is safe because its capacity is clipped.
func (s Subspace) Bytes() []byte {
	return slices.Clip(s.prefix)
}

// Sub returns the subspace nested in s under the packed tuple of elems: its
// prefix is s's prefix followed by the packed elems.
func (s Subspace) Sub(elems ...any) Subspace {
	p := make([]byte, 0, len(s.prefix)+16)
	p = append(p, s.prefix...)
	return Subspace{prefix: tuple.Tuple(elems).AppendPack(p)}
}

// Pack returns the key for t in s: the prefix followed by the packed t. It
// panics like tuple.Tuple.Pack.
func (s Subspace) Pack(t tuple.Tuple) []byte {
	key := make([]byte, 0, len(s.prefix)+32)
	return t.AppendPack(append(key, s.prefix...))
}

// PackWithVersionstamp returns the key for t in s for set_versionstamped_key:
// prefix, packed t, and the 4-byte little-endian offset of t's single
// incomplete versionstamp counted from the start of the key.
func (s Subspace) PackWithVersionstamp(t tuple.Tuple) ([]byte, error) {
	key, err := t.PackWithVersionstamp(s.prefix)
	if err != nil {
		return nil, fmt.Errorf("subspace %s: %w", s, err)
	}
	return key, nil
}

// Unpack returns the tuple that key holds below the prefix. It fails with
// ErrNotInSubspace when key does not start with the prefix, and with the
// *tuple.DecodeError when the rest is not a valid tuple; that error's offset
// counts from the end of the prefix.
func (s Subspace) Unpack(key []byte) (tuple.Tuple, error) {
	if !s.Contains(key) {
		return nil, fmt.Errorf("subspace %s: unpack %s: %w", s, printable(key), ErrNotInSubspace)
	}
	t, err := tuple.Unpack(key[len(s.prefix):])
	if err != nil {
		return nil, fmt.Errorf("subspace %s: unpack key after its %d-byte prefix: %w", s, len(s.prefix), err)
	}
	return t, nil
}

// Range returns the range of keys holding packed tuples below the prefix,
// [prefix+0x00, prefix+0xff), as FoundationDB's Subspace.range(()) does.
// The prefix itself is not in it.
func (s Subspace) Range() (begin, end []byte) {
	begin = append(s.Bytes(), 0x00)
	end = append(s.Bytes(), 0xff)
	return begin, end
}

// Contains reports whether key starts with the prefix.
func (s Subspace) Contains(key []byte) bool {
	return bytes.HasPrefix(key, s.prefix)
}

// String returns "Subspace(rawPrefix=b\"…\")", the prefix written the way
// tuple.Tuple.String writes byte strings.
func (s Subspace) String() string {
	return "Subspace(rawPrefix=" + printable(s.prefix) + ")"
}

// printable writes raw bytes as a b"…" literal by borrowing the tuple
// notation for a one-element tuple.
func printable(b []byte) string {
	t := tuple.Tuple{b}.String()
	return t[1 : len(t)-1]
}
