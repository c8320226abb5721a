package tuple

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"math/big"
)

// Compare returns -1, 0 or +1 as a sorts before, equal to, or after b in
// FoundationDB's tuple order, which is the bytewise order of their packed
// forms. Elements compare first by type, in type-code order (nil, byte
// string, unicode string, nested tuple, integer, float32, float64, false,
// true, UUID, versionstamp), then by value: strings bytewise on their UTF-8,
// integers numerically whatever their Go type, floats in IEEE total order
// (negative NaNs < -Inf < … < -0 < +0 < … < +Inf < positive NaNs), nested
// tuples recursively. A tuple that is a prefix of another sorts first.
//
// Compare is computed from the values, not from their encodings, so tests
// can check the encoder against it. It panics on unsupported element types.
func Compare(a, b Tuple) int {
	for i := range min(len(a), len(b)) {
		if c := compareElements(a[i], b[i]); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(a), len(b))
}

// Type ranks, in type-code order.
const (
	rankNull = iota
	rankBytes
	rankString
	rankNested
	rankInt
	rankFloat32
	rankFloat64
	rankBool
	rankUUID
	rankVersionstamp
)

func rank(v any) int {
	switch v.(type) {
	case nil:
		return rankNull
	case []byte:
		return rankBytes
	case string:
		return rankString
	case Tuple:
		return rankNested
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, *big.Int, big.Int:
		return rankInt
	case float32:
		return rankFloat32
	case float64:
		return rankFloat64
	case bool:
		return rankBool
	case UUID:
		return rankUUID
	case Versionstamp:
		return rankVersionstamp
	default:
		panic(fmt.Sprintf("tuple: compare: unsupported type %T", v))
	}
}

func compareElements(a, b any) int {
	ra, rb := rank(a), rank(b)
	if ra != rb {
		return cmp.Compare(ra, rb)
	}
	switch a := a.(type) {
	case nil:
		return 0
	case []byte:
		return bytes.Compare(a, b.([]byte))
	case string:
		return cmp.Compare(a, b.(string))
	case Tuple:
		return Compare(a, b.(Tuple))
	case float32:
		bf := b.(float32)
		return compareFloats(float64(a), float64(bf), uint64(math.Float32bits(a)), uint64(math.Float32bits(bf)))
	case float64:
		bf := b.(float64)
		return compareFloats(a, bf, math.Float64bits(a), math.Float64bits(bf))
	case bool:
		return compareBools(a, b.(bool))
	case UUID:
		bu := b.(UUID)
		return bytes.Compare(a[:], bu[:])
	case Versionstamp:
		bv := b.(Versionstamp)
		if c := bytes.Compare(a.TransactionVersion[:], bv.TransactionVersion[:]); c != 0 {
			return c
		}
		return cmp.Compare(a.UserVersion, bv.UserVersion)
	default:
		return compareInts(a, b)
	}
}

func compareBools(a, b bool) int {
	switch {
	case a == b:
		return 0
	case b:
		return -1
	default:
		return 1
	}
}

// compareFloats orders two floats of one width in IEEE total order. aBits
// and bBits are their raw bit patterns, used only to order NaNs, whose
// payloads float conversion may not preserve.
func compareFloats(a, b float64, aBits, bBits uint64) int {
	if ca, cb := floatClass(a), floatClass(b); ca != cb {
		return cmp.Compare(ca, cb)
	}
	switch {
	case math.IsNaN(a) && math.Signbit(a):
		return cmp.Compare(bBits, aBits) // larger payloads are more negative
	case math.IsNaN(a):
		return cmp.Compare(aBits, bBits)
	case a == b && math.Signbit(a) != math.Signbit(b): // -0 and +0
		if math.Signbit(a) {
			return -1
		}
		return 1
	default:
		return cmp.Compare(a, b)
	}
}

// floatClass splits floats into negative NaNs (0), numbers (1) and positive
// NaNs (2).
func floatClass(f float64) int {
	switch {
	case !math.IsNaN(f):
		return 1
	case math.Signbit(f):
		return 0
	default:
		return 2
	}
}

// compareInts compares two integers of any supported Go types by value.
func compareInts(a, b any) int {
	ai, aok := asInt64(a)
	bi, bok := asInt64(b)
	if aok && bok {
		return cmp.Compare(ai, bi)
	}
	return toBig(a).Cmp(toBig(b))
}

// asInt64 returns v as an int64 when v is an integer that fits.
func asInt64(v any) (int64, bool) {
	switch v := v.(type) {
	case int:
		return int64(v), true
	case int8:
		return int64(v), true
	case int16:
		return int64(v), true
	case int32:
		return int64(v), true
	case int64:
		return v, true
	case uint:
		return int64(v), uint64(v) <= math.MaxInt64
	case uint8:
		return int64(v), true
	case uint16:
		return int64(v), true
	case uint32:
		return int64(v), true
	case uint64:
		return int64(v), v <= math.MaxInt64
	case *big.Int:
		if v == nil || !v.IsInt64() {
			return 0, false
		}
		return v.Int64(), true
	case big.Int:
		if !v.IsInt64() {
			return 0, false
		}
		return v.Int64(), true
	}
	return 0, false
}

// toBig returns integer v as a *big.Int; it panics on a nil *big.Int, a
// programming error like in Pack.
func toBig(v any) *big.Int {
	if i, ok := asInt64(v); ok {
		return big.NewInt(i)
	}
	switch v := v.(type) {
	case uint:
		return new(big.Int).SetUint64(uint64(v))
	case uint64:
		return new(big.Int).SetUint64(v)
	case *big.Int:
		if v == nil {
			panic("tuple: compare: nil *big.Int")
		}
		return v
	case big.Int:
		return &v
	}
	panic(fmt.Sprintf("tuple: compare: %T is not an integer", v))
}
