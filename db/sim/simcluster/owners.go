package simcluster

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/status"
	"github.com/strata-db/strata/db/wire"
)

// shardControlTimeout bounds one storage server's answer to the owner
// check; a server that cannot answer it cannot answer a client either.
const shardControlTimeout = 5 * time.Second

// CheckReplicas is the consistency check of a simulated cluster: every
// replica of every shard identical (client.CheckConsistency), and no
// storage server serving a range outside its teams (CheckShardOwners).
func CheckReplicas(c *flow.Ctx, db *client.Database) error {
	if err := db.CheckConsistency(c); err != nil {
		return err
	}
	return CheckShardOwners(c, db)
}

// CheckShardOwners checks that no storage server serves a range the shard
// map does not give it: every readable shard of every storage server in
// status must lie in shards whose team names that server. A server left
// outside the map keeps answering reads from a copy nothing updates any
// more, so a client that cached the old team reads stale data; the
// replica comparison of CheckConsistency cannot see it, since it reads
// only the servers the map names.
func CheckShardOwners(c *flow.Ctx, db *client.Database) error {
	st, err := ReadStatus(c, db)
	if err != nil {
		return fmt.Errorf("checking shard owners: %w", err)
	}
	shards, err := db.ShardMap(c)
	if err != nil {
		return fmt.Errorf("checking shard owners: %w", err)
	}
	for _, addr := range slices.Sorted(maps.Keys(st.Cluster.Processes)) {
		for _, r := range st.Cluster.Processes[addr].Roles {
			if r.Role != status.RoleStorage || r.ID == "" {
				continue
			}
			rep, err := shardStates(c, flow.Address(addr), r.ID)
			if err != nil {
				continue // unreachable: it serves no client either
			}
			if err := checkOwned(r.ID, rep, shards); err != nil {
				return err
			}
		}
	}
	return nil
}

func shardStates(c *flow.Ctx, addr flow.Address, id string) (*wire.ShardControlReply, error) {
	s := flow.NewRequestStream(flow.Endpoint{Addr: addr, Token: kv.TokenShardControl},
		flow.ProtoCodec[*wire.ShardControlRequest](), flow.ProtoCodec[*wire.ShardControlReply]())
	req := &wire.ShardControlRequest{StorageId: id, Op: &wire.ShardControlRequest_States{States: &wire.ShardStates{}}}
	return flow.Timeout(c, s.GetReply(c.Env, req), shardControlTimeout)
}

// checkOwned reports the first readable range of server id that overlaps
// a shard whose team does not name id.
func checkOwned(id string, rep *wire.ShardControlReply, shards []client.ShardTeam) error {
	for _, held := range rep.GetShards() {
		if !held.GetReadable() {
			continue
		}
		begin, end := held.GetRange().GetBegin(), held.GetRange().GetEnd()
		for _, sh := range shards {
			overlaps := bytes.Compare(sh.Range.Begin, end) < 0 && bytes.Compare(begin, sh.Range.End) < 0
			if overlaps && !slices.Contains(sh.IDs, id) {
				return fmt.Errorf("storage server %s serves [%s, %s) but shard %s belongs to %v",
					id, kv.Printable(begin), kv.Printable(end), sh.Range, sh.IDs)
			}
		}
	}
	return nil
}
