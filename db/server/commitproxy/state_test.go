package commitproxy_test

import (
	"errors"
	"testing"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/server/commitproxy"
	"github.com/strata-db/strata/db/wire"
	"google.golang.org/protobuf/proto"
)

// newStateCluster is a cluster of two commit proxies and the real
// resolvers, which carry each proxy's state transactions to the other.
func newStateCluster(t *testing.T, seed uint64) *cluster {
	t.Helper()
	return newClusterN(t, seed, time.Millisecond, 2, true, func(cfg *commitproxy.Config) { cfg.TagLockChanges = true })
}

// commitVia commits req through cp at a fresh read version.
func commitErrVia(c *flow.Ctx, cl *cluster, cp *wire.CommitProxyInterface, req *wire.CommitTransactionRequest) (int64, error) {
	rv, err := cl.readVersion(c)
	if err != nil {
		return 0, err
	}
	req.ReadVersion = rv
	rep, err := flow.Await(c, cl.commitVia(cp, req))
	return rep.GetVersion(), err
}

// A lock committed through one proxy refuses plain transactions on the
// other, and an unlock through the other frees the first.
func TestLockReachesEveryProxy(t *testing.T) {
	cl := newStateCluster(t, 41)
	lockKey, unlock := string(kv.DBLockedKey), clearLock(kv.DBLockedKey, kv.KeyAfter(kv.DBLockedKey))
	cl.run(t, time.Minute, func(c *flow.Ctx) error {
		cp1, cp2 := cl.cps[0], cl.cps[1]
		steps := []struct {
			name string
			via  *wire.CommitProxyInterface
			req  *wire.CommitTransactionRequest
			want error
		}{
			{"plain write on proxy 2", cp2, set("a", "1"), nil},
			{"lock on proxy 1", cp1, lockAware(set(lockKey, string(lockUID))), nil},
			{"plain write on proxy 2 while locked", cp2, set("a", "2"), kv.ErrDatabaseLocked},
			{"lock_aware write on proxy 2 while locked", cp2, lockAware(set("b", "1")), nil},
			{"unlock on proxy 2", cp2, lockAware(unlock), nil},
			{"plain write on proxy 1 after unlock", cp1, set("a", "3"), nil},
			{"plain write on proxy 2 after unlock", cp2, set("a", "4"), nil},
		}
		for _, s := range steps {
			v, err := commitErrVia(c, cl, s.via, s.req)
			if (s.want == nil) != (err == nil) || (s.want != nil && !errors.Is(err, s.want)) {
				t.Errorf("%s: %v, want %v", s.name, err, s.want)
			}
			// A committed lock change is also on the txs tag, where a
			// recovery finds it.
			if touches := s.req.Mutations[0].GetKey(); err == nil && string(touches) == lockKey {
				if m := pushedAt(cl.logs[0], v, kv.TxsTag); len(m) != 1 {
					t.Errorf("%s: txs tag of version %d holds %v, want the lock mutation", s.name, v, m)
				}
			}
		}
		return nil
	})
}

// A shard map change committed through one proxy tags the other proxy's
// later writes and shows in its locations, and the proxy that did not
// commit it does not tag the leaver's removal again.
func TestShardMapChangeReachesEveryProxy(t *testing.T) {
	cl := newStateCluster(t, 42)
	moved, err := proto.Marshal(&wire.ShardLocation{Servers: []*wire.StorageInterface{{Address: "10.9.9.9:1", Id: "h", Tag: 7}}})
	if err != nil {
		t.Fatal(err)
	}
	cl.run(t, time.Minute, func(c *flow.Ctx) error {
		cp1, cp2 := cl.cps[0], cl.cps[1]
		// Move [p, \xff\xff) from tag 4 to tag 7 through proxy 1.
		move := &wire.CommitTransactionRequest{Mutations: []*wire.Mutation{
			{Type: uint32(kv.SetValue), Key: append(commitproxy.KeyServersPrefix, 'p'), Param: moved},
		}}
		mv, err := commitErrVia(c, cl, cp1, move)
		if err != nil {
			return err
		}
		if m := pushedAt(cl.logs[0], mv, 4); len(m) != 1 || kv.MutationType(m[0].GetType()) != kv.PrivateRemoveShard {
			t.Errorf("the move's push to the leaver (tag 4): %v, want one PrivateRemoveShard", m)
		}
		v, err := commitErrVia(c, cl, cp2, set("x", "1"))
		if err != nil {
			return err
		}
		if m := pushedAt(cl.logs[0], v, 7); !hasMutation(m, "x", "1") {
			t.Errorf("proxy 2's write to x after the move went to tag 7's %v", m)
		}
		if m := pushedAt(cl.logs[0], v, 4); len(m) != 0 {
			t.Errorf("proxy 2 still tagged the leaver (tag 4): %v", m)
		}
		st := flow.NewRequestStream(flow.Endpoint{Addr: flow.Address(cp2.Address), Token: cp2.GetKeyServerLocations},
			flow.ProtoCodec[*wire.GetKeyServerLocationsRequest](), flow.ProtoCodec[*wire.GetKeyServerLocationsReply]())
		rep, err := flow.Await(c, st.GetReply(cl.client, &wire.GetKeyServerLocationsRequest{Begin: []byte("x"), End: []byte("y")}))
		if err != nil {
			return err
		}
		if s := rep.GetShards(); len(s) != 1 || len(s[0].GetServers()) != 1 || s[0].GetServers()[0].GetTag() != 7 {
			t.Errorf("proxy 2's location of x: %v, want tag 7", s)
		}
		return nil
	})
}
