package tlog

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The state file round-trips, and a damaged one is rejected rather than
// read as some other state.
func TestStateFileRoundTripsAndRejectsDamage(t *testing.T) {
	want := &dirState{complete: true, version: 1 << 40, popped: map[uint32]int64{0: 1, 7: 12345, 1 << 31: 99}}
	b := want.encode()
	got, err := decodeState(b)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got, cmp.AllowUnexported(dirState{})); d != "" {
		t.Fatalf("decoded state (-want +got):\n%s", d)
	}
	for i := range b {
		bad := append([]byte(nil), b...)
		bad[i] ^= 0x10
		if _, err := decodeState(bad); err == nil {
			t.Fatalf("a state with byte %d flipped decoded", i)
		}
	}
	for n := range len(b) {
		if _, err := decodeState(b[:n]); err == nil {
			t.Fatalf("a state cut to %d bytes decoded", n)
		}
	}
	empty, err := decodeState((&dirState{}).encode())
	if err != nil || empty.complete || len(empty.popped) != 0 {
		t.Fatalf("the incomplete state decoded as %+v, %v", empty, err)
	}
}
