package tuple

import (
	"bytes"
	"errors"
	"math"
	"math/big"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// cmpOpts compares decoded tuples: big ints by value, floats by bit pattern
// (so NaN payloads and -0 count), nil and empty slices alike.
var cmpOpts = cmp.Options{
	cmp.Comparer(func(a, b *big.Int) bool { return a.Cmp(b) == 0 }),
	cmp.Comparer(func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }),
	cmp.Comparer(func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }),
	cmpopts.EquateEmpty(),
}

// normalized returns t with every integer in the Go type Unpack uses.
func normalized(t Tuple) Tuple {
	out := make(Tuple, len(t))
	for i, v := range t {
		switch v := v.(type) {
		case Tuple:
			out[i] = normalized(v)
		default:
			if isInteger(v) {
				out[i] = normalizeBig(new(big.Int).Set(toBig(v)))
			} else {
				out[i] = v
			}
		}
	}
	return out
}

func TestUnpackVectors(t *testing.T) {
	for _, group := range [][]packCase{specCases, integerCases, floatCases, otherCases} {
		for _, tc := range group {
			t.Run(tc.name, func(t *testing.T) {
				got, err := Unpack(tc.want)
				if err != nil {
					t.Fatalf("Unpack(%x): %v", tc.want, err)
				}
				if diff := cmp.Diff(normalized(tc.in), got, cmpOpts); diff != "" {
					t.Errorf("Unpack(%x) mismatch (-want +got):\n%s", tc.want, diff)
				}
			})
		}
	}
}

func TestUnpackIntegerTypes(t *testing.T) {
	tests := []struct {
		in   []byte
		want any
	}{
		{b(0x1c, 0x7f, rep(0xff, 7)), int64(math.MaxInt64)},
		{b(0x1c, 0x80, rep(0x00, 7)), uint64(1 << 63)},
		{b(0x1c, rep(0xff, 8)), uint64(math.MaxUint64)},
		{b(0x0c, 0x7f, rep(0xff, 7)), int64(math.MinInt64)},
		{b(0x0c, 0x7f, rep(0xff, 6), 0xfe), pow2(63, -1, true)},
		{b(0x0c, rep(0x00, 8)), pow2(64, 1, true)},
		{b(0x1d, 0x09, 0x01, rep(0x00, 8)), pow2(64, 0, false)},
		{b(0x0b, 0xf6, 0xfe, rep(0xff, 8)), pow2(64, 0, true)},
	}
	for _, tc := range tests {
		got, err := Unpack(tc.in)
		if err != nil {
			t.Fatalf("Unpack(%x): %v", tc.in, err)
		}
		if diff := cmp.Diff(Tuple{tc.want}, got, cmpOpts); diff != "" {
			t.Errorf("Unpack(%x) mismatch (-want +got):\n%s", tc.in, diff)
		}
	}
}

// TestUnpackNonCanonicalIntegers checks that over-long integer encodings,
// which FoundationDB's Python binding writes for ±(2^64-1), decode to their
// value and re-pack to the short form.
func TestUnpackNonCanonicalIntegers(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want any
	}{
		{"python 2^64-1", b(0x1d, 0x08, rep(0xff, 8)), uint64(math.MaxUint64)},
		{"python -(2^64-1)", b(0x0b, 0xf7, rep(0x00, 8)), pow2(64, 1, true)},
		{"padded positive", b(0x16, 0x00, 0x05), int64(5)},
		{"padded negative", b(0x12, 0xff, 0xfa), int64(-5)},
		{"negative zero", b(0x13, 0xff), int64(0)},
		{"empty big int", b(0x1d, 0x00), int64(0)},
		{"padded big int", b(0x1d, 0x0a, 0x00, 0x01, rep(0x00, 8)), pow2(64, 0, false)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, canonical, err := unpack(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if canonical {
				t.Errorf("unpack(%x) reported canonical input", tc.in)
			}
			if diff := cmp.Diff(Tuple{tc.want}, got, cmpOpts); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
			if repacked := got.Pack(); !bytes.Equal(repacked, Tuple{tc.want}.Pack()) || len(repacked) >= len(tc.in) {
				t.Errorf("re-packed to %x, want the shorter canonical form", repacked)
			}
		})
	}
}

func TestUnpackCopiesByteStrings(t *testing.T) {
	in := b(0x01, "ab", 0x00)
	got, err := Unpack(in)
	if err != nil {
		t.Fatal(err)
	}
	in[1] = 'X'
	if v, _ := got.Bytes(0); string(v) != "ab" {
		t.Errorf("decoded bytes changed with the input: %q", v)
	}
}

