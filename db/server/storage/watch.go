package storage

import (
	"bytes"
	"errors"
	"slices"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/wire"
)

type watchRequest = flow.Request[*wire.WatchValueRequest, *wire.WatchValueReply]

// watchSet holds the registered watches by key.
type watchSet struct {
	byKey map[string][]*watchRequest
	count int
}

func newWatchSet() *watchSet { return &watchSet{byKey: map[string][]*watchRequest{}} }

func (w *watchSet) add(r *watchRequest) {
	k := string(r.Msg.Key)
	w.byKey[k] = append(w.byKey[k], r)
	w.count++
}

// keysIn returns the watched keys in r, sorted.
func (w *watchSet) keysIn(r kv.KeyRange) []string {
	var out []string
	for k := range w.byKey {
		if r.Contains([]byte(k)) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func (w *watchSet) failAll(err error) {
	keys := w.keysIn(kv.KeyRange{Begin: []byte{}, End: []byte("\xff\xff\xff\xff")})
	for _, k := range keys {
		for _, r := range w.byKey[k] {
			r.Fail(err)
		}
	}
	w.byKey = map[string][]*watchRequest{}
	w.count = 0
}

// failRange fails the watches on keys in r with err.
func (w *watchSet) failRange(r kv.KeyRange, err error) {
	for _, k := range w.keysIn(r) {
		for _, req := range w.byKey[k] {
			req.Fail(err)
			w.count--
		}
		delete(w.byKey, k)
	}
}

// touch is a write at a version: to one key, or to a range.
type touch struct {
	version kv.Version
	m       kv.Mutation
}

func touchOf(v kv.Version, m kv.Mutation) touch { return touch{version: v, m: m} }

// serveWatches registers each watch once the server has its version, and
// answers at once if the value already differs.
func (s *Server) serveWatches(c *flow.Ctx) error {
	for {
		r, err := s.watchValue.Requests().Next(c)
		if err != nil {
			return err
		}
		s.env.Spawn("StorageWatch", func(c *flow.Ctx) error {
			if err := s.registerWatch(c, r); err != nil {
				r.Fail(err)
			}
			return nil
		})
	}
}

func (s *Server) registerWatch(c *flow.Ctx, r *watchRequest) error {
	if err := s.waitForVersion(c, kv.Version(r.Msg.Version)); err != nil && !errors.Is(err, kv.ErrTransactionTooOld) {
		return err // a watch only compares with the newest value, so an old version is fine
	}
	if _, ok := s.keySpan(r.Msg.Key, s.version); !ok {
		return kv.ErrWrongShardServer
	}
	if s.stopped {
		return flow.ErrBrokenPromise
	}
	changed, err := s.watchChanged(r, s.version)
	if err != nil {
		return err
	}
	if changed {
		r.Reply(&wire.WatchValueReply{Version: int64(s.version)})
		return nil
	}
	s.watches.add(r)
	return nil
}

// watchChanged reports whether the watched key's value at v differs from
// the one the watch was given.
func (s *Server) watchChanged(r *watchRequest, v kv.Version) (bool, error) {
	val, present, err := s.store.get(r.Msg.Key, v)
	if err != nil {
		return false, err
	}
	return present != r.Msg.Present || (present && !bytes.Equal(val, r.Msg.Value)), nil
}

// fireWatches answers, in write order, the watches whose key a write
// changed, with the write's version.
func (s *Server) fireWatches(touched []touch) {
	for _, t := range touched {
		if s.watches.count == 0 {
			return
		}
		var keys []string
		if t.m.Type == kv.ClearRange {
			keys = s.watches.keysIn(kv.KeyRange{Begin: t.m.Key, End: t.m.Param})
		} else if _, ok := s.watches.byKey[string(t.m.Key)]; ok {
			keys = []string{string(t.m.Key)}
		}
		for _, k := range keys {
			s.fireKey(k, t.version)
		}
	}
}

func (s *Server) fireKey(k string, v kv.Version) {
	var keep []*watchRequest
	for _, r := range s.watches.byKey[k] {
		changed, err := s.watchChanged(r, v)
		switch {
		case err != nil:
			r.Fail(err)
		case changed:
			r.Reply(&wire.WatchValueReply{Version: int64(v)})
		default:
			keep = append(keep, r)
			continue
		}
		s.watches.count--
	}
	if len(keep) == 0 {
		delete(s.watches.byKey, k)
	} else {
		s.watches.byKey[k] = keep
	}
}

// recheckWatches fires, at the server's version, every watch whose key's
// value now differs from the watched one: after a rollback the value a
// watch last compared with may be gone.
func (s *Server) recheckWatches() {
	for _, k := range s.watches.keysIn(kv.KeyRange{Begin: []byte{}, End: []byte("\xff\xff\xff\xff")}) {
		s.fireKey(k, s.version)
	}
}
