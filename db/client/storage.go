package client

import (
	"bytes"
	"errors"
	"fmt"
	"math"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/wire"
)

func errorIs(err, target error) bool { return errors.Is(err, target) }

func storageStream[Req, Rep any](addr string, token uint64, req flow.Codec[Req], rep flow.Codec[Rep]) flow.RequestStream[Req, Rep] {
	return flow.NewRequestStream(flow.Endpoint{Addr: flow.Address(addr), Token: token}, req, rep)
}

func (d *Database) getValue(c *flow.Ctx, key []byte, v kv.Version) ([]byte, bool, error) {
	req := &wire.GetValueRequest{Key: key, Version: int64(v)}
	codecReq, codecRep := flow.ProtoCodec[*wire.GetValueRequest](), flow.ProtoCodec[*wire.GetValueReply]()
	rep, _, err := atShard(c, d, key, false, func(_ shard, si *wire.StorageInterface) flow.Future[*wire.GetValueReply] {
		return storageStream(si.Address, si.GetValue, codecReq, codecRep).GetReply(d.env, req)
	})
	if err != nil {
		return nil, false, err
	}
	return rep.Value, rep.Present, nil
}

// maxSelectorHops bounds how many shards one key selector may cross; a
// storage server that never lets a selector progress would otherwise loop
// forever.
const maxSelectorHops = 10_000

// getKey resolves sel shard by shard: a storage server resolves it within
// its shard or returns a partial resolution at the shard's edge, which the
// next shard continues (FDB's getKey loop).
func (d *Database) getKey(c *flow.Ctx, sel kv.KeySelector, v kv.Version) ([]byte, error) {
	codecReq, codecRep := flow.ProtoCodec[*wire.GetKeyRequest](), flow.ProtoCodec[*wire.GetKeyReply]()
	for hop := 0; hop < maxSelectorHops; hop++ {
		if bytes.Compare(sel.Key, maxKeyspace) >= 0 {
			if sel.Offset > 0 {
				return bytes.Clone(maxKeyspace), nil
			}
			sel.Key, sel.OrEqual = maxKeyspace, false
		} else if len(sel.Key) == 0 && sel.Offset <= 0 {
			return []byte{}, nil
		}
		req := &wire.GetKeyRequest{
			Selector: &wire.KeySelector{Key: sel.Key, OrEqual: sel.OrEqual, Offset: int32(sel.Offset)},
			Version:  int64(v),
		}
		backward := !sel.OrEqual && sel.Offset <= 0
		rep, _, err := atShard(c, d, sel.Key, backward, func(_ shard, si *wire.StorageInterface) flow.Future[*wire.GetKeyReply] {
			return storageStream(si.Address, si.GetKey, codecReq, codecRep).GetReply(d.env, req)
		})
		if err != nil {
			return nil, err
		}
		if rep.Selector == nil {
			return nil, fmt.Errorf("storage server replied to get key without a selector: %w", flow.ErrInternal)
		}
		sel = kv.KeySelector{Key: rep.Selector.Key, OrEqual: rep.Selector.OrEqual, Offset: int(rep.Selector.Offset)}
		if sel.Offset == 0 && sel.OrEqual {
			return present(sel.Key, true), nil
		}
	}
	return nil, fmt.Errorf("key selector still unresolved after %d shards: %w", maxSelectorHops, flow.ErrInternal)
}

// storageLimit turns "no limit" (0) into the largest limit the wire
// carries, so that storage servers need not special-case 0.
func storageLimit(n int) int32 {
	if n <= 0 || n > math.MaxInt32 {
		return math.MaxInt32
	}
	return int32(n)
}

// getRange reads the part of r within one shard: the shard holding
// r.Begin, or in reverse the one holding the keys just below r.End.
func (d *Database) getRange(c *flow.Ctx, r kv.KeyRange, v kv.Version, limit, limitBytes int, reverse bool) ([]kv.KeyValue, []byte, error) {
	codecReq, codecRep := flow.ProtoCodec[*wire.GetKeyValuesRequest](), flow.ProtoCodec[*wire.GetKeyValuesReply]()
	key := r.Begin
	if reverse {
		key = r.End
	}
	var sub kv.KeyRange
	rep, _, err := atShard(c, d, key, reverse, func(s shard, si *wire.StorageInterface) flow.Future[*wire.GetKeyValuesReply] {
		sub = r
		if bytes.Compare(s.r.Begin, sub.Begin) > 0 {
			sub.Begin = s.r.Begin
		}
		if bytes.Compare(s.r.End, sub.End) < 0 {
			sub.End = s.r.End
		}
		req := &wire.GetKeyValuesRequest{
			Begin: sub.Begin, End: sub.End, Version: int64(v),
			Limit: storageLimit(limit), LimitBytes: storageLimit(limitBytes), Reverse: reverse,
		}
		return storageStream(si.Address, si.GetKeyValues, codecReq, codecRep).GetReply(d.env, req)
	})
	if err != nil {
		return nil, nil, err
	}
	rows := make([]kv.KeyValue, len(rep.Data))
	for i, row := range rep.Data {
		if !sub.Contains(row.Key) {
			return nil, nil, fmt.Errorf("storage server returned %s outside %s: %w", kv.Printable(row.Key), sub, flow.ErrInternal)
		}
		rows[i] = kv.KeyValue{Key: row.Key, Value: present(row.Value, true)}
	}
	readTo := sub.End
	if reverse {
		readTo = sub.Begin
	}
	if rep.More && len(rows) > 0 {
		last := rows[len(rows)-1].Key
		readTo = kv.KeyAfter(last)
		if reverse {
			readTo = last
		}
	}
	return rows, readTo, nil
}

// watch waits on a storage server of key's shard until key's value
// differs from value/present at a version >= v. When the server can no
// longer serve v (too old), it re-reads the value at a fresh read version
// and either fires or watches again from there.
func (d *Database) watch(c *flow.Ctx, key, value []byte, present bool, v kv.Version) (kv.Version, error) {
	codecReq, codecRep := flow.ProtoCodec[*wire.WatchValueRequest](), flow.ProtoCodec[*wire.WatchValueReply]()
	for {
		req := &wire.WatchValueRequest{Key: key, Value: value, Present: present, Version: int64(v)}
		rep, _, err := atShard(c, d, key, false, func(_ shard, si *wire.StorageInterface) flow.Future[*wire.WatchValueReply] {
			return storageStream(si.Address, si.WatchValue, codecReq, codecRep).GetReply(d.env, req)
		})
		if err == nil {
			return kv.Version(rep.Version), nil
		}
		if !errors.Is(err, kv.ErrTransactionTooOld) && !errors.Is(err, kv.ErrFutureVersion) && !errors.Is(err, kv.ErrProcessBehind) {
			return 0, err
		}
		if err := c.Sleep(futureVersionDelay); err != nil {
			return 0, err
		}
		rv, err := flow.Await(c, d.readVersion(PriorityDefault, true))
		if err != nil {
			return 0, err
		}
		now, ok, err := d.getValue(c, key, rv)
		if err != nil {
			continue
		}
		if ok != present || !bytes.Equal(now, value) {
			return rv, nil
		}
		v = rv
	}
}
