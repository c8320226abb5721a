package tuple

import (
	"math"
	"math/big"
	"testing"
)

func TestString(t *testing.T) {
	tests := []struct {
		in   Tuple
		want string
	}{
		{Tuple{}, "()"},
		{Tuple{"tenant", int64(42), []byte{0x01}}, `("tenant", 42, b"\x01")`},
		{Tuple{nil, true, false}, "(nil, true, false)"},
		{Tuple{[]byte("a\"b\\c\x00\xff~")}, `(b"a\"b\\c\x00\xff~")`},
		{Tuple{"qu\"ote\n\u00e9"}, `("qu\"ote\n` + "\u00e9" + `")`},
		{Tuple{Tuple{1, Tuple{}}, "x"}, `((1, ()), "x")`},
		{Tuple{uint64(math.MaxUint64), pow2(64, 0, true), *big.NewInt(3), int8(-2)}, "(18446744073709551615, -18446744073709551616, 3, -2)"},
		{Tuple{1.0, -1.5, math.Copysign(0, -1), 1e300, math.NaN(), math.Inf(1), math.Inf(-1)}, "(1.0, -1.5, -0.0, 1e+300, NaN, +Inf, -Inf)"},
		{Tuple{float32(2), float32(0.1)}, "(float32(2.0), float32(0.1))"},
		{Tuple{uuidValue}, `(UUID("00112233-4455-6677-8899-aabbccddeeff"))`},
		{Tuple{versionstampValue, IncompleteVersionstamp(3)}, "(Versionstamp(00000000000001020003, 1029), Versionstamp(incomplete, 3))"},
		{Tuple{struct{}{}}, "(<unsupported struct {}>)"},
	}
	for _, tc := range tests {
		if got := tc.in.String(); got != tc.want {
			t.Errorf("String() = %s\nwant       %s", got, tc.want)
		}
	}
}
