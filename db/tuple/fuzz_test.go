package tuple

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzUnpack feeds arbitrary bytes to Unpack. It must never panic; it must
// reject input with a *DecodeError pointing inside the input; and accepted
// input must re-pack to the same bytes when it was canonical, or else to a
// shorter encoding of the same tuple. The seed corpus is in
// testdata/fuzz/FuzzUnpack; the spec vectors are added here.
func FuzzUnpack(f *testing.F) {
	for _, group := range [][]packCase{specCases, integerCases, floatCases, otherCases} {
		for _, tc := range group {
			f.Add(tc.want)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, canonical, err := unpack(in)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Unpack(%x) error %v (%T) is not a *DecodeError", in, err, err)
			}
			if de.Offset < 0 || de.Offset >= len(in) {
				t.Fatalf("Unpack(%x) error offset %d outside the input", in, de.Offset)
			}
			return
		}
		if err := got.Validate(); err != nil {
			t.Fatalf("Unpack(%x) = %v, which does not validate: %v", in, got, err)
		}
		_ = got.String()
		repacked := got.Pack()
		if canonical {
			if !bytes.Equal(repacked, in) {
				t.Fatalf("canonical input %x re-packed to %x", in, repacked)
			}
			return
		}
		if len(repacked) >= len(in) {
			t.Fatalf("non-canonical input %x re-packed to %x, which is not shorter", in, repacked)
		}
		again, err := Unpack(repacked)
		if err != nil {
			t.Fatalf("re-packed %x does not decode: %v", repacked, err)
		}
		if diff := cmp.Diff(got, again, cmpOpts); diff != "" || Compare(got, again) != 0 {
			t.Fatalf("re-packed tuple differs (-first +second):\n%s", diff)
		}
	})
}
