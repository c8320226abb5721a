package tuple

import (
	"bytes"
	"math"
	"math/big"
	"strings"
	"testing"
)

// b concatenates byte-ish parts so that expected encodings read like the
// spec: b(0x02, "foo", 0x00).
func b(parts ...any) []byte {
	var out []byte
	for _, p := range parts {
		switch p := p.(type) {
		case int:
			out = append(out, byte(p))
		case string:
			out = append(out, p...)
		case []byte:
			out = append(out, p...)
		default:
			panic("b: unsupported part")
		}
	}
	return out
}

func rep(c byte, n int) []byte { return bytes.Repeat([]byte{c}, n) }

func bigFromString(s string) *big.Int {
	v, ok := new(big.Int).SetString(s, 0)
	if !ok {
		panic("bad big int literal " + s)
	}
	return v
}

// pow2 returns ±2^n + delta.
func pow2(n int, delta int64, negative bool) *big.Int {
	v := new(big.Int).Lsh(big.NewInt(1), uint(n))
	if negative {
		v.Neg(v)
	}
	return v.Add(v, big.NewInt(delta))
}

type packCase struct {
	name string
	in   Tuple
	want []byte
}

// specCases are the published vectors of design/tuple.md (fdb.md §3.1).
var specCases = []packCase{
	{"spec byte string with null", Tuple{[]byte("foo\x00bar")}, b(0x01, "foo", 0x00, 0xff, "bar", 0x00)},
	{"spec unicode string", Tuple{"F\u00d4O\u0000bar"}, b(0x02, "F", 0xc3, 0x94, "O", 0x00, 0xff, "bar", 0x00)},
	{"spec nested", Tuple{Tuple{[]byte("foo\x00bar"), nil, Tuple{}}},
		b(0x05, 0x01, "foo", 0x00, 0xff, "bar", 0x00, 0x00, 0xff, 0x05, 0x00, 0x00)},
	{"spec negative int", Tuple{-5551212}, b(0x11, 0xab, 0x4b, 0x93)},
	{"spec float32", Tuple{float32(-42)}, b(0x20, 0x3d, 0xd7, 0xff, 0xff)},
}

var integerCases = []packCase{
	{"zero", Tuple{0}, b(0x14)},
	{"one", Tuple{1}, b(0x15, 0x01)},
	{"minus one", Tuple{-1}, b(0x13, 0xfe)},
	{"255", Tuple{255}, b(0x15, 0xff)},
	{"-255", Tuple{-255}, b(0x13, 0x00)},
	{"256", Tuple{256}, b(0x16, 0x01, 0x00)},
	{"-256", Tuple{-256}, b(0x12, 0xfe, 0xff)},
	{"65535", Tuple{uint16(65535)}, b(0x16, 0xff, 0xff)},
	{"65536", Tuple{int32(65536)}, b(0x17, 0x01, 0x00, 0x00)},
	{"-65536", Tuple{int32(-65536)}, b(0x11, 0xfe, 0xff, 0xff)},
	{"int8 min", Tuple{int8(math.MinInt8)}, b(0x13, 0x7f)},
	{"uint8 max", Tuple{uint8(255)}, b(0x15, 0xff)},
	{"2^63-1", Tuple{int64(math.MaxInt64)}, b(0x1c, 0x7f, rep(0xff, 7))},
	{"-2^63", Tuple{int64(math.MinInt64)}, b(0x0c, 0x7f, rep(0xff, 7))},
	{"2^63 as uint64", Tuple{uint64(1 << 63)}, b(0x1c, 0x80, rep(0x00, 7))},
	{"2^63 as uint", Tuple{uint(1 << 63)}, b(0x1c, 0x80, rep(0x00, 7))},
	{"2^64-1", Tuple{uint64(math.MaxUint64)}, b(0x1c, rep(0xff, 8))},
	{"-2^63-1 big", Tuple{pow2(63, -1, true)}, b(0x0c, 0x7f, rep(0xff, 6), 0xfe)},
	{"-(2^64-1) big", Tuple{pow2(64, 1, true)}, b(0x0c, rep(0x00, 8))},
	{"2^64", Tuple{pow2(64, 0, false)}, b(0x1d, 0x09, 0x01, rep(0x00, 8))},
	{"-2^64", Tuple{pow2(64, 0, true)}, b(0x0b, 0xf6, 0xfe, rep(0xff, 8))},
	{"2^64+1", Tuple{pow2(64, 1, false)}, b(0x1d, 0x09, 0x01, rep(0x00, 7), 0x01)},
	{"-(2^64+1)", Tuple{pow2(64, -1, true)}, b(0x0b, 0xf6, 0xfe, rep(0xff, 7), 0xfe)},
	{"big value type", Tuple{*pow2(64, 0, false)}, b(0x1d, 0x09, 0x01, rep(0x00, 8))},
	{"small big.Int uses fixed width", Tuple{big.NewInt(-5551212)}, b(0x11, 0xab, 0x4b, 0x93)},
	{"2^2040-1, the largest", Tuple{pow2(2040, -1, false)}, b(0x1d, 0xff, rep(0xff, 255))},
	{"-(2^2040-1), the smallest", Tuple{pow2(2040, 1, true)}, b(0x0b, 0x00, rep(0x00, 255))},
	{"0x0123456789abcdef01", Tuple{bigFromString("0x0123456789abcdef01")}, b(0x1d, 0x09, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01)},
}

