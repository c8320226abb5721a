package kv

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestApplyAtomic(t *testing.T) {
	big := bytes.Repeat([]byte{'a'}, MaxValueSize-1)
	cases := []struct {
		name     string
		op       MutationType
		existing []byte
		exists   bool
		param    []byte
		want     []byte
		keep     bool
	}{
		{"set", SetValue, []byte("old"), true, []byte("new"), []byte("new"), true},

		{"add missing stores param", AddValue, nil, false, []byte{5, 0}, []byte{5, 0}, true},
		{"add empty existing stores param", AddValue, []byte{}, true, []byte{5}, []byte{5}, true},
		{"add carries", AddValue, []byte{0xff, 0x00}, true, []byte{0x01, 0x00}, []byte{0x00, 0x01}, true},
		{"add overflow wraps", AddValue, []byte{0xff, 0xff}, true, []byte{0x01, 0x00}, []byte{0x00, 0x00}, true},
		{"add shorter existing zero-extended", AddValue, []byte{0x01}, true, []byte{0xff, 0x00, 0x00}, []byte{0x00, 0x01, 0x00}, true},
		{"add longer existing truncated", AddValue, []byte{0x01, 0x02, 0x03}, true, []byte{0x01}, []byte{0x02}, true},
		{"add negative", AddValue, []byte{5, 0, 0, 0}, true, []byte{0xff, 0xff, 0xff, 0xff}, []byte{4, 0, 0, 0}, true},
		{"add empty param stores empty", AddValue, []byte{7}, true, []byte{}, []byte{}, true},

		{"and missing stores param", BitAnd, nil, false, []byte{0x0f}, []byte{0x0f}, true},
		{"and empty existing is zero", BitAnd, []byte{}, true, []byte{0x0f}, []byte{0x00}, true},
		{"and", BitAnd, []byte{0xf0, 0xff}, true, []byte{0x3c, 0x0f}, []byte{0x30, 0x0f}, true},
		{"and shorter existing", BitAnd, []byte{0xff}, true, []byte{0xff, 0xff}, []byte{0xff, 0x00}, true},
		{"and longer existing truncated", BitAnd, []byte{0xff, 0xff}, true, []byte{0x0f}, []byte{0x0f}, true},
		{"and empty param", BitAnd, []byte{0xff}, true, []byte{}, []byte{}, true},

		{"or missing", BitOr, nil, false, []byte{0x01}, []byte{0x01}, true},
		{"or", BitOr, []byte{0xf0}, true, []byte{0x0f, 0x01}, []byte{0xff, 0x01}, true},
		{"or longer existing truncated", BitOr, []byte{0x01, 0x02}, true, []byte{0x10}, []byte{0x11}, true},
		{"xor", BitXor, []byte{0xff, 0x0f}, true, []byte{0x0f, 0x0f}, []byte{0xf0, 0x00}, true},
		{"xor missing", BitXor, nil, false, []byte{0x0f}, []byte{0x0f}, true},
		{"xor empty param", BitXor, []byte{1}, true, nil, nil, true},

		{"append", AppendIfFits, []byte("ab"), true, []byte("cd"), []byte("abcd"), true},
		{"append missing", AppendIfFits, nil, false, []byte("cd"), []byte("cd"), true},
		{"append empty param", AppendIfFits, []byte("ab"), true, []byte{}, []byte("ab"), true},
		{"append exactly fits", AppendIfFits, big, true, []byte("z"), append(bytes.Clone(big), 'z'), true},
		{"append does not fit keeps value", AppendIfFits, big, true, []byte("zz"), big, true},

		{"max missing", Max, nil, false, []byte{1}, []byte{1}, true},
		{"max param larger", Max, []byte{0xff, 0x00}, true, []byte{0x00, 0x01}, []byte{0x00, 0x01}, true},
		{"max existing larger", Max, []byte{0x00, 0x02}, true, []byte{0xff, 0x01}, []byte{0x00, 0x02}, true},
		{"max existing shorter extended", Max, []byte{0x05}, true, []byte{0x03, 0x00}, []byte{0x05, 0x00}, true},
		{"max existing longer truncated", Max, []byte{0x01, 0xff}, true, []byte{0x02}, []byte{0x02}, true},
		{"max high bytes of existing ignored", Max, []byte{0x01, 0xff}, true, []byte{0x00}, []byte{0x01}, true},
		{"max empty param", Max, []byte{9}, true, []byte{}, []byte{}, true},

		{"min missing stores param (API 510)", Min, nil, false, []byte{7}, []byte{7}, true},
		{"min empty existing is zero", Min, []byte{}, true, []byte{7, 0}, []byte{0, 0}, true},
		{"min existing smaller", Min, []byte{0x01, 0x01}, true, []byte{0x02, 0x01}, []byte{0x01, 0x01}, true},
		{"min param smaller", Min, []byte{0x00, 0x02}, true, []byte{0xff, 0x01}, []byte{0xff, 0x01}, true},
		{"min existing shorter extended", Min, []byte{0x05}, true, []byte{0x03, 0x01}, []byte{0x05, 0x00}, true},
		{"min existing longer truncated", Min, []byte{0x01, 0xff}, true, []byte{0x02}, []byte{0x01}, true},
		{"min empty param", Min, []byte{9}, true, []byte{}, []byte{}, true},

		{"byte_min missing", ByteMin, nil, false, []byte("b"), []byte("b"), true},
		{"byte_min existing smaller", ByteMin, []byte("a"), true, []byte("b"), []byte("a"), true},
		{"byte_min prefix is smaller", ByteMin, []byte("ab"), true, []byte("a"), []byte("a"), true},
		{"byte_min empty existing", ByteMin, []byte{}, true, []byte("a"), []byte{}, true},
		{"byte_max missing", ByteMax, nil, false, []byte("b"), []byte("b"), true},
		{"byte_max existing larger", ByteMax, []byte("c"), true, []byte("b"), []byte("c"), true},
		{"byte_max param larger", ByteMax, []byte("a"), true, []byte("ab"), []byte("ab"), true},

		{"compare_and_clear equal clears", CompareAndClear, []byte("x"), true, []byte("x"), nil, false},
		{"compare_and_clear differs keeps", CompareAndClear, []byte("x"), true, []byte("y"), []byte("x"), true},
		{"compare_and_clear missing stays missing", CompareAndClear, nil, false, []byte{}, nil, false},
		{"compare_and_clear empty equals empty", CompareAndClear, []byte{}, true, []byte{}, nil, false},
		{"compare_and_clear empty vs nonempty", CompareAndClear, []byte{}, true, []byte("a"), []byte{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			existing, param := bytes.Clone(tc.existing), bytes.Clone(tc.param)
			got, keep := ApplyAtomic(tc.op, existing, tc.exists, param)
			if keep != tc.keep {
				t.Fatalf("keep = %v, want %v", keep, tc.keep)
			}
			if keep && !bytes.Equal(got, tc.want) {
				t.Fatalf("value = %x, want %x", got, tc.want)
			}
			if !bytes.Equal(existing, tc.existing) || !bytes.Equal(param, tc.param) {
				t.Fatal("ApplyAtomic modified its inputs")
			}
		})
	}
}

