package controller

import (
	"bytes"
	"testing"

	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/wire"
)

func TestReplayLock(t *testing.T) {
	set := func(v string) *wire.Mutation {
		return &wire.Mutation{Type: uint32(kv.SetValue), Key: kv.DBLockedKey, Param: []byte(v)}
	}
	clr := func(b, e []byte) *wire.Mutation { return &wire.Mutation{Type: uint32(kv.ClearRange), Key: b, Param: e} }
	unlock := clr(kv.DBLockedKey, kv.KeyAfter(kv.DBLockedKey))
	for _, tc := range []struct {
		name  string
		from  []byte
		muts  []*wire.Mutation
		want  []byte
		isNil bool
	}{
		{name: "nothing keeps the state's lock", from: []byte("a"), want: []byte("a")},
		{name: "nothing keeps unlocked", isNil: true},
		{name: "lock", muts: []*wire.Mutation{set("u1")}, want: []byte("u1")},
		{name: "the last change wins", from: []byte("a"), muts: []*wire.Mutation{unlock, set("u2"), unlock, set("u3")}, want: []byte("u3")},
		{name: "unlock", from: []byte("a"), muts: []*wire.Mutation{unlock}, isNil: true},
		{name: "a wide clear unlocks", from: []byte("a"), muts: []*wire.Mutation{clr([]byte("\xff/"), []byte("\xff/z"))}, isNil: true},
		{name: "a clear beside it does not", from: []byte("a"), muts: []*wire.Mutation{clr([]byte("\xff/e"), []byte("\xff/f"))}, want: []byte("a")},
		{name: "an empty value still locks", muts: []*wire.Mutation{set("")}, want: []byte{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := replayLock(tc.from, tc.muts)
			if tc.isNil != (got == nil) || !bytes.Equal(got, tc.want) {
				t.Fatalf("replayLock = %q (nil %v), want %q (nil %v)", got, got == nil, tc.want, tc.isNil)
			}
		})
	}
}