var floatCases = []packCase{
	{"float64 +0", Tuple{0.0}, b(0x21, 0x80, rep(0x00, 7))},
	{"float64 -0", Tuple{math.Copysign(0, -1)}, b(0x21, 0x7f, rep(0xff, 7))},
	{"float64 1", Tuple{1.0}, b(0x21, 0xbf, 0xf0, rep(0x00, 6))},
	{"float64 -1", Tuple{-1.0}, b(0x21, 0x40, 0x0f, rep(0xff, 6))},
	{"float64 +Inf", Tuple{math.Inf(1)}, b(0x21, 0xff, 0xf0, rep(0x00, 6))},
	{"float64 -Inf", Tuple{math.Inf(-1)}, b(0x21, 0x00, 0x0f, rep(0xff, 6))},
	{"float64 NaN", Tuple{math.Float64frombits(0x7ff8000000000001)}, b(0x21, 0xff, 0xf8, rep(0x00, 5), 0x01)},
	{"float64 negative NaN", Tuple{math.Float64frombits(0xfff8000000000000)}, b(0x21, 0x00, 0x07, rep(0xff, 6))},
	{"float32 +0", Tuple{float32(0)}, b(0x20, 0x80, 0x00, 0x00, 0x00)},
	{"float32 -0", Tuple{float32(math.Copysign(0, -1))}, b(0x20, 0x7f, 0xff, 0xff, 0xff)},
	{"float32 1", Tuple{float32(1)}, b(0x20, 0xbf, 0x80, 0x00, 0x00)},
	{"float32 +Inf", Tuple{float32(math.Inf(1))}, b(0x20, 0xff, 0x80, 0x00, 0x00)},
	{"float32 -Inf", Tuple{float32(math.Inf(-1))}, b(0x20, 0x00, 0x7f, 0xff, 0xff)},
	{"float32 NaN", Tuple{math.Float32frombits(0x7fc00000)}, b(0x20, 0xff, 0xc0, 0x00, 0x00)},
	{"float32 negative NaN", Tuple{math.Float32frombits(0xffc00000)}, b(0x20, 0x00, 0x3f, 0xff, 0xff)},
}

var uuidValue = UUID{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}

var versionstampValue = Versionstamp{
	TransactionVersion: [10]byte{0, 0, 0, 0, 0, 0, 0x01, 0x02, 0x00, 0x03},
	UserVersion:        0x0405,
}

var otherCases = []packCase{
	{"empty tuple", Tuple{}, nil},
	{"null", Tuple{nil}, b(0x00)},
	{"empty bytes", Tuple{[]byte{}}, b(0x01, 0x00)},
	{"bytes of nulls and 0xff", Tuple{[]byte{0x00, 0xff, 0x00}}, b(0x01, 0x00, 0xff, 0xff, 0x00, 0xff, 0x00)},
	{"empty string", Tuple{""}, b(0x02, 0x00)},
	{"string with nulls", Tuple{"\x00a\x00"}, b(0x02, 0x00, 0xff, "a", 0x00, 0xff, 0x00)},
	{"false", Tuple{false}, b(0x26)},
	{"true", Tuple{true}, b(0x27)},
	{"uuid", Tuple{uuidValue}, b(0x30, uuidValue[:])},
	{"versionstamp", Tuple{versionstampValue}, b(0x33, 0, 0, 0, 0, 0, 0, 0x01, 0x02, 0x00, 0x03, 0x04, 0x05)},
	{"incomplete versionstamp", Tuple{IncompleteVersionstamp(7)}, b(0x33, rep(0xff, 10), 0x00, 0x07)},
	{"nested null", Tuple{Tuple{nil}}, b(0x05, 0x00, 0xff, 0x00)},
	{"nested nulls", Tuple{Tuple{nil, nil}}, b(0x05, 0x00, 0xff, 0x00, 0xff, 0x00)},
	{"empty nested", Tuple{Tuple{}}, b(0x05, 0x00)},
	{"nested nested null", Tuple{Tuple{Tuple{nil}}}, b(0x05, 0x05, 0x00, 0xff, 0x00, 0x00)},
	{"nested then null", Tuple{Tuple{1}, nil}, b(0x05, 0x15, 0x01, 0x00, 0x00)},
	{"nested string with null", Tuple{Tuple{"a\x00"}}, b(0x05, 0x02, "a", 0x00, 0xff, 0x00, 0x00)},
	{"several", Tuple{"tenant", int64(42), []byte{1}}, b(0x02, "tenant", 0x00, 0x15, 42, 0x01, 0x01, 0x00)},
}

