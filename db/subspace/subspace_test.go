package subspace

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/strata-db/strata/db/tuple"
)

func TestPrefixes(t *testing.T) {
	tests := []struct {
		name string
		s    Subspace
		want []byte
	}{
		{"zero", Subspace{}, nil},
		{"from tuple", Sub("a"), []byte{0x02, 'a', 0x00}},
		{"from several elements", Sub("app", int64(1)), []byte{0x02, 'a', 'p', 'p', 0x00, 0x15, 0x01}},
		{"raw", FromBytes([]byte{0xfe}), []byte{0xfe}},
		{"raw then tuple", FromBytes([]byte{0xfe}).Sub("x", nil), []byte{0xfe, 0x02, 'x', 0x00, 0x00}},
		{"nested Sub equals Sub of both", Sub("a").Sub(int64(2)), Sub("a", int64(2)).Bytes()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.s.Bytes(); !bytes.Equal(got, tc.want) {
				t.Errorf("Bytes() = %x, want %x", got, tc.want)
			}
		})
	}
}

func TestFromBytesCopiesPrefix(t *testing.T) {
	raw := []byte{0x01, 0x02}
	s := FromBytes(raw)
	raw[0] = 0xff
	if got := s.Bytes(); got[0] != 0x01 {
		t.Errorf("subspace prefix changed with the caller's slice: %x", got)
	}
}

func TestAppendingToBytesLeavesSubspaceAlone(t *testing.T) {
	s := Sub("a")
	_ = append(s.Bytes(), 0x99)
	k1 := s.Pack(tuple.Tuple{int64(1)})
	k2 := s.Pack(tuple.Tuple{int64(2)})
	if !bytes.Equal(k1, []byte{0x02, 'a', 0x00, 0x15, 0x01}) || !bytes.Equal(k2, []byte{0x02, 'a', 0x00, 0x15, 0x02}) {
		t.Errorf("keys share or clobber storage: %x %x", k1, k2)
	}
}

func TestPackUnpack(t *testing.T) {
	s := FromBytes([]byte{0xfe}).Sub("users")
	key := s.Pack(tuple.Tuple{int64(12345), "name"})
	want := []byte{0xfe, 0x02, 'u', 's', 'e', 'r', 's', 0x00, 0x16, 0x30, 0x39, 0x02, 'n', 'a', 'm', 'e', 0x00}
	if !bytes.Equal(key, want) {
		t.Fatalf("Pack = %x, want %x", key, want)
	}
	got, err := s.Unpack(key)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tuple.Tuple{int64(12345), "name"}, got); diff != "" {
		t.Errorf("Unpack mismatch (-want +got):\n%s", diff)
	}
	if empty, err := s.Unpack(s.Bytes()); err != nil || len(empty) != 0 {
		t.Errorf("Unpack(prefix) = %v, %v; want the empty tuple", empty, err)
	}
}

func TestUnpackErrors(t *testing.T) {
	s := Sub("a")
	_, err := s.Unpack([]byte{0x02, 'b', 0x00, 0x14})
	if !errors.Is(err, ErrNotInSubspace) || !strings.Contains(err.Error(), `b"\x02b\x00\x14"`) {
		t.Errorf("foreign key: err = %v", err)
	}
	_, err = s.Unpack([]byte{0x02, 'a', 0x00, 0x16, 0x01})
	var de *tuple.DecodeError
	if !errors.As(err, &de) || de.Offset != 0 || !strings.Contains(err.Error(), "after its 3-byte prefix") {
		t.Errorf("malformed suffix: err = %v", err)
	}
}

func TestRangeAndContains(t *testing.T) {
	s := Sub("a")
	begin, end := s.Range()
	if want := []byte{0x02, 'a', 0x00, 0x00}; !bytes.Equal(begin, want) {
		t.Errorf("begin = %x, want %x", begin, want)
	}
	if want := []byte{0x02, 'a', 0x00, 0xff}; !bytes.Equal(end, want) {
		t.Errorf("end = %x, want %x", end, want)
	}
	for _, k := range []tuple.Tuple{{nil}, {int64(-1)}, {"z", "z"}, {tuple.Tuple{}}} {
		key := s.Pack(k)
		if bytes.Compare(key, begin) < 0 || bytes.Compare(key, end) >= 0 {
			t.Errorf("key %x for %v outside the range [%x, %x)", key, k, begin, end)
		}
		if !s.Contains(key) {
			t.Errorf("Contains(%x) = false", key)
		}
	}
	if s.Contains([]byte{0x02, 'b'}) || s.Contains([]byte{0x02}) {
		t.Error("Contains accepts a key outside the prefix")
	}
	if !(Subspace{}).Contains([]byte{0xff}) {
		t.Error("the zero subspace does not contain every key")
	}
	zb, ze := Subspace{}.Range()
	if !bytes.Equal(zb, []byte{0x00}) || !bytes.Equal(ze, []byte{0xff}) {
		t.Errorf("zero subspace range = [%x, %x), want [00, ff)", zb, ze)
	}
}

func TestPackWithVersionstamp(t *testing.T) {
	s := FromBytes([]byte{0x01, 0x02})
	key, err := s.PackWithVersionstamp(tuple.Tuple{tuple.IncompleteVersionstamp(1)})
	if err != nil {
		t.Fatal(err)
	}
	want := append([]byte{0x01, 0x02, 0x33}, bytes.Repeat([]byte{0xff}, 10)...)
	want = append(want, 0x00, 0x01, 0x03, 0x00, 0x00, 0x00)
	if !bytes.Equal(key, want) {
		t.Errorf("key = %x, want %x", key, want)
	}
	if _, err := s.PackWithVersionstamp(tuple.Tuple{"no stamp"}); err == nil || !strings.Contains(err.Error(), `subspace Subspace(rawPrefix=b"\x01\x02")`) {
		t.Errorf("err = %v, want a subspace-labelled error", err)
	}
}

func TestString(t *testing.T) {
	if got, want := Sub("a", int64(1)).String(), `Subspace(rawPrefix=b"\x02a\x00\x15\x01")`; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
}
