package tuple

import (
	"bytes"
	"math"
	"math/big"
	"testing"
)

// orderSamples holds values of every type at its edges; TestCompareAllPairs
// checks Compare against the packed order for each pair.
func orderSamples() []any {
	s := []any{nil, []byte{}, []byte{0x00}, []byte{0x00, 0xff}, []byte{0x01}, []byte{0xff}, "", "\x00", "a", "a\x00", "\u00e9",
		Tuple{}, Tuple{nil}, Tuple{nil, nil}, Tuple{Tuple{}}, Tuple{0}, Tuple{"a"}, true, false, uuidValue, UUID{},
		versionstampValue, IncompleteVersionstamp(0), IncompleteVersionstamp(1)}
	for _, i := range intBoundaries {
		s = append(s, i)
	}
	for _, n := range []int{63, 64, 65, 100, 2039} {
		for _, d := range []int64{-1, 0, 1} {
			s = append(s, pow2(n, d, false), pow2(n, d, true))
		}
	}
	s = append(s, uint64(math.MaxUint64), uint(1<<63), int8(-1), uint8(200), *big.NewInt(-7))
	for _, f := range floatSpecials {
		s = append(s, f)
	}
	for _, f := range float32Specials {
		s = append(s, f)
	}
	return s
}

func TestCompareAllPairs(t *testing.T) {
	samples := orderSamples()
	for _, x := range samples {
		for _, y := range samples {
			a, b := Tuple{x}, Tuple{y}
			if want, got := sign(bytes.Compare(a.Pack(), b.Pack())), Compare(a, b); got != want {
				t.Errorf("Compare(%v, %v) = %d, bytes order %d", a, b, got, want)
			}
		}
	}
}

func TestCompareExamples(t *testing.T) {
	negNaN := math.Float64frombits(0xfff8000000000000)
	tests := []struct {
		a, b Tuple
		want int
	}{
		{Tuple{}, Tuple{nil}, -1},
		{Tuple{"a"}, Tuple{"a", 1}, -1},
		{Tuple{int64(5)}, Tuple{uint8(5)}, 0},
		{Tuple{big.NewInt(5)}, Tuple{5}, 0},
		{Tuple{uint64(math.MaxUint64)}, Tuple{pow2(64, 0, false)}, -1},
		{Tuple{pow2(64, 0, true)}, Tuple{int64(math.MinInt64)}, -1},
		{Tuple{math.Copysign(0, -1)}, Tuple{0.0}, -1},
		{Tuple{negNaN}, Tuple{math.Inf(-1)}, -1},
		{Tuple{math.NaN()}, Tuple{math.Inf(1)}, 1},
		{Tuple{float32(100)}, Tuple{-1.0}, -1}, // float32 sorts before float64 whatever the values
		{Tuple{false}, Tuple{true}, -1},
		{Tuple{[]byte("b")}, Tuple{"a"}, -1}, // byte strings before unicode strings
		{Tuple{Tuple{1}}, Tuple{0}, -1},      // nested tuples before integers
		{Tuple{"\x00"}, Tuple{""}, 1},
	}
	for _, tc := range tests {
		if got := Compare(tc.a, tc.b); got != tc.want {
			t.Errorf("Compare(%v, %v) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
