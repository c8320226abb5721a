package client

import (
	"bytes"
	"fmt"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/wire"
)

// CheckConsistency reads every shard from every storage server of its
// team at one read version and reports the first difference: FoundationDB's
// ConsistencyCheck, for tests and for operators after a failure. It reads
// the whole database (system keys included), so it is meant for test-sized
// data. A replica that cannot answer fails the check.
func (d *Database) CheckConsistency(c *flow.Ctx) error {
	shards, err := d.shardLocations(c)
	if err != nil {
		return fmt.Errorf("consistency check: %w", err)
	}
	for _, loc := range shards {
		if err := d.checkShard(c, loc); err != nil {
			return err
		}
	}
	return nil
}

// ShardTeam is one shard of the shard map and the addresses of the
// storage servers of its team.
type ShardTeam struct {
	Range   kv.KeyRange
	Servers []string
	// IDs are the storage servers' IDs, in the order of Servers.
	IDs []string
}

// ShardMap returns the whole shard map as a commit proxy serves it, for
// tests and operators that check teams against the replication policy.
func (d *Database) ShardMap(c *flow.Ctx) ([]ShardTeam, error) {
	shards, err := d.shardLocations(c)
	if err != nil {
		return nil, err
	}
	out := make([]ShardTeam, len(shards))
	for i, loc := range shards {
		out[i].Range = kv.KeyRange{Begin: loc.GetBegin(), End: loc.GetEnd()}
		for _, si := range loc.GetServers() {
			out[i].Servers = append(out[i].Servers, si.GetAddress())
			out[i].IDs = append(out[i].IDs, si.GetId())
		}
	}
	return out, nil
}

// shardMapTries bounds how many commit proxies shardLocations asks when
// they fail (a recovery replacing them), waiting for new ones in between.
const shardMapTries = 20

func (d *Database) shardLocations(c *flow.Ctx) ([]*wire.ShardLocation, error) {
	codecReq, codecRep := flow.ProtoCodec[*wire.GetKeyServerLocationsRequest](), flow.ProtoCodec[*wire.GetKeyServerLocationsReply]()
	var err error
	for range shardMapTries {
		var p *wire.CommitProxyInterface
		if p, err = d.commitProxy(c); err != nil {
			return nil, err
		}
		var rep *wire.GetKeyServerLocationsReply
		rep, err = flow.Await(c, storageStream(p.Address, p.GetKeyServerLocations, codecReq, codecRep).GetReply(d.env,
			&wire.GetKeyServerLocationsRequest{Begin: nil, End: maxKeyspace}))
		if err == nil {
			return rep.GetShards(), nil
		}
		if !isEndpointFailure(err) {
			break
		}
		if err := d.waitInfoChange(c, 250*time.Millisecond); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("shard map: %w", err)
}

// checkShard compares a shard's replicas at one fresh read version,
// starting over at a newer one while a replica is catching up or
// refetching the shard (after a recovery rolled it back), for up to
// replicaWait.
func (d *Database) checkShard(c *flow.Ctx, loc *wire.ShardLocation) error {
	r := kv.KeyRange{Begin: loc.GetBegin(), End: loc.GetEnd()}
	deadline := c.Now().Add(replicaWait)
	for {
		err := d.compareReplicas(c, loc, r)
		if err == nil || !c.Now().Before(deadline) || !retryableReplicaError(err) {
			return err
		}
		if err := c.Sleep(200 * time.Millisecond); err != nil {
			return err
		}
	}
}

func retryableReplicaError(err error) bool {
	// request_maybe_delivered: a rebooted replica stays marked failed until
	// its process answers again; a dead one still fails once replicaWait
	// runs out.
	return errorIs(err, flow.ErrRequestMaybeDelivered) || errorIs(err, kv.ErrWrongShardServer) || errorIs(err, kv.ErrFutureVersion) || errorIs(err, kv.ErrTransactionTooOld)
}

func (d *Database) compareReplicas(c *flow.Ctx, loc *wire.ShardLocation, r kv.KeyRange) error {
	v, err := flow.Await(c, d.readVersion(PrioritySystemImmediate, true))
	if err != nil {
		return fmt.Errorf("consistency check: read version: %w", err)
	}
	var first []kv.KeyValue
	for i, si := range loc.GetServers() {
		rows, err := d.readReplica(c, si, r, v)
		if err != nil {
			return fmt.Errorf("consistency check: shard %s on %s: %w", r, si.GetId(), err)
		}
		if i == 0 {
			first = rows
			continue
		}
		if diff := firstDifference(first, rows); diff != "" {
			return fmt.Errorf("consistency check: shard %s differs between %s and %s at version %d: %s",
				r, loc.GetServers()[0].GetId(), si.GetId(), v, diff)
		}
	}
	return nil
}

// replicaWait bounds how long a consistency check waits for a replica.
const replicaWait = 30 * time.Second

// readReplica reads r from one storage server at v, page by page.
func (d *Database) readReplica(c *flow.Ctx, si *wire.StorageInterface, r kv.KeyRange, v kv.Version) ([]kv.KeyValue, error) {
	codecReq, codecRep := flow.ProtoCodec[*wire.GetKeyValuesRequest](), flow.ProtoCodec[*wire.GetKeyValuesReply]()
	stream := storageStream(si.Address, si.GetKeyValues, codecReq, codecRep)
	var out []kv.KeyValue
	begin := r.Begin
	for {
		rep, err := flow.Await(c, stream.GetReply(d.env, &wire.GetKeyValuesRequest{Begin: begin, End: r.End, Version: int64(v), Limit: 1000}))
		if err != nil {
			return nil, err
		}
		for _, row := range rep.GetData() {
			out = append(out, kv.KeyValue{Key: row.GetKey(), Value: row.GetValue()})
		}
		if !rep.GetMore() || len(rep.GetData()) == 0 {
			return out, nil
		}
		begin = kv.KeyAfter(rep.GetData()[len(rep.GetData())-1].GetKey())
	}
}

func firstDifference(a, b []kv.KeyValue) string {
	for i := 0; i < len(a) || i < len(b); i++ {
		switch {
		case i >= len(a):
			return fmt.Sprintf("only the second has %s", kv.Printable(b[i].Key))
		case i >= len(b):
			return fmt.Sprintf("only the first has %s", kv.Printable(a[i].Key))
		case !bytes.Equal(a[i].Key, b[i].Key):
			return fmt.Sprintf("keys %s and %s", kv.Printable(a[i].Key), kv.Printable(b[i].Key))
		case !bytes.Equal(a[i].Value, b[i].Value):
			return fmt.Sprintf("values of %s", kv.Printable(a[i].Key))
		}
	}
	return ""
}
