package tlog

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/wire"
)

const (
	// defaultSeedRequestTimeout is Recovery.RequestTimeout's default.
	defaultSeedRequestTimeout = 5 * time.Second
	// seedSyncBytes is at most how much copied data is pushed to the queue
	// between syncs: it bounds the queue's write buffer during a seeding.
	// A sync also comes at least once per segment's worth, so that the copy
	// fills segments of the usual size, which pops reclaim one by one.
	seedSyncBytes = 4 << 20
	// seedPasses is how many times each source is tried for one peek
	// before the seeding gives up, so a brief partition is ridden out.
	seedPasses = 2
	// seedPeeksInFlight bounds the peeks a seeding runs at once.
	seedPeeksInFlight = 32
)

var (
	lockCodec    = flow.ProtoCodec[*wire.TLogLockRequest]()
	lockRepCodec = flow.ProtoCodec[*wire.TLogLockReply]()
	peekCodec    = flow.ProtoCodec[*wire.TLogPeekRequest]()
	peekRepCodec = flow.ProtoCodec[*wire.TLogPeekReply]()
)

// seedSource is an old log the seeding may copy from.
type seedSource struct {
	id   string
	peek flow.RequestStream[*wire.TLogPeekRequest, *wire.TLogPeekReply]
	// bad: a peek from it failed, so tags move off it without each
	// waiting for a failure of its own.
	bad bool
}

// seedTag is one tag's progress in a seeding.
type seedTag struct {
	tag uint32
	// popped is the first version the new log holds for the tag.
	popped int64
	// known: every version of the tag below it was peeked; buf holds those
	// not yet written, ascending.
	known int64
	buf   []*wire.VersionedMutations
	// src is the index of the source the tag is read from.
	src int
}

// seeder copies the old generation's data into a new log.
type seeder struct {
	t         *TLog
	version   int64
	timeout   time.Duration
	sources   []*seedSource
	tags      []*seedTag
	prev      int64 // version of the last record pushed
	unsynced  int   // bytes pushed since the last sync
	syncBytes int
	records   int
	bytes     int64
}

// seed makes cfg.Dir a new generation's log holding cfg.Recover's data:
// it marks the directory incomplete, deletes what it held (a partial
// seeding), copies every tag's versions from its popped point to the
// recovery version into the queue, syncs, and marks the directory complete
// with the version and popped points. st is the directory's state file.
func seed(c *flow.Ctx, cfg Config, st *dirState) (*TLog, error) {
	rec := cfg.Recover
	if rec.Version < 0 {
		return nil, fmt.Errorf("seeding: recovery version %d is negative", rec.Version)
	}
	start := c.Now()
	c.Trace(flow.SevInfo, "TLogSeedStart", flow.D("ID", cfg.ID), flow.D("Version", rec.Version),
		flow.D("Sources", len(rec.From)), flow.D("Tags", len(rec.Tags)), flow.D("Retry", st != nil))
	if err := clearForSeed(c, c.Files(), cfg.Dir, st); err != nil {
		return nil, fmt.Errorf("seeding: %w", err)
	}
	t := newTLog(c.Env, cfg)
	if _, err := t.openQueue(c); err != nil {
		return nil, fmt.Errorf("seeding: %w", err)
	}
	s := newSeeder(t, rec)
	if err := s.run(c); err != nil {
		t.queue.Close()
		return nil, fmt.Errorf("seeding to version %d: %w", rec.Version, err)
	}
	if err := s.finish(c); err != nil {
		t.queue.Close()
		return nil, fmt.Errorf("seeding: marking it complete: %w", err)
	}
	c.Trace(flow.SevInfo, "TLogSeeded", flow.D("ID", cfg.ID), flow.D("Version", rec.Version),
		flow.D("Records", s.records), flow.D("Bytes", s.bytes), flow.D("Seconds", c.Now().Sub(start).Seconds()))
	return t, nil
}

// clearForSeed marks the directory incomplete and empties it, refusing
// one that holds a log that was not seeded.
func clearForSeed(c *flow.Ctx, fs flow.FS, dir string, st *dirState) error {
	if st == nil {
		names, err := fs.List(dir)
		if err != nil {
			return fmt.Errorf("listing %s: %w", dir, err)
		}
		if slices.ContainsFunc(names, func(n string) bool { return n != stateFile+".tmp" }) {
			return fmt.Errorf("%s: %w", dir, ErrNotSeeded)
		}
	}
	if err := writeState(c, fs, dir, &dirState{}); err != nil {
		return err
	}
	if err := removeFiles(c, fs, dir, stateFile); err != nil {
		return fmt.Errorf("clearing a partial copy: %w", err)
	}
	return nil
}

