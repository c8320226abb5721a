package tlog

import (
	"errors"
	"fmt"

	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/wire"
)

// recordOverhead is the framing a queue record adds to its payload.
const recordOverhead = 16

// commit applies a commit in version order and answers once it is durable.
func (t *TLog) commit(c *flow.Ctx, req *wire.TLogCommitRequest) (*wire.TLogCommitReply, error) {
	start := c.Now()
	if req.Version <= req.PrevVersion {
		return nil, fmt.Errorf("tlog %s: commit of version %d after prev_version %d: versions must increase", t.cfg.ID, req.Version, req.PrevVersion)
	}
	for {
		if err := t.usable(); err != nil {
			return nil, err
		}
		if req.Version <= t.version {
			// A duplicate (a retried push): acknowledge it once durable.
			t.m.duplicates.Inc()
			return t.makeDurable(c, start)
		}
		if req.PrevVersion == t.version {
			break
		}
		if req.PrevVersion < t.version {
			c.Trace(flow.SevError, "TLogVersionGap", flow.D("ID", t.cfg.ID), flow.D("Version", t.version),
				flow.D("PrevVersion", req.PrevVersion), flow.D("CommitVersion", req.Version))
			return nil, fmt.Errorf("tlog %s: commit %d after %d does not follow the log's version %d", t.cfg.ID, req.Version, req.PrevVersion, t.version)
		}
		if err := t.waitChange(c); err != nil {
			return nil, err
		}
	}
	payload, err := encodeRecord(req)
	if err != nil {
		return nil, fmt.Errorf("tlog %s: encoding version %d: %w", t.cfg.ID, req.Version, err)
	}
	if err := t.queue.Push(req.Version, payload); err != nil {
		return nil, fmt.Errorf("tlog %s: %w", t.cfg.ID, err)
	}
	t.version = req.Version
	t.knownCommitted = max(t.knownCommitted, req.KnownCommittedVersion)
	t.index(req)
	t.m.commits.Inc()
	t.m.commitBytes.Add(uint64(len(payload)))
	t.m.queuePushed.Add(uint64(len(payload) + recordOverhead))
	t.notify()
	return t.makeDurable(c, start)
}

// makeDurable waits for a group commit covering everything pushed so far
// and answers with the durable version.
func (t *TLog) makeDurable(c *flow.Ctx, start time.Time) (*wire.TLogCommitReply, error) {
	if err := t.sync(c); err != nil {
		return nil, err
	}
	if t.locked {
		// The generation ended while this commit waited: its proxy must
		// learn that rather than count it acknowledged.
		return nil, ErrTLogStopped
	}
	t.m.commitLatency.Observe(c.Now().Sub(start))
	return &wire.TLogCommitReply{DurableVersion: t.durable}, nil
}

// sync waits for a group commit covering everything pushed so far and
// advances the durable version.
func (t *TLog) sync(c *flow.Ctx) error {
	if err := t.queue.Commit(c); err != nil {
		if !errors.Is(err, flow.ErrOperationCancelled) {
			t.failed = err
			t.notify()
			return ErrIOError
		}
		return err
	}
	if d := t.queue.DurableVersion(); d > t.durable {
		t.durable = d
		t.notify()
	}
	return nil
}

// usable reports why the log cannot take commits, if it cannot.
func (t *TLog) usable() error {
	if t.stopped || t.locked {
		return ErrTLogStopped
	}
	if t.failed != nil {
		return ErrIOError
	}
	return nil
}

// peek answers with the tag's durable mutations from req.Begin as soon as
// there are some, or as soon as the log's durable version reaches
// req.Begin without any for this tag (so the peeker learns that its version
// may advance: FoundationDB's logs answer the same way), waiting up to
// PeekTimeout otherwise.
func (t *TLog) peek(c *flow.Ctx, req *wire.TLogPeekRequest) (*wire.TLogPeekReply, error) {
	t.m.peeks.Inc()
	timeout := c.Delay(t.cfg.PeekTimeout)
	for {
		if t.stopped {
			return nil, ErrTLogStopped
		}
		if tl := t.tags[req.Tag]; tl != nil && req.Begin < tl.popped {
			return &wire.TLogPeekReply{End: tl.popped, Popped: tl.popped, KnownCommittedVersion: t.knownCommitted}, nil
		}
		limit := t.cfg.MaxPeekReplyBytes
		if c.Buggify("TLogPeekOneVersion") {
			// Make peekers page through replies of a single version.
			limit = 1
		}
		msgs, end, _ := t.collect(req.Tag, req.Begin, limit)
		if len(msgs) > 0 || end > req.Begin || timeout.IsReady() {
			t.m.peekMessages.Add(uint64(len(msgs)))
			return &wire.TLogPeekReply{Messages: msgs, End: end, KnownCommittedVersion: t.knownCommitted}, nil
		}
		if err := t.waitChange(c, timeout); err != nil {
			return nil, err
		}
	}
}

// pop records that the tag needs nothing below req.To and reclaims what no
// tag needs.
func (t *TLog) pop(c *flow.Ctx, req *wire.TLogPopRequest) (*wire.TLogPopReply, error) {
	if t.stopped {
		return nil, ErrTLogStopped
	}
	t.m.pops.Inc()
	tl := t.tag(req.Tag)
	if req.To <= tl.popped {
		return &wire.TLogPopReply{}, nil
	}
	tl.popped = req.To
	t.dropBelow(tl, req.To)
	if err := t.queue.Pop(c, t.reclaimPoint()); err != nil {
		if !errors.Is(err, flow.ErrOperationCancelled) {
			t.failed = err
			t.notify()
			return nil, ErrIOError
		}
		return nil, err
	}
	if r := t.queue.Stats().Reclaimed; r > t.reclaimed {
		t.m.queueReclaimed.Add(uint64(r - t.reclaimed))
		t.reclaimed = r
	}
	return &wire.TLogPopReply{}, nil
}

// lock ends the log's generation: from now on it refuses commits (waking
// the waiting ones to refuse them too). The reply waits until everything
// the log accepted is durable, so its end is the last version the log will
// ever hold and every lock gets the same end.
func (t *TLog) lock(c *flow.Ctx, _ *wire.TLogLockRequest) (*wire.TLogLockReply, error) {
	if t.stopped {
		return nil, ErrTLogStopped
	}
	if !t.locked {
		t.locked = true
		c.Trace(flow.SevInfo, "TLogLocked", flow.D("ID", t.cfg.ID), flow.D("Version", t.version),
			flow.D("DurableVersion", t.durable), flow.D("KnownCommittedVersion", t.knownCommitted))
		t.notify()
	}
	for t.durable < t.version {
		if t.failed != nil {
			return nil, ErrIOError
		}
		if err := t.sync(c); err != nil {
			return nil, err
		}
	}
	return &wire.TLogLockReply{End: t.durable, KnownCommittedVersion: t.knownCommitted, Tags: t.tagStates()}, nil
}
