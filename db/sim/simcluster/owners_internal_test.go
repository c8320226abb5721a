package simcluster

import (
	"strings"
	"testing"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/wire"
)

func TestCheckOwned(t *testing.T) {
	shards := []client.ShardTeam{
		{Range: kv.KeyRange{Begin: nil, End: []byte("m")}, IDs: []string{"a", "b"}},
		{Range: kv.KeyRange{Begin: []byte("m"), End: kv.AllKeys.End}, IDs: []string{"b", "c"}},
	}
	held := func(readable bool, begin, end string) *wire.ShardControlReply {
		return &wire.ShardControlReply{Shards: []*wire.ShardState{
			{Range: &wire.KeyRange{Begin: []byte(begin), End: []byte(end)}, Readable: readable}}}
	}
	for _, tc := range []struct {
		name, id   string
		rep        *wire.ShardControlReply
		wantErrSub string
	}{
		{name: "member", id: "a", rep: held(true, "", "m")},
		{name: "member of both", id: "b", rep: held(true, "c", "x")},
		{name: "fetching outside its team", id: "c", rep: held(false, "a", "b")},
		{name: "serving outside its team", id: "c", rep: held(true, "a", "b"), wantErrSub: "storage server c serves [a, b)"},
		{name: "orphan", id: "d", rep: held(true, "x", "y"), wantErrSub: "belongs to [b c]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkOwned(tc.id, tc.rep, shards)
			if tc.wantErrSub == "" {
				if err != nil {
					t.Fatalf("checkOwned: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErrSub) {
				t.Fatalf("checkOwned = %v, want an error containing %q", err, tc.wantErrSub)
			}
		})
	}
}