// finish sets the tags' popped points, marks the directory complete and
// puts the log at the recovery version.
func (s *seeder) finish(c *flow.Ctx) error {
	t := s.t
	done := &dirState{complete: true, version: s.version, popped: map[uint32]int64{}}
	for _, st := range s.tags {
		done.popped[st.tag] = st.popped
		t.raisePopped(t.tag(st.tag), st.popped)
	}
	if err := writeState(c, c.Files(), t.cfg.Dir, done); err != nil {
		return err
	}
	t.version, t.durable, t.knownCommitted = s.version, s.version, s.version
	return nil
}

func newSeeder(t *TLog, rec *Recovery) *seeder {
	s := &seeder{t: t, version: rec.Version, timeout: rec.RequestTimeout, syncBytes: seedSyncBytes}
	if seg := t.cfg.SegmentBytes; seg > 0 && seg < seedSyncBytes {
		s.syncBytes = int(seg)
	}
	if s.timeout <= 0 {
		s.timeout = defaultSeedRequestTimeout
	}
	// One entry per tag, from the lowest popped point given for it: copying
	// more than needed is harmless, less is not.
	popped := map[uint32]int64{}
	for _, ts := range rec.Tags {
		if ts == nil {
			continue
		}
		if p, ok := popped[ts.Tag]; !ok || ts.Popped < p {
			popped[ts.Tag] = ts.Popped
		}
	}
	for tag, p := range popped {
		first := min(max(p+1, 0), rec.Version+1)
		s.tags = append(s.tags, &seedTag{tag: tag, popped: first, known: first})
	}
	slices.SortFunc(s.tags, func(a, b *seedTag) int { return cmp.Compare(a.tag, b.tag) })
	return s
}

// run copies the tags' data in rounds: it peeks every tag whose buffer ran
// out (one peek each, in parallel), then writes every version all tags are
// known up to, merging the tags of one version into one record.
func (s *seeder) run(c *flow.Ctx) error {
	if !slices.ContainsFunc(s.tags, func(st *seedTag) bool { return st.known <= s.version }) {
		return nil // nothing to copy: no source needed
	}
	if err := s.pickSources(c); err != nil {
		return err
	}
	for {
		if err := s.refill(c); err != nil {
			return err
		}
		horizon := s.version + 1
		for _, st := range s.tags {
			horizon = min(horizon, st.known)
		}
		if err := s.write(c, horizon); err != nil {
			return err
		}
		if horizon > s.version {
			return s.sync(c)
		}
	}
}

// pickSources locks every log of From (a no-op for the locked logs of an
// old generation, and it makes sure a source's data cannot change) and
// keeps, in order, those whose durable end reaches the recovery version.
func (s *seeder) pickSources(c *flow.Ctx) error {
	from := s.t.cfg.Recover.From
	replies := make([]*wire.TLogLockReply, len(from))
	errs := make([]error, len(from))
	var actors []*flow.Actor
	for i, iface := range from {
		if iface == nil {
			errs[i] = errors.New("no interface")
			continue
		}
		actors = append(actors, c.Spawn("TLogSeedLock", func(c *flow.Ctx) error {
			ep := flow.Endpoint{Addr: flow.Address(iface.Address), Token: iface.Lock}
			replies[i], errs[i] = flow.Timeout(c, flow.NewRequestStream(ep, lockCodec, lockRepCodec).
				GetReply(c.Env, &wire.TLogLockRequest{}), s.timeout)
			return nil
		}))
	}
	for _, a := range actors {
		if _, err := flow.Await(c, a.Done()); err != nil {
			return err
		}
	}
	var last error
	for i, iface := range from {
		if errs[i] == nil && replies[i].End < s.version {
			errs[i] = fmt.Errorf("durable only to version %d", replies[i].End)
		}
		if errs[i] != nil {
			last = errs[i]
			c.Trace(flow.SevWarn, "TLogSeedSourceSkipped", flow.D("ID", s.t.cfg.ID), flow.D("Source", iface.GetId()),
				flow.D("Error", errs[i].Error()))
			continue
		}
		ep := flow.Endpoint{Addr: flow.Address(iface.Address), Token: iface.Peek}
		s.sources = append(s.sources, &seedSource{id: iface.Id, peek: flow.NewRequestStream(ep, peekCodec, peekRepCodec)})
	}
	if len(s.sources) == 0 {
		return fmt.Errorf("none of %d logs is reachable and durable to version %d (last: %v): %w",
			len(from), s.version, last, ErrNoSeedSource)
	}
	for i, st := range s.tags {
		st.src = i % len(s.sources) // spread the tags over the sources
	}
	return nil
}

