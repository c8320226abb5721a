package tuple

import (
	"bytes"
	"math"
	"math/big"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

// The generators draw from small alphabets so that equal values, shared
// prefixes and the escaping edge cases (0x00, 0xff) come up often.

var (
	byteAlphabet   = []byte{0x00, 0x01, 'a', 0xfe, 0xff}
	stringAlphabet = []string{"\x00", "a", "b", "\u00e9", "\U0001f600", "\x7f"}
	intBoundaries  = []int64{0, 1, -1, 255, -255, 256, -256, 65535, -65536, math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1}
	floatSpecials  = []float64{0, math.Copysign(0, -1), 1, -1, math.Inf(1), math.Inf(-1), math.NaN(),
		math.Float64frombits(0xfff8000000000000), math.Float64frombits(0x7ff0000000000001),
		math.Float64frombits(0xfff0000000000001), math.SmallestNonzeroFloat64, math.MaxFloat64, -math.MaxFloat64}
	float32Specials = []float32{0, float32(math.Copysign(0, -1)), 1, -1, float32(math.Inf(1)), float32(math.Inf(-1)),
		math.Float32frombits(0x7fc00000), math.Float32frombits(0xffc00000), math.Float32frombits(0x7f800001),
		math.Float32frombits(0xff800001), math.SmallestNonzeroFloat32, math.MaxFloat32}
)

func genBytes() *rapid.Generator[[]byte] {
	return rapid.SliceOfN(rapid.SampledFrom(byteAlphabet), 0, 4)
}

func genString() *rapid.Generator[string] {
	return rapid.Custom(func(t *rapid.T) string {
		var s string
		for _, part := range rapid.SliceOfN(rapid.SampledFrom(stringAlphabet), 0, 4).Draw(t, "parts") {
			s += part
		}
		return s
	})
}

// genInteger draws an integer value and a Go type to hold it, so that the
// order must not depend on the type.
func genInteger() *rapid.Generator[any] {
	return rapid.Custom(func(t *rapid.T) any {
		var v *big.Int
		switch rapid.IntRange(0, 5).Draw(t, "intKind") {
		case 0:
			v = big.NewInt(rapid.Int64Range(-300, 300).Draw(t, "small"))
		case 1:
			v = big.NewInt(rapid.SampledFrom(intBoundaries).Draw(t, "boundary"))
		case 2:
			v = big.NewInt(rapid.Int64().Draw(t, "int64"))
		case 3:
			v = new(big.Int).SetUint64(rapid.Uint64().Draw(t, "uint64"))
		case 4: // near ±2^64, where the fixed and arbitrary-precision codes meet
			v = pow2(64, rapid.Int64Range(-3, 3).Draw(t, "delta"), rapid.Bool().Draw(t, "neg"))
		default:
			mag := rapid.SliceOfN(rapid.SampledFrom([]byte{0x00, 0x01, 0x80, 0xff}), 1, 40).Draw(t, "mag")
			v = new(big.Int).SetBytes(mag)
			if rapid.Bool().Draw(t, "negative") {
				v.Neg(v)
			}
		}
		return asGoType(t, v)
	})
}

// asGoType picks one of the Go types that can hold v.
func asGoType(t *rapid.T, v *big.Int) any {
	var choices []func() any
	if v.IsInt64() {
		i := v.Int64()
		choices = append(choices, func() any { return i }, func() any { return int(i) })
		if i >= math.MinInt32 && i <= math.MaxInt32 {
			choices = append(choices, func() any { return int32(i) })
		}
		if i >= 0 && i <= math.MaxUint8 {
			choices = append(choices, func() any { return uint8(i) })
		}
	}
	if v.IsUint64() {
		u := v.Uint64()
		choices = append(choices, func() any { return u }, func() any { return uint(u) })
	}
	choices = append(choices, func() any { return v })
	return choices[rapid.IntRange(0, len(choices)-1).Draw(t, "goType")]()
}

func genElement(depth int) *rapid.Generator[any] {
	return rapid.Custom(func(t *rapid.T) any {
		maxRank := rankVersionstamp
		if rapid.IntRange(0, 9).Draw(t, "common") == 0 {
			return rapid.SampledFrom([]any{0, "", []byte{}, false}).Draw(t, "commonValue")
		}
		r := rapid.IntRange(rankNull, maxRank).Draw(t, "rank")
		if r == rankNested && depth >= 2 {
			r = rankNull // no deeper nesting
		}
		return genOfRank(r, depth).Draw(t, "element")
	})
}

// genOfRank draws an element of one type rank, so that tests can pit two
// values of the same type against each other.
func genOfRank(r, depth int) *rapid.Generator[any] {
	return rapid.Custom(func(t *rapid.T) any {
		switch r {
		case rankNull:
			return rapid.Just[any](nil).Draw(t, "nil")
		case rankBytes:
			return genBytes().Draw(t, "bytes")
		case rankString:
			return genString().Draw(t, "string")
		case rankNested:
			return genTuple(depth+1).Draw(t, "nested")
		case rankInt:
			return genInteger().Draw(t, "int")
		case rankFloat32:
			if rapid.Bool().Draw(t, "rawBits") {
				return math.Float32frombits(rapid.Uint32().Draw(t, "f32bits"))
			}
			return rapid.SampledFrom(float32Specials).Draw(t, "f32")
		case rankFloat64:
			if rapid.Bool().Draw(t, "rawBits") {
				return math.Float64frombits(rapid.Uint64().Draw(t, "f64bits"))
			}
			return rapid.SampledFrom(floatSpecials).Draw(t, "f64")
		case rankBool:
			return rapid.Bool().Draw(t, "bool")
		case rankUUID:
			var u UUID
			copy(u[:], rapid.SliceOfN(rapid.SampledFrom([]byte{0x00, 0x7f, 0xff}), 16, 16).Draw(t, "uuid"))
			return u
		default:
			v := IncompleteVersionstamp(rapid.SampledFrom([]uint16{0, 1, 0xffff}).Draw(t, "user"))
			if rapid.Bool().Draw(t, "complete") {
				copy(v.TransactionVersion[:], rapid.SliceOfN(rapid.SampledFrom([]byte{0x00, 0xff}), 10, 10).Draw(t, "tv"))
			}
			return v
		}
	})
}

func genTuple(depth int) *rapid.Generator[Tuple] {
	return rapid.Custom(func(t *rapid.T) Tuple {
		return Tuple(rapid.SliceOfN(genElement(depth), 0, 4).Draw(t, "elems"))
	})
}

// genRelatedTuple draws a tuple sharing a prefix with a, and usually an
// element of the same type right after it, so that comparisons reach past
// the first element and into same-typed values.
func genRelatedTuple(t *rapid.T, a Tuple) Tuple {
	if rapid.IntRange(0, 4).Draw(t, "independent") == 0 {
		return genTuple(0).Draw(t, "b")
	}
	keep := rapid.IntRange(0, len(a)).Draw(t, "keep")
	b := append(Tuple{}, a[:keep]...)
	if keep < len(a) && rapid.IntRange(0, 3).Draw(t, "sameType") > 0 {
		b = append(b, genOfRank(rank(a[keep]), 1).Draw(t, "sameTypeElement"))
	}
	return append(b, genTuple(0).Draw(t, "tail")...)
}

func sign(c int) int {
	switch {
	case c < 0:
		return -1
	case c > 0:
		return 1
	}
	return 0
}

// TestPackPreservesOrder is the property the tuple layer exists for: the
// bytewise order of packed tuples equals the tuple order.
func TestPackPreservesOrder(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := genTuple(0).Draw(t, "a")
		b := genRelatedTuple(t, a)
		byBytes := sign(bytes.Compare(a.Pack(), b.Pack()))
		byValue := Compare(a, b)
		if byBytes != byValue {
			t.Fatalf("bytes order %d, tuple order %d\na = %v (%x)\nb = %v (%x)", byBytes, byValue, a, a.Pack(), b, b.Pack())
		}
		if Compare(b, a) != -byValue {
			t.Fatalf("Compare is not antisymmetric for %v and %v", a, b)
		}
	})
}

func TestRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		in := genTuple(0).Draw(t, "t")
		packed := in.Pack()
		got, canonical, err := unpack(packed)
		if err != nil {
			t.Fatalf("Unpack(Pack(%v)) = %v", in, err)
		}
		if !canonical {
			t.Fatalf("Pack(%v) = %x is not canonical", in, packed)
		}
		if diff := cmp.Diff(normalized(in), got, cmpOpts); diff != "" {
			t.Fatalf("round trip mismatch (-want +got):\n%s", diff)
		}
		if repacked := got.Pack(); !bytes.Equal(repacked, packed) {
			t.Fatalf("re-pack %x != pack %x", repacked, packed)
		}
	})
}

// TestRangeHoldsExtensions checks Range against generated tuples: every
// strict extension is inside, the tuple itself and unrelated tuples are
// inside exactly when they compare so.
func TestRangeHoldsExtensions(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		prefix := genTuple(0).Draw(t, "prefix")
		tail := genTuple(0).Draw(t, "tail")
		begin, end := Range(prefix)
		key := append(append(Tuple{}, prefix...), tail...).Pack()
		inside := bytes.Compare(key, begin) >= 0 && bytes.Compare(key, end) < 0
		if inside != (len(tail) > 0) {
			t.Fatalf("key %x of %v+%v inside [%x, %x) = %v", key, prefix, tail, begin, end, inside)
		}
	})
}
