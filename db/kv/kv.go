package kv

import (
	"bytes"
	"fmt"
	"strconv"
)

// Version is a database version: commit versions advance about 1,000,000
// per second and are strictly increasing.
type Version int64

// InvalidVersion marks an unset version.
const InvalidVersion Version = -1

// VersionsPerSecond is how fast versions advance with the clock.
const VersionsPerSecond = 1_000_000

// MVCCWindow is how long (in versions) storage servers keep old versions
// and resolvers keep writes: FoundationDB's 5 seconds.
const MVCCWindow Version = 5 * VersionsPerSecond

// Limits, as FoundationDB's.
const (
	MaxKeySize         = 10_000
	MaxValueSize       = 100_000
	MaxTransactionSize = 10_000_000
	// MaxSystemKeySize applies to keys under \xff.
	MaxSystemKeySize = 30_000
)

// SystemPrefix starts the system keyspace; SpecialPrefix the special keys
// materialised on read.
var (
	SystemPrefix  = []byte{0xff}
	SpecialPrefix = []byte{0xff, 0xff}
)

// KeyRange is the half-open range [Begin, End).
type KeyRange struct {
	Begin, End []byte
}

// Contains reports whether k is in r.
func (r KeyRange) Contains(k []byte) bool {
	return bytes.Compare(k, r.Begin) >= 0 && bytes.Compare(k, r.End) < 0
}

// Empty reports whether r contains no key.
func (r KeyRange) Empty() bool { return bytes.Compare(r.Begin, r.End) >= 0 }

// Intersects reports whether r and o share a key.
func (r KeyRange) Intersects(o KeyRange) bool {
	return bytes.Compare(r.Begin, o.End) < 0 && bytes.Compare(o.Begin, r.End) < 0
}

// Intersect returns the keys r and o share (an empty range if none).
func (r KeyRange) Intersect(o KeyRange) KeyRange {
	out := r
	if bytes.Compare(o.Begin, out.Begin) > 0 {
		out.Begin = o.Begin
	}
	if bytes.Compare(o.End, out.End) < 0 {
		out.End = o.End
	}
	return out
}

func (r KeyRange) String() string {
	return fmt.Sprintf("[%s, %s)", Printable(r.Begin), Printable(r.End))
}

// SingleKeyRange returns [k, k+\x00), the range holding only k.
func SingleKeyRange(k []byte) KeyRange { return KeyRange{Begin: k, End: KeyAfter(k)} }

// KeyAfter returns the first key after k: k + \x00.
func KeyAfter(k []byte) []byte {
	out := make([]byte, len(k)+1)
	copy(out, k)
	return out
}

// PrefixRange returns the range of keys starting with prefix. An empty
// prefix or one of only 0xff bytes has no finite end and gets \xff\xff.
func PrefixRange(prefix []byte) KeyRange {
	end := bytes.Clone(prefix)
	for len(end) > 0 && end[len(end)-1] == 0xff {
		end = end[:len(end)-1]
	}
	if len(end) == 0 {
		return KeyRange{Begin: bytes.Clone(prefix), End: []byte{0xff, 0xff}}
	}
	end[len(end)-1]++
	return KeyRange{Begin: bytes.Clone(prefix), End: end}
}

// KeyValue is one key and its value.
type KeyValue struct {
	Key, Value []byte
}

// KeySelector names a key relative to another, as FoundationDB's: the
// last key less than (OrEqual false) or less than or equal to (OrEqual
// true) Key, then Offset keys further (Offset 1 is the next key).
type KeySelector struct {
	Key     []byte
	OrEqual bool
	Offset  int
}

// LastLessThan selects the last key < k.
func LastLessThan(k []byte) KeySelector { return KeySelector{Key: k, OrEqual: false, Offset: 0} }

// LastLessOrEqual selects the last key <= k.
func LastLessOrEqual(k []byte) KeySelector { return KeySelector{Key: k, OrEqual: true, Offset: 0} }

// FirstGreaterThan selects the first key > k.
func FirstGreaterThan(k []byte) KeySelector { return KeySelector{Key: k, OrEqual: true, Offset: 1} }

// FirstGreaterOrEqual selects the first key >= k.
func FirstGreaterOrEqual(k []byte) KeySelector { return KeySelector{Key: k, OrEqual: false, Offset: 1} }

func (s KeySelector) String() string {
	return fmt.Sprintf("selector(%s, orEqual=%v, offset=%d)", Printable(s.Key), s.OrEqual, s.Offset)
}

// Printable renders a key or value as fdbcli does: printable ASCII as is,
// backslash as \\, other bytes as \xNN.
func Printable(b []byte) string {
	var sb bytes.Buffer
	for _, c := range b {
		switch {
		case c == '\\':
			sb.WriteString(`\\`)
		case c >= 32 && c < 127:
			sb.WriteByte(c)
		default:
			sb.WriteString(`\x`)
			sb.WriteString(strconv.FormatUint(uint64(c)>>4, 16))
			sb.WriteString(strconv.FormatUint(uint64(c)&15, 16))
		}
	}
	return sb.String()
}

// AllKeys is the whole user and system keyspace, ["", \xff\xff).
var AllKeys = KeyRange{Begin: []byte{}, End: []byte{0xff, 0xff}}
