package client

import (
	"bytes"

	"github.com/strata-db/strata/db/kv"
)

// applyAtomic applies one mutation to a key's existing value with
// FoundationDB's semantics (fdb.md §2.3) and returns the new value and
// whether the key exists afterwards.
//
// It is a temporary copy of kv.ApplyAtomic, which is being written in
// parallel; the client switches to it once it is merged.
func applyAtomic(op kv.MutationType, existing []byte, exists bool, param []byte) ([]byte, bool) {
	switch op {
	case kv.SetValue:
		return param, true
	case kv.AddValue:
		return addLE(fitTo(existing, exists, len(param)), param), true
	case kv.BitAnd:
		if !exists {
			return param, true
		}
		return bitwise(fitTo(existing, exists, len(param)), param, func(a, b byte) byte { return a & b }), true
	case kv.BitOr:
		return bitwise(fitTo(existing, exists, len(param)), param, func(a, b byte) byte { return a | b }), true
	case kv.BitXor:
		return bitwise(fitTo(existing, exists, len(param)), param, func(a, b byte) byte { return a ^ b }), true
	case kv.AppendIfFits:
		if !exists {
			return param, true
		}
		if len(existing)+len(param) > kv.MaxValueSize {
			return existing, true
		}
		return append(bytes.Clone(existing), param...), true
	case kv.Max, kv.Min:
		if !exists {
			return param, true
		}
		old := fitTo(existing, exists, len(param))
		cmp := compareLE(old, param)
		if op == kv.Max && cmp >= 0 || op == kv.Min && cmp <= 0 {
			return old, true
		}
		return param, true
	case kv.ByteMin, kv.ByteMax:
		if !exists {
			return param, true
		}
		cmp := bytes.Compare(existing, param)
		if op == kv.ByteMin && cmp <= 0 || op == kv.ByteMax && cmp >= 0 {
			return existing, true
		}
		return param, true
	case kv.CompareAndClear:
		if exists && bytes.Equal(existing, param) {
			return nil, false
		}
		return existing, exists
	}
	return existing, exists
}

// fitTo returns v zero-extended or truncated to n bytes (a missing value
// is all zeros).
func fitTo(v []byte, exists bool, n int) []byte {
	out := make([]byte, n)
	if exists {
		copy(out, v)
	}
	return out
}

// addLE adds two little-endian integers of the same width, dropping the
// carry out of the top byte.
func addLE(a, b []byte) []byte {
	out := make([]byte, len(b))
	carry := 0
	for i := range b {
		s := int(a[i]) + int(b[i]) + carry
		out[i], carry = byte(s), s>>8
	}
	return out
}

func bitwise(a, b []byte, f func(a, b byte) byte) []byte {
	out := make([]byte, len(b))
	for i := range b {
		out[i] = f(a[i], b[i])
	}
	return out
}

// compareLE compares two little-endian unsigned integers of equal width.
func compareLE(a, b []byte) int {
	for i := len(a) - 1; i >= 0; i-- {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}
