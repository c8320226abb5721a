package storage

import (
	"bytes"

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

// readAt waits for version and checks that it is readable and that the
// server owns keys (checked by owns).
func (s *Server) readAt(c *flow.Ctx, version int64, owns bool) error {
	if err := s.waitForVersion(c, kv.Version(version)); err != nil {
		return err
	}
	if !owns {
		return kv.ErrWrongShardServer
	}
	return nil
}

func (s *Server) serveGetValue(c *flow.Ctx, req *wire.GetValueRequest) (*wire.GetValueReply, error) {
	if err := s.readAt(c, req.Version, s.shard.Contains(req.Key)); err != nil {
		return nil, err
	}
	val, present, err := s.store.get(req.Key, kv.Version(req.Version))
	if err != nil {
		return nil, err
	}
	return &wire.GetValueReply{Value: val, Present: present}, nil
}

func (s *Server) serveGetKey(c *flow.Ctx, req *wire.GetKeyRequest) (*wire.GetKeyReply, error) {
	if req.Selector == nil {
		return nil, flow.ErrMalformedRequest
	}
	sel := kv.KeySelector{Key: req.Selector.Key, OrEqual: req.Selector.OrEqual, Offset: int(req.Selector.Offset)}
	if err := s.readAt(c, req.Version, selectorInShard(sel, s.shard)); err != nil {
		return nil, err
	}
	key, offset, err := s.store.findKey(sel, kv.Version(req.Version), s.shard)
	if err != nil {
		return nil, err
	}
	out := partialSelector(key, offset)
	return &wire.GetKeyReply{Selector: &wire.KeySelector{Key: out.Key, OrEqual: out.OrEqual, Offset: int32(out.Offset)}}, nil
}

func (s *Server) serveGetKeyValues(c *flow.Ctx, req *wire.GetKeyValuesRequest) (*wire.GetKeyValuesReply, error) {
	r := kv.KeyRange{Begin: req.Begin, End: req.End}
	owns := r.Empty() || (bytes.Compare(r.Begin, s.shard.Begin) >= 0 && bytes.Compare(r.End, s.shard.End) <= 0)
	if err := s.readAt(c, req.Version, owns); err != nil {
		return nil, err
	}
	byteLimit := s.knobs.ReplyByteLimit
	if req.LimitBytes > 0 && int(req.LimitBytes) < byteLimit {
		byteLimit = int(req.LimitBytes)
	}
	kvs, more, err := s.store.getRange(r, kv.Version(req.Version), req.Reverse, int(req.Limit), byteLimit)
	if err != nil {
		return nil, err
	}
	rep := &wire.GetKeyValuesReply{Data: make([]*wire.KeyValue, len(kvs)), More: more}
	for i, p := range kvs {
		rep.Data[i] = &wire.KeyValue{Key: p.Key, Value: p.Value}
	}
	return rep, nil
}