// refill peeks every tag that has nothing buffered and is not yet known
// up to the recovery version, a bounded number at once.
func (s *seeder) refill(c *flow.Ctx) error {
	var todo []*seedTag
	for _, st := range s.tags {
		if len(st.buf) == 0 && st.known <= s.version {
			todo = append(todo, st)
		}
	}
	next := 0
	var first error
	var workers []*flow.Actor
	for range min(len(todo), seedPeeksInFlight) {
		workers = append(workers, c.Spawn("TLogSeedPeek", func(c *flow.Ctx) error {
			for next < len(todo) && first == nil {
				st := todo[next]
				next++
				if err := s.peekTag(c, st); err != nil {
					if first == nil {
						first = err
					}
					return err
				}
			}
			return nil
		}))
	}
	for _, a := range workers {
		_, err := flow.Await(c, a.Done())
		if err != nil && first == nil {
			first = err
		}
		if first != nil {
			for _, b := range workers {
				b.Cancel() // the seeding failed: stop the peeks still waiting
			}
		}
	}
	return first
}

// peekTag reads the tag's next batch, moving on to the next source when
// one fails (and off sources another tag found failed).
func (s *seeder) peekTag(c *flow.Ctx, st *seedTag) error {
	var last error
	for range seedPasses * len(s.sources) {
		s.pickFor(st)
		src := s.sources[st.src]
		rep, err := flow.Timeout(c, src.peek.GetReply(c.Env, &wire.TLogPeekRequest{Tag: st.tag, Begin: st.known}), s.timeout)
		if err == nil {
			err = s.take(st, rep)
		}
		if err == nil {
			return nil
		}
		last = err
		src.bad = true
		c.Trace(flow.SevWarn, "TLogSeedPeekFailed", flow.D("ID", s.t.cfg.ID), flow.D("Source", src.id),
			flow.D("Tag", st.tag), flow.D("Begin", st.known), flow.D("Error", err.Error()))
	}
	return fmt.Errorf("tag %d from version %d: every source failed (last: %v): %w", st.tag, st.known, last, ErrNoSeedSource)
}

// pickFor moves the tag off a bad source to the next good one; once every
// source has failed, they all get another chance.
func (s *seeder) pickFor(st *seedTag) {
	n := len(s.sources)
	for i := range n {
		if j := (st.src + i) % n; !s.sources[j].bad {
			st.src = j
			return
		}
	}
	for _, src := range s.sources {
		src.bad = false
	}
	st.src = (st.src + 1) % n
}

// take checks a peek reply and buffers its versions up to the recovery
// version. A reply saying the source popped the tag beyond where the copy
// is moves the tag's popped point there: a pop means the storage server
// no longer needs those versions.
func (s *seeder) take(st *seedTag, rep *wire.TLogPeekReply) error {
	begin := st.known
	if rep.End <= begin && len(rep.Messages) == 0 {
		return fmt.Errorf("peek from %d made no progress (end %d): the source is behind", begin, rep.End)
	}
	prev := begin - 1
	for _, m := range rep.Messages {
		if m.Version <= prev || m.Version >= rep.End {
			return fmt.Errorf("peek from %d returned version %d after %d with end %d", begin, m.Version, prev, rep.End)
		}
		prev = m.Version
	}
	if rep.Popped > begin {
		st.popped = max(st.popped, min(rep.Popped, s.version+1))
	}
	for _, m := range rep.Messages {
		if m.Version > s.version {
			break
		}
		if m.Version >= st.popped && len(m.Mutations) > 0 {
			st.buf = append(st.buf, m)
		}
	}
	st.known = min(rep.End, s.version+1)
	return nil
}

// write pushes every buffered version below horizon, one record per
// version holding all its tags, and syncs once enough is pushed.
func (s *seeder) write(c *flow.Ctx, horizon int64) error {
	byVersion := map[int64][]*wire.TaggedMutations{}
	for _, st := range s.tags {
		i := 0
		for ; i < len(st.buf) && st.buf[i].Version < horizon; i++ {
			m := st.buf[i]
			byVersion[m.Version] = append(byVersion[m.Version], &wire.TaggedMutations{Tag: st.tag, Mutations: m.Mutations})
		}
		clear(st.buf[:i])
		if st.buf = st.buf[i:]; len(st.buf) == 0 {
			st.buf = nil
		}
	}
	versions := make([]int64, 0, len(byVersion))
	for v := range byVersion {
		versions = append(versions, v)
	}
	slices.Sort(versions)
	for _, v := range versions {
		req := &wire.TLogCommitRequest{PrevVersion: s.prev, Version: v, Messages: byVersion[v]}
		payload, err := encodeRecord(req)
		if err != nil {
			return fmt.Errorf("encoding version %d: %w", v, err)
		}
		if err := s.t.queue.Push(v, payload); err != nil {
			return err
		}
		s.t.index(req)
		s.prev = v
		s.unsynced += len(payload)
		s.records++
		s.bytes += int64(len(payload))
	}
	if s.unsynced >= s.syncBytes {
		return s.sync(c)
	}
	return nil
}

func (s *seeder) sync(c *flow.Ctx) error {
	if err := s.t.queue.Commit(c); err != nil {
		return err
	}
	s.unsynced = 0
	return nil
}
