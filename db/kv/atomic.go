package kv

import "bytes"

// ApplyAtomic computes the result of the atomic operation op with operand
// param on a key whose current value is existing (exists false: the key is
// missing, which is not the same as an empty value). keep false means the
// key is cleared; otherwise value is its new value. The semantics are
// FoundationDB's at API version 510 and later (fdbclient/Atomic.h):
//
//   - add, bit_or, bit_xor and max treat a missing or shorter value as
//     zero-extended and a longer one as truncated to len(param); integers are
//     little-endian and unsigned, so add wraps on overflow;
//   - bit_and, min, byte_min and byte_max store param on a missing key;
//   - append_if_fits leaves the value unchanged when the result would exceed
//     MaxValueSize, without an error;
//   - compare_and_clear clears the key when its value equals param and
//     leaves a missing key missing.
//
// SetValue returns param. Any other non-atomic type leaves the key as it
// is. The result may share memory with existing or param; neither is
// modified.
func ApplyAtomic(op MutationType, existing []byte, exists bool, param []byte) (value []byte, keep bool) {
	switch op {
	case SetValue:
		return param, true
	case AddValue:
		return atomicAdd(existing, param), true
	case BitAnd:
		if !exists {
			return param, true
		}
		return bitwise(existing, param, func(a, b byte) byte { return a & b }), true
	case BitOr:
		return bitwiseOrParam(existing, param, func(a, b byte) byte { return a | b }), true
	case BitXor:
		return bitwiseOrParam(existing, param, func(a, b byte) byte { return a ^ b }), true
	case AppendIfFits:
		return appendIfFits(existing, param), true
	case Max:
		return atomicMax(existing, param), true
	case Min:
		if !exists {
			return param, true
		}
		return atomicMin(existing, param), true
	case ByteMin:
		if exists && bytes.Compare(existing, param) < 0 {
			return existing, true
		}
		return param, true
	case ByteMax:
		if exists && bytes.Compare(existing, param) > 0 {
			return existing, true
		}
		return param, true
	case CompareAndClear:
		if !exists || bytes.Equal(existing, param) {
			return nil, false
		}
		return existing, true
	}
	return existing, exists
}

// atomicAdd adds existing (zero-extended or truncated to len(param)) to
// param as little-endian integers, wrapping at len(param) bytes.
func atomicAdd(existing, param []byte) []byte {
	if len(existing) == 0 || len(param) == 0 {
		return param
	}
	out := make([]byte, len(param))
	carry := 0
	for i := range param {
		sum := int(param[i]) + carry
		if i < len(existing) {
			sum += int(existing[i])
		}
		out[i] = byte(sum)
		carry = sum >> 8
	}
	return out
}

// bitwise combines existing, zero-extended or truncated to len(param), with
// param byte by byte.
func bitwise(existing, param []byte, op func(a, b byte) byte) []byte {
	out := make([]byte, len(param))
	for i := range param {
		var e byte
		if i < len(existing) {
			e = existing[i]
		}
		out[i] = op(e, param[i])
	}
	return out
}

// bitwiseOrParam is bitwise, except that an empty existing value (or an
// empty param) yields param, as FoundationDB's or and xor do.
func bitwiseOrParam(existing, param []byte, op func(a, b byte) byte) []byte {
	if len(existing) == 0 || len(param) == 0 {
		return param
	}
	return bitwise(existing, param, op)
}

func appendIfFits(existing, param []byte) []byte {
	switch {
	case len(existing) == 0:
		return param
	case len(param) == 0:
		return existing
	case len(existing)+len(param) > MaxValueSize:
		return existing
	}
	out := make([]byte, 0, len(existing)+len(param))
	return append(append(out, existing...), param...)
}

// compareLittleEndian compares existing, zero-extended or truncated to
// len(param), with param as unsigned little-endian integers.
func compareLittleEndian(existing, param []byte) int {
	for i := len(param) - 1; i >= 0; i-- {
		var e byte
		if i < len(existing) {
			e = existing[i]
		}
		switch {
		case e < param[i]:
			return -1
		case e > param[i]:
			return 1
		}
	}
	return 0
}

// fitted returns existing zero-extended or truncated to n bytes.
func fitted(existing []byte, n int) []byte {
	out := make([]byte, n)
	copy(out, existing)
	return out
}

func atomicMax(existing, param []byte) []byte {
	if len(existing) == 0 || len(param) == 0 {
		return param
	}
	if compareLittleEndian(existing, param) > 0 {
		return fitted(existing, len(param))
	}
	return param
}

func atomicMin(existing, param []byte) []byte {
	if len(param) == 0 {
		return param
	}
	if compareLittleEndian(existing, param) < 0 {
		return fitted(existing, len(param))
	}
	return param
}