// TestApplyAtomicAddMatchesIntegers checks add, max and min against Go's
// unsigned arithmetic on 8-byte little-endian values.
func TestApplyAtomicMatchesIntegers(t *testing.T) {
	le := func(v uint64) []byte {
		b := make([]byte, 8)
		for i := range b {
			b[i] = byte(v >> (8 * i))
		}
		return b
	}
	vals := []uint64{0, 1, 255, 256, 1 << 32, 1<<63 + 5, ^uint64(0), 0x0102030405060708}
	for _, a := range vals {
		for _, b := range vals {
			if got, _ := ApplyAtomic(AddValue, le(a), true, le(b)); !bytes.Equal(got, le(a+b)) {
				t.Errorf("add(%d, %d) = %x, want %x", a, b, got, le(a+b))
			}
			if got, _ := ApplyAtomic(Max, le(a), true, le(b)); !bytes.Equal(got, le(max(a, b))) {
				t.Errorf("max(%d, %d) = %x", a, b, got)
			}
			if got, _ := ApplyAtomic(Min, le(a), true, le(b)); !bytes.Equal(got, le(min(a, b))) {
				t.Errorf("min(%d, %d) = %x", a, b, got)
			}
		}
	}
}

func TestApplyAtomicNonAtomicTypeLeavesKey(t *testing.T) {
	got, keep := ApplyAtomic(ClearRange, []byte("v"), true, []byte("p"))
	if diff := cmp.Diff([]byte("v"), got); diff != "" || !keep {
		t.Fatalf("ClearRange changed the key: keep %v, diff %s", keep, diff)
	}
	if _, keep := ApplyAtomic(MutationType(99), nil, false, []byte("p")); keep {
		t.Fatal("an unknown type created a missing key")
	}
}
