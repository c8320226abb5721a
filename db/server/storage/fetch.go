package storage

import (
	"bytes"
	"slices"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/wire"
)

// fetchState is the progress of copying a fetching shard. The part of the
// shard before cursor is copied and current: its mutations are applied as
// they come. The rest is not: its mutations wait in held, in version order,
// to be applied over the page that copies their keys.
type fetchState struct {
	cursor []byte
	held   []heldMutation
	actor  *flow.Actor
	// pages and bytes count what was copied, for traces.
	pages int
	bytes int64
}

type heldMutation struct {
	version kv.Version
	m       kv.Mutation
}

// startFetch (re)starts copying sh from scratch. A shard with no sources
// has nothing to copy: it is readable from its taggedFrom version, which
// the server must not have reached.
func (s *Server) startFetch(sh *shard) {
	s.stopFetch(sh)
	// Whatever the window or the engine still holds of the range (an
	// earlier owner's data, a copy cut short) goes: the copy replaces it.
	// The clear goes in after the server's version, like the pages.
	s.store.clearRange(s.version+1, sh.r)
	if len(sh.sources) == 0 {
		sh.state, sh.readableAt = ShardReadable, sh.taggedFrom
		s.metaDirty = true
		return
	}
	sh.state = ShardFetching
	f := &fetchState{cursor: bytes.Clone(sh.r.Begin)}
	sh.fetch = f
	f.actor = s.env.Spawn("StorageFetchKeys", func(c *flow.Ctx) error {
		err := s.fetchShard(c, sh, f)
		if err != nil && sh.fetch == f && !s.stopped && s.env.Alive() {
			// Only an engine read can fail here: the server is broken.
			s.env.Trace(flow.SevError, "StorageServerFailed", flow.D("ID", s.id), flow.D("Actor", "StorageFetchKeys"),
				flow.D("Error", err.Error()))
			s.stop(err)
		}
		return nil
	})
}

// stopFetch cancels sh's copy, if any.
func (s *Server) stopFetch(sh *shard) {
	if sh.fetch != nil {
		sh.fetch.actor.Cancel()
		sh.fetch = nil
	}
}

// fetchShard copies sh page by page from its sources. Each page is read at
// the server's version (at least sh.taggedFrom), so that the mutations
// above it are all held back or yet to come.
func (s *Server) fetchShard(c *flow.Ctx, sh *shard, f *fetchState) error {
	live := func() bool { return sh.fetch == f && !s.stopped }
	for s.version < sh.taggedFrom {
		if _, err := flow.Await(c, s.versionBump.Future()); err != nil || !live() {
			return nil
		}
	}
	src := 0
	if len(sh.sources) > 1 {
		src = c.Rand().IntN(len(sh.sources))
	}
	failures := 0
	for bytes.Compare(f.cursor, sh.r.End) < 0 {
		source := sh.sources[src%len(sh.sources)]
		fv := s.version
		rs := flow.NewRequestStream(flow.Endpoint{Addr: flow.Address(source.Address), Token: source.GetKeyValues},
			flow.ProtoCodec[*wire.GetKeyValuesRequest](), flow.ProtoCodec[*wire.GetKeyValuesReply]())
		req := &wire.GetKeyValuesRequest{Begin: f.cursor, End: sh.r.End, Version: int64(fv),
			LimitBytes: int32(s.knobs.FetchPageBytes)}
		rep, err := flow.Timeout(c, rs.GetReply(s.env, req), s.knobs.FetchTimeout)
		if !live() {
			return nil
		}
		if err == nil && rep.More && len(rep.Data) == 0 {
			err = flow.ErrMalformedRequest // no progress: try elsewhere
		}
		if err != nil {
			// future_version: the source lags; too_old: the server's version
			// passed the source's window; wrong_shard_server: the source no
			// longer has the range. Another source, or later, may do.
			s.env.Trace(flow.SevWarn, "StorageFetchFailed", flow.D("ID", s.id), flow.D("Shard", sh.r.String()),
				flow.D("Source", source.Id), flow.D("Version", fv), flow.D("Error", err.Error()))
			src++
			if failures++; failures%len(sh.sources) == 0 {
				if err := c.Sleep(s.knobs.FetchRetryDelay); err != nil || !live() {
					return nil
				}
			}
			continue
		}
		failures = 0
		end := sh.r.End
		if rep.More {
			end = kv.KeyAfter(rep.Data[len(rep.Data)-1].Key)
		}
		s.installPage(sh, f, rep.Data, end, fv)
	}
	s.finishFetch(sh, f)
	return nil
}