func TestPackByteExact(t *testing.T) {
	for _, group := range [][]packCase{specCases, integerCases, floatCases, otherCases} {
		for _, tc := range group {
			t.Run(tc.name, func(t *testing.T) {
				if got := tc.in.Pack(); !bytes.Equal(got, tc.want) {
					t.Errorf("Pack(%v) = %x, want %x", tc.in, got, tc.want)
				}
			})
		}
	}
}

func TestAppendPackKeepsPrefix(t *testing.T) {
	buf := append(make([]byte, 0, 64), "pre"...)
	got := Tuple{"a", 1}.AppendPack(buf)
	want := b("pre", 0x02, "a", 0x00, 0x15, 0x01)
	if !bytes.Equal(got, want) {
		t.Errorf("AppendPack = %x, want %x", got, want)
	}
}

func TestRange(t *testing.T) {
	begin, end := Range(Tuple{"a"})
	if want := b(0x02, "a", 0x00, 0x00); !bytes.Equal(begin, want) {
		t.Errorf("begin = %x, want %x", begin, want)
	}
	if want := b(0x02, "a", 0x00, 0xff); !bytes.Equal(end, want) {
		t.Errorf("end = %x, want %x", end, want)
	}
	inside := Tuple{"a", int64(1)}.Pack()
	if bytes.Compare(inside, begin) < 0 || bytes.Compare(inside, end) >= 0 {
		t.Errorf("extension %x not in [%x, %x)", inside, begin, end)
	}
	if self := (Tuple{"a"}).Pack(); bytes.Compare(self, begin) >= 0 {
		t.Errorf("the tuple itself %x is in its own range", self)
	}
}

func TestPackWithVersionstamp(t *testing.T) {
	tests := []struct {
		name   string
		prefix []byte
		in     Tuple
		want   []byte
	}{
		{"after prefix and string", []byte("p"), Tuple{"a", IncompleteVersionstamp(5)},
			b("p", 0x02, "a", 0x00, 0x33, rep(0xff, 10), 0x00, 0x05, 0x05, 0x00, 0x00, 0x00)},
		{"no prefix, nested", nil, Tuple{Tuple{IncompleteVersionstamp(0)}},
			b(0x05, 0x33, rep(0xff, 10), 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00)},
		{"complete stamps do not count", nil, Tuple{versionstampValue, IncompleteVersionstamp(1)},
			b(0x33, versionstampValue.TransactionVersion[:], 0x04, 0x05, 0x33, rep(0xff, 10), 0x00, 0x01, 14, 0x00, 0x00, 0x00)},
		{"offset above 255", bytes.Repeat([]byte("k"), 300), Tuple{IncompleteVersionstamp(0)},
			b(strings.Repeat("k", 300), 0x33, rep(0xff, 10), 0x00, 0x00, 0x2d, 0x01, 0x00, 0x00)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.in.PackWithVersionstamp(tc.prefix)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Errorf("got  %x\nwant %x", got, tc.want)
			}
		})
	}
}

func TestPackWithVersionstampErrors(t *testing.T) {
	tests := []struct {
		name string
		in   Tuple
		want string
	}{
		{"none", Tuple{"a", versionstampValue}, "no incomplete versionstamp"},
		{"two", Tuple{IncompleteVersionstamp(0), Tuple{IncompleteVersionstamp(1)}}, "2 incomplete versionstamps"},
		{"unsupported element", Tuple{IncompleteVersionstamp(0), struct{}{}}, "element 1: unsupported type struct {}"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.in.PackWithVersionstamp([]byte("p"))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		in   Tuple
		want string // "" for valid
	}{
		{"all supported types", Tuple{nil, []byte{1}, "s", Tuple{1}, 1, int8(1), int16(1), int32(1), int64(1),
			uint(1), uint8(1), uint16(1), uint32(1), uint64(1), big.NewInt(1), *big.NewInt(2), float32(1), 1.0,
			true, uuidValue, versionstampValue}, ""},
		{"unsupported", Tuple{"a", map[string]int{}}, "tuple: element 1: unsupported type map[string]int"},
		{"nested unsupported", Tuple{Tuple{1, Tuple{complex(1, 2)}}}, "tuple: element 0: element 1: element 0: unsupported type complex128"},
		{"nil big.Int", Tuple{(*big.Int)(nil)}, "nil *big.Int"},
		{"invalid UTF-8", Tuple{Tuple{"ok", "a\xffb"}}, `tuple: element 0: element 1: string "a\xffb" is not valid UTF-8`},
		{"too big", Tuple{pow2(2040, 0, false)}, "integer of 256 bytes exceeds the 255-byte limit"},
		{"too negative", Tuple{pow2(2040, 0, true)}, "integer of 256 bytes exceeds the 255-byte limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.in.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Validate = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestPackPanicsOnProgrammingError(t *testing.T) {
	defer func() {
		if r := recover(); r == nil {
			t.Error("Pack of an unsupported type did not panic")
		}
	}()
	Tuple{struct{}{}}.Pack()
}