func TestUnpackRejectsMalformed(t *testing.T) {
	deep := append(bytes.Repeat([]byte{0x05}, maxNesting+1), bytes.Repeat([]byte{0x00}, maxNesting+1)...)
	tests := []struct {
		name   string
		in     []byte
		offset int
		reason string
	}{
		{"unterminated bytes", b(0x14, 0x01, "ab"), 1, "unterminated byte string"},
		{"unterminated bytes ending in escape", b(0x01, "a", 0x00, 0xff), 0, "unterminated byte string"},
		{"unterminated string", b(0x02, "ab"), 0, "unterminated unicode string"},
		{"unterminated nested", b(0x15, 0x01, 0x05, 0x14), 2, "unterminated nested tuple"},
		{"unterminated nested after null", b(0x05, 0x00, 0xff), 0, "unterminated nested tuple"},
		{"unterminated inner nested", b(0x05, 0x05, 0x00), 0, "unterminated nested tuple"},
		{"string inside nested unterminated", b(0x05, 0x02, "a"), 1, "unterminated unicode string"},
		{"truncated int", b(0x16, 0x01), 0, "truncated integer: need 2 payload bytes, have 1"},
		{"truncated negative int", b(0x14, 0x0c, 0x00), 1, "truncated integer: need 8 payload bytes, have 1"},
		{"missing big int length", b(0x1d), 0, "truncated arbitrary-precision integer length"},
		{"truncated big int", b(0x1d, 0x09, 0x01), 0, "truncated arbitrary-precision integer: need 9 payload bytes, have 1"},
		{"truncated negative big int", b(0x0b, 0xf6, 0xfe), 0, "truncated arbitrary-precision integer: need 9 payload bytes, have 1"},
		{"truncated float32", b(0x20, 0x80, 0x00), 0, "truncated float32: need 4 payload bytes, have 2"},
		{"truncated float64", b(0x21, rep(0x80, 7)), 0, "truncated float64: need 8 payload bytes, have 7"},
		{"truncated uuid", b(0x30, rep(0x01, 15)), 0, "truncated UUID: need 16 payload bytes, have 15"},
		{"truncated versionstamp", b(0x33, rep(0x01, 11)), 0, "truncated versionstamp: need 12 payload bytes, have 11"},
		{"invalid utf-8", b(0x02, "a", 0xff, 0x00), 0, "invalid UTF-8 in unicode string"},
		{"truncated utf-8", b(0x14, 0x02, 0xc3, 0x00), 1, "invalid UTF-8 in unicode string"},
		{"surrogate", b(0x02, 0xed, 0xa0, 0x80, 0x00), 0, "invalid UTF-8 in unicode string"},
		{"escape byte as code", b(0xff), 0, "escape byte 0xff where a type code belongs at offset 0"},
		{"escape after element", b(0x14, 0xff), 1, "escape byte 0xff"},
		{"escape in nested", b(0x05, 0xff, 0x00), 1, "escape byte 0xff"},
		{"old nested tuple", b(0x03), 0, "deprecated type code 0x03"},
		{"old true", b(0x25), 0, "deprecated type code 0x25"},
		{"negative int beyond limit code", b(0x0a, 0x00), 0, "reserved type code 0x0a not supported"},
		{"positive int beyond limit code", b(0x1e, 0x00), 0, "reserved type code 0x1e not supported"},
		{"long double", b(0x22), 0, "reserved type code 0x22 not supported"},
		{"80-bit versionstamp", b(0x32), 0, "reserved type code 0x32 not supported"},
		{"user type", b(0x40), 0, "reserved type code 0x40 not supported"},
		{"end of tuple marker", b(0xf0), 0, "reserved type code 0xf0 not supported"},
		{"unknown", b(0x14, 0x14, 0x99), 2, "unknown type code 0x99"},
		{"too deep", deep, maxNesting, "nested tuples deeper than 1000 levels"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Unpack(tc.in)
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Unpack(%x) = %v, %v; want a *DecodeError", tc.in, got, err)
			}
			if de.Offset != tc.offset {
				t.Errorf("offset = %d, want %d (%v)", de.Offset, tc.offset, err)
			}
			if !bytes.Contains([]byte(err.Error()), []byte(tc.reason)) {
				t.Errorf("error %q does not mention %q", err, tc.reason)
			}
		})
	}
}

func TestUnpackNestingAtLimit(t *testing.T) {
	in := append(bytes.Repeat([]byte{0x05}, maxNesting), bytes.Repeat([]byte{0x00}, maxNesting)...)
	got, err := Unpack(in)
	if err != nil {
		t.Fatalf("Unpack of %d nested levels: %v", maxNesting, err)
	}
	if !bytes.Equal(got.Pack(), in) {
		t.Error("deeply nested tuple did not re-pack to its input")
	}
}