// installPage writes a page of sh copied at version fv, covering
// [f.cursor, end) (which startFetch cleared), then the held-back mutations
// of those keys above fv, and moves the cursor to end. The writes go in
// after the server's version: the shard is not readable yet, so they are
// no version's state to read.
func (s *Server) installPage(sh *shard, f *fetchState, data []*wire.KeyValue, end []byte, fv kv.Version) {
	page := kv.KeyRange{Begin: f.cursor, End: end}
	v := s.version + 1
	for _, p := range data {
		if !page.Contains(p.Key) {
			continue // not asked for: a confused source
		}
		// A set cannot fail.
		_ = s.store.apply(v, kv.Mutation{Type: kv.SetValue, Key: p.Key, Param: p.Value})
		f.bytes += int64(len(p.Key) + len(p.Value))
	}
	rest := kv.KeyRange{Begin: end, End: sh.r.End}
	held := f.held[:0:0]
	for _, h := range f.held {
		if in, ok := clipMutation(h.m, page); ok && h.version > fv {
			s.applyOrTrace(v, in)
			s.heldApplied.Inc()
		}
		// The next page is read at a version >= fv: what is at or below fv
		// it has already.
		if out, ok := clipMutation(h.m, rest); ok && h.version > fv {
			held = append(held, heldMutation{version: h.version, m: out})
		}
	}
	f.held = held
	f.cursor = bytes.Clone(end)
	f.pages++
	s.fetchPages.Inc()
}

// finishFetch makes sh readable from the version its last page went in at.
func (s *Server) finishFetch(sh *shard, f *fetchState) {
	sh.fetch = nil
	sh.state = ShardReadable
	sh.readableAt = s.version + 1
	s.metaDirty = true
	s.env.Trace(flow.SevInfo, "StorageShardReadable", flow.D("ID", s.id), flow.D("Shard", sh.r.String()),
		flow.D("ReadableVersion", sh.readableAt), flow.D("Pages", f.pages), flow.D("Bytes", f.bytes))
}

// clipMutation returns the part of m inside r: a clear range clipped to
// it, another mutation only when its key is in it.
func clipMutation(m kv.Mutation, r kv.KeyRange) (kv.Mutation, bool) {
	if m.Type != kv.ClearRange {
		return m, r.Contains(m.Key)
	}
	c := kv.KeyRange{Begin: m.Key, End: m.Param}
	if !c.Intersects(r) {
		return m, false
	}
	if bytes.Compare(c.Begin, r.Begin) < 0 {
		c.Begin = r.Begin
	}
	if bytes.Compare(c.End, r.End) > 0 {
		c.End = r.End
	}
	return kv.Mutation{Type: kv.ClearRange, Key: c.Begin, Param: c.End}, true
}

// applyMutation applies m at version v to the shards it touches: at once
// where the server holds the data, held back in the part of a fetching
// shard not copied yet, not at all outside the shards. It returns touched
// with the parts applied added, for the watches.
func (s *Server) applyMutation(v kv.Version, m kv.Mutation, touched []touch) []touch {
	if m.Type != kv.ClearRange {
		if i := s.shards.containing(m.Key); i >= 0 {
			touched = s.applyToShard(s.shards.list[i], v, m, touched)
		}
		return touched
	}
	i, j := s.shards.overlapping(kv.KeyRange{Begin: m.Key, End: m.Param})
	for _, sh := range s.shards.list[i:j] {
		if part, ok := clipMutation(m, sh.r); ok {
			touched = s.applyToShard(sh, v, part, touched)
		}
	}
	return touched
}

// applyToShard applies m, which lies in sh.
func (s *Server) applyToShard(sh *shard, v kv.Version, m kv.Mutation, touched []touch) []touch {
	if f := sh.fetch; f != nil {
		if rest, ok := clipMutation(m, kv.KeyRange{Begin: f.cursor, End: sh.r.End}); ok {
			f.held = append(f.held, heldMutation{version: v, m: cloneMutation(rest)})
		}
		var ok bool
		if m, ok = clipMutation(m, kv.KeyRange{Begin: sh.r.Begin, End: f.cursor}); !ok {
			return touched
		}
	}
	if s.applyOrTrace(v, m) && s.watches.count > 0 {
		touched = append(touched, touchOf(v, m))
	}
	return touched
}

// applyOrTrace applies m to the window; a mutation the window refuses (an
// unknown type) is traced and skipped.
func (s *Server) applyOrTrace(v kv.Version, m kv.Mutation) bool {
	if err := s.store.apply(v, m); err != nil {
		s.env.Trace(flow.SevError, "StorageBadMutation", flow.D("ID", s.id), flow.D("Version", v),
			flow.D("Mutation", m.String()), flow.D("Error", err.Error()))
		return false
	}
	return true
}

func cloneMutation(m kv.Mutation) kv.Mutation {
	return kv.Mutation{Type: m.Type, Key: bytes.Clone(m.Key), Param: slices.Clone(m.Param)}
}
