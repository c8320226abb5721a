package storage

import (
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/wire"
)

// readRequest is what the read requests share: the version they read at.
type readRequest interface{ GetVersion() int64 }

// serve answers l's requests with handle. A request at a version the
// server already has is answered at once by the serving actor; one that must
// wait for its version gets an actor of its own, so it holds up nobody.
func serve[Req readRequest, Rep any](s *Server, name string, l *flow.Listener[Req, Rep], handle func(c *flow.Ctx, req Req) (Rep, error)) {
	answer := func(c *flow.Ctx, r *flow.Request[Req, Rep]) {
		start := c.Now()
		rep, err := handle(c, r.Msg)
		s.reads.Inc()
		s.readLatency.Observe(c.Now().Sub(start))
		if err != nil {
			r.Fail(err)
		} else {
			r.Reply(rep)
		}
	}
	s.spawn(name, func(c *flow.Ctx) error {
		for {
			r, err := l.Requests().Next(c)
			if err != nil {
				return err
			}
			if kv.Version(r.Msg.GetVersion()) <= s.version {
				answer(c, r) // nothing to wait for: handle does not block
				continue
			}
			s.env.Spawn(name, func(c *flow.Ctx) error {
				answer(c, r)
				return nil
			})
		}
	})
}

// readAt waits for version and checks that it is readable.
func (s *Server) readAt(c *flow.Ctx, version int64) error {
	return s.waitForVersion(c, kv.Version(version))
}

func (s *Server) serveGetValue(c *flow.Ctx, req *wire.GetValueRequest) (*wire.GetValueReply, error) {
	v := kv.Version(req.Version)
	if err := s.readAt(c, req.Version); err != nil {
		return nil, err
	}
	if _, ok := s.keySpan(req.Key, v); !ok {
		return nil, kv.ErrWrongShardServer
	}
	val, present, err := s.store.get(req.Key, v)
	if err != nil {
		return nil, err
	}
	return &wire.GetValueReply{Value: val, Present: present}, nil
}

func (s *Server) serveGetKey(c *flow.Ctx, req *wire.GetKeyRequest) (*wire.GetKeyReply, error) {
	if req.Selector == nil {
		return nil, flow.ErrMalformedRequest
	}
	v := kv.Version(req.Version)
	sel := kv.KeySelector{Key: req.Selector.Key, OrEqual: req.Selector.OrEqual, Offset: int(req.Selector.Offset)}
	if err := s.readAt(c, req.Version); err != nil {
		return nil, err
	}
	span, ok := s.selectorSpan(sel, v)
	if !ok {
		return nil, kv.ErrWrongShardServer
	}
	key, offset, err := s.store.findKey(sel, v, span)
	if err != nil {
		return nil, err
	}
	out := partialSelector(key, offset)
	return &wire.GetKeyReply{Selector: &wire.KeySelector{Key: out.Key, OrEqual: out.OrEqual, Offset: int32(out.Offset)}}, nil
}

func (s *Server) serveGetKeyValues(c *flow.Ctx, req *wire.GetKeyValuesRequest) (*wire.GetKeyValuesReply, error) {
	v := kv.Version(req.Version)
	r := kv.KeyRange{Begin: req.Begin, End: req.End}
	if err := s.readAt(c, req.Version); err != nil {
		return nil, err
	}
	if !s.rangeOwned(r, v) {
		return nil, kv.ErrWrongShardServer
	}
	byteLimit := s.knobs.ReplyByteLimit
	if req.LimitBytes > 0 && int(req.LimitBytes) < byteLimit {
		byteLimit = int(req.LimitBytes)
	}
	kvs, more, err := s.store.getRange(r, v, req.Reverse, int(req.Limit), byteLimit)
	if err != nil {
		return nil, err
	}
	rep := &wire.GetKeyValuesReply{Data: make([]*wire.KeyValue, len(kvs)), More: more}
	for i, p := range kvs {
		rep.Data[i] = &wire.KeyValue{Key: p.Key, Value: p.Value}
	}
	return rep, nil
}

// serveShardMetrics answers ShardMetrics requests at once, from the byte
// sample and the shard map.
func (s *Server) serveShardMetrics(c *flow.Ctx) error {
	for {
		r, err := s.shardMetrics.Requests().Next(c)
		if err != nil {
			return err
		}
		q := kv.KeyRange{Begin: r.Msg.Begin, End: r.Msg.End}
		rep := &wire.ShardMetricsReply{Version: int64(s.version)}
		if !q.Empty() {
			rep.Bytes = s.sample.bytesIn(q)
			rep.SplitKey = s.sample.splitKey(q)
			i, j := s.shards.overlapping(q)
			for _, sh := range s.shards.list[i:j] {
				info := &wire.StorageShardInfo{Begin: sh.r.Begin, End: sh.r.End, State: uint32(sh.state),
					Bytes: s.sample.bytesIn(sh.r)}
				if sh.state == ShardReadable {
					info.ReadableVersion = int64(sh.readableAt)
				}
				rep.Shards = append(rep.Shards, info)
			}
		}
		r.Reply(rep)
	}
}
