package tuple

import (
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestGettersReturnElements(t *testing.T) {
	in := Tuple{"s", []byte{1}, Tuple{2}, float32(1.5), 2.5, true, uuidValue, versionstampValue, nil, int64(-3)}
	u, err := Unpack(in.Pack())
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, got, want any, err error) {
		t.Helper()
		if err != nil {
			t.Errorf("%s: %v", name, err)
			return
		}
		if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
		}
	}
	s, err := u.StringAt(0)
	check("StringAt", s, "s", err)
	bs, err := u.Bytes(1)
	check("Bytes", bs, []byte{1}, err)
	nt, err := u.Tuple(2)
	check("Tuple", nt, Tuple{int64(2)}, err)
	f32, err := u.Float32(3)
	check("Float32", f32, float32(1.5), err)
	f64, err := u.Float64(4)
	check("Float64", f64, 2.5, err)
	bo, err := u.Bool(5)
	check("Bool", bo, true, err)
	uu, err := u.UUID(6)
	check("UUID", uu, uuidValue, err)
	vs, err := u.Versionstamp(7)
	check("Versionstamp", vs, versionstampValue, err)
	isNil, err := u.IsNil(8)
	check("IsNil", isNil, true, err)
	i, err := u.Int64(9)
	check("Int64", i, int64(-3), err)
	bi, err := u.BigInt(9)
	check("BigInt", bi, big.NewInt(-3), err)
}

func TestIntegerGettersAcceptAnyFittingType(t *testing.T) {
	in := Tuple{uint8(7), uint64(math.MaxUint64), big.NewInt(-9), pow2(64, 0, false), int32(-1)}
	if v, err := in.Int64(0); err != nil || v != 7 {
		t.Errorf("Int64(uint8 7) = %d, %v", v, err)
	}
	if v, err := in.Uint64(1); err != nil || v != math.MaxUint64 {
		t.Errorf("Uint64(max) = %d, %v", v, err)
	}
	if v, err := in.Int64(2); err != nil || v != -9 {
		t.Errorf("Int64(big -9) = %d, %v", v, err)
	}
	if v, err := in.BigInt(3); err != nil || v.Cmp(pow2(64, 0, false)) != 0 {
		t.Errorf("BigInt(2^64) = %v, %v", v, err)
	}
	// BigInt returns a copy: changing it must not change the tuple.
	v, _ := in.BigInt(2)
	v.SetInt64(100)
	if got, _ := in.Int64(2); got != -9 {
		t.Errorf("BigInt result aliases the element: element is now %d", got)
	}
	if _, err := in.Int64(1); !errors.Is(err, ErrType) || !strings.Contains(err.Error(), "18446744073709551615, does not fit in an int64") {
		t.Errorf("Int64(2^64-1) err = %v", err)
	}
	if _, err := in.Uint64(4); !errors.Is(err, ErrType) || !strings.Contains(err.Error(), "-1, does not fit in a uint64") {
		t.Errorf("Uint64(-1) err = %v", err)
	}
}

func TestGetterErrors(t *testing.T) {
	in := Tuple{"s", 1, struct{}{}}
	tests := []struct {
		name     string
		call     func() error
		sentinel error
		msg      string
	}{
		{"index past end", func() error { _, err := in.StringAt(3); return err }, ErrIndex, "element 3 of a 3-element tuple"},
		{"negative index", func() error { _, err := in.Int64(-1); return err }, ErrIndex, "element -1 of a 3-element tuple"},
		{"string as int", func() error { _, err := in.Int64(0); return err }, ErrType, "element 0 is a unicode string, not an int64"},
		{"int as string", func() error { _, err := in.StringAt(1); return err }, ErrType, "element 1 is an integer, not a unicode string"},
		{"string as bytes", func() error { _, err := in.Bytes(0); return err }, ErrType, "not a byte string"},
		{"int as float64", func() error { _, err := in.Float64(1); return err }, ErrType, "not a float64"},
		{"int as tuple", func() error { _, err := in.Tuple(1); return err }, ErrType, "not a nested tuple"},
		{"string as big int", func() error { _, err := in.BigInt(0); return err }, ErrType, "not an integer"},
		{"unsupported as uint64", func() error { _, err := in.Uint64(2); return err }, ErrType, "an unsupported struct {}"},
		{"IsNil out of range", func() error { _, err := in.IsNil(9); return err }, ErrIndex, "element 9"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if !errors.Is(err, tc.sentinel) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %v, want %v mentioning %q", err, tc.sentinel, tc.msg)
			}
		})
	}
}
