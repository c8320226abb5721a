package tlog

import (
	"errors"
	"fmt"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/server/tlog/diskqueue"
	"github.com/strata-db/strata/db/wire"
)

// Config configures a transaction log; zero fields take defaults.
type Config struct {
	// ID names the log in its interface and traces.
	ID string
	// Dir is the log's directory in the process's data directory
	// (default "tlog").
	Dir string
	// InitialVersion is the version of a log with no data: the first
	// commit it accepts has this prev_version.
	InitialVersion int64
	// SegmentBytes is the size of the queue's segment files (default
	// diskqueue.DefaultSegmentBytes).
	SegmentBytes int64
	// MaxPeekReplyBytes bounds the mutation bytes of one peek reply
	// (default 1 MiB); a reply always carries at least one version.
	MaxPeekReplyBytes int
	// PeekTimeout is how long a peek waits for new data before answering
	// empty (default 1 s).
	PeekTimeout time.Duration
	// Locked starts the log locked, as an old generation's log reopened
	// after a restart: it recovers its files and serves peeks, pops and
	// locks, but refuses commits.
	Locked bool
	// Recover, if set, makes a new generation's log: New first copies the
	// old generation's unpopped data up to Recover.Version into the log
	// (see Recovery) and the log then starts at that version.
	Recover *Recovery
}

// Recovery says what a new generation's log is seeded with: for each tag
// of Tags, versions Popped+1 through Version, peeked from the (locked) logs
// of From. Sources whose durable end is below Version are skipped; a source
// that fails is replaced by the next.
type Recovery struct {
	From    []*wire.TLogInterface
	Tags    []*wire.TLogTagState
	Version int64
	// RequestTimeout bounds each request to a source before the next one
	// is tried (default 5 s).
	RequestTimeout time.Duration
}

func (c *Config) ensureDefaults() {
	if c.Dir == "" {
		c.Dir = "tlog"
	}
	if c.MaxPeekReplyBytes <= 0 {
		c.MaxPeekReplyBytes = 1 << 20
	}
	if c.PeekTimeout <= 0 {
		c.PeekTimeout = time.Second
	}
}

// Errors the log answers with, as FoundationDB's.
var (
	// ErrTLogStopped answers requests to a stopped log.
	ErrTLogStopped = kv.ErrTLogStopped
	// ErrIOError answers commits once the disk failed.
	ErrIOError = &flow.Error{Code: 1510, Name: "io_error"}
)

// Errors of New.
var (
	// ErrIncomplete is returned by New, without Config.Recover, for a
	// directory whose seeding (or destruction) was interrupted: it holds a
	// part of a log, which must not serve. New with Recover seeds it again;
	// RemoveFiles deletes it.
	ErrIncomplete = errors.New("tlog: the directory holds an incomplete log (interrupted seeding or destroy)")
	// ErrNoSeedSource is returned by New when no log of Recover.From could
	// provide the data to seed from.
	ErrNoSeedSource = errors.New("tlog: no source log can provide the seed data")
	// ErrNotSeeded is returned by New with Recover for a directory that
	// already holds a log that was not seeded: seeding never overwrites one.
	ErrNotSeeded = errors.New("tlog: the directory holds a log that was not seeded")
)

// Stats is a snapshot of the log's state.
type Stats struct {
	// Version is the last version applied; DurableVersion the last one
	// made durable.
	Version, DurableVersion int64
	// QueueBytes and QueueSegments are the disk queue's footprint.
	QueueBytes    int64
	QueueSegments int
	// MemoryBytes is the size of the mutations held in the peek index.
	MemoryBytes int64
	// MinPoppedVersion is the version below which the queue may be
	// reclaimed: the smallest popped point of the tags ever pushed (FDB's
	// MinPoppedTagVersion). MinPoppedTag is the tag at that point, when
	// HoldsQueue says one holds the queue back. A tag whose storage server
	// stopped popping shows here as a lag that grows without end.
	MinPoppedVersion int64
	MinPoppedTag     uint32
	HoldsQueue       bool
}

// TLog is a running transaction log.
type TLog struct {
	env   *flow.Env
	cfg   Config
	queue *diskqueue.Queue
	iface *wire.TLogInterface

	version        int64 // last version pushed
	durable        int64 // last version durable
	knownCommitted int64
	tags           map[uint32]*tagLog
	memoryBytes    int64

	// changed is fired (and replaced) whenever version or durable moves
	// or the log stops, waking the commits and peeks that wait on them.
	changed flow.Promise[struct{}]
	stopped bool
	// locked: the log's generation ended; it takes no more commits, so
	// version is final.
	locked bool
	failed error

	commits *flow.Listener[*wire.TLogCommitRequest, *wire.TLogCommitReply]
	peeks   *flow.Listener[*wire.TLogPeekRequest, *wire.TLogPeekReply]
	pops    *flow.Listener[*wire.TLogPopRequest, *wire.TLogPopReply]
	locks   *flow.Listener[*wire.TLogLockRequest, *wire.TLogLockReply]
	// confirms answers GRV proxies while the log is not locked.
	confirms *flow.Listener[*wire.TLogConfirmRunningRequest, *wire.TLogConfirmRunningReply]
	servers  []*flow.Actor

	m         metrics
	reclaimed int64 // queue bytes reclaimed already counted
}

type metrics struct {
	commits, duplicates, commitBytes *flow.Counter
	peeks, peekMessages, pops        *flow.Counter
	queuePushed, queueReclaimed      *flow.Counter
	commitLatency                    *flow.Histogram
}

func newMetrics(m *flow.Metrics) metrics {
	return metrics{
		commits:        m.Counter("tlog.commits"),
		duplicates:     m.Counter("tlog.commit_duplicates"),
		commitBytes:    m.Counter("tlog.commit_bytes"),
		peeks:          m.Counter("tlog.peeks"),
		peekMessages:   m.Counter("tlog.peek_messages"),
		pops:           m.Counter("tlog.pops"),
		queuePushed:    m.Counter("tlog.queue_bytes_pushed"),
		queueReclaimed: m.Counter("tlog.queue_bytes_reclaimed"),
		commitLatency:  m.Histogram("tlog.commit_latency"),
	}
}

// New recovers the log from its directory and starts serving it on fresh
// dynamic tokens of c's process. With cfg.Recover it first seeds the
// directory (or finds it seeded by an earlier attempt with the same
// version). The caller's actor is used for recovery and seeding only; the
// log runs on actors of its own.
func New(c *flow.Ctx, cfg Config) (*TLog, error) {
	cfg.ensureDefaults()
	env := c.Env
	fs := env.Files()
	if fs == nil {
		return nil, fmt.Errorf("tlog %s: the process has no data directory", cfg.ID)
	}
	st, err := readState(fs, cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("tlog %s: %w", cfg.ID, err)
	}
	var t *TLog
	switch {
	case cfg.Recover != nil && (st == nil || !st.complete || st.version != cfg.Recover.Version):
		t, err = seed(c, cfg, st)
	case st != nil && !st.complete:
		err = ErrIncomplete
	default:
		t, err = open(c, cfg, st)
	}
	if err != nil {
		return nil, fmt.Errorf("tlog %s: %w", cfg.ID, err)
	}
	t.locked = cfg.Locked
	t.m.queuePushed.Add(uint64(t.queue.Stats().Bytes))
	t.listen()
	env.Trace(flow.SevInfo, "TLogStarted", flow.D("ID", cfg.ID), flow.D("Version", t.version),
		flow.D("Locked", t.locked), flow.D("Seeded", st != nil || cfg.Recover != nil),
		flow.D("QueueBytes", t.queue.Stats().Bytes))
	return t, nil
}

func newTLog(env *flow.Env, cfg Config) *TLog {
	return &TLog{env: env, cfg: cfg, tags: map[uint32]*tagLog{}, changed: flow.NewPromise[struct{}](),
		m: newMetrics(env.Metrics())}
}

// openQueue opens the log's disk queue.
func (t *TLog) openQueue(c *flow.Ctx) ([]diskqueue.Record, error) {
	q, recs, err := diskqueue.Open(c, c.Files(), t.cfg.Dir, diskqueue.Options{
		SegmentBytes: t.cfg.SegmentBytes,
		SyncLatency:  c.Metrics().Histogram("tlog.fsync_latency"),
	})
	if err != nil {
		return nil, err
	}
	t.queue = q
	return recs, nil
}

// open recovers a log from its directory; st is its state file, if any
// (a complete seeding).
func open(c *flow.Ctx, cfg Config, st *dirState) (*TLog, error) {
	t := newTLog(c.Env, cfg)
	recs, err := t.openQueue(c)
	if err != nil {
		return nil, err
	}
	if err := t.recover(recs, t.queue.ReclaimedBelow(), st); err != nil {
		t.queue.Close()
		return nil, err
	}
	return t, nil
}

// recover rebuilds the index from the recovered records. Versions below
// reclaimedBelow were deleted from the queue: every tag that had data there
// had popped it, so that is where the recovered tags' popped points start.
// A seeded log's state adds the seed's version (the log's version even if
// no record is left) and the tags' popped points as seeded.
func (t *TLog) recover(recs []diskqueue.Record, reclaimedBelow int64, st *dirState) error {
	t.version = t.cfg.InitialVersion
	for _, r := range recs {
		req, err := decodeRecord(r.Payload)
		if err != nil {
			return fmt.Errorf("decoding version %d: %w", r.Version, err)
		}
		if req.Version != r.Version {
			return fmt.Errorf("record of version %d holds a commit of version %d", r.Version, req.Version)
		}
		t.index(req)
		t.knownCommitted = max(t.knownCommitted, req.KnownCommittedVersion)
	}
	for _, tl := range t.tags {
		tl.popped = reclaimedBelow
	}
	if st != nil {
		t.version = max(t.version, st.version)
		t.knownCommitted = max(t.knownCommitted, st.version)
		for tag, popped := range st.popped {
			t.raisePopped(t.tag(tag), popped)
		}
	}
	if n := len(recs); n > 0 {
		t.version = max(t.version, recs[n-1].Version)
	}
	t.durable = t.version
	return nil
}

func (t *TLog) listen() {
	e := t.env
	t.commits = flow.Listen(e, 0, flow.ProtoCodec[*wire.TLogCommitRequest](), flow.ProtoCodec[*wire.TLogCommitReply]())
	t.peeks = flow.Listen(e, 0, flow.ProtoCodec[*wire.TLogPeekRequest](), flow.ProtoCodec[*wire.TLogPeekReply]())
	t.pops = flow.Listen(e, 0, flow.ProtoCodec[*wire.TLogPopRequest](), flow.ProtoCodec[*wire.TLogPopReply]())
	t.locks = flow.Listen(e, 0, flow.ProtoCodec[*wire.TLogLockRequest](), flow.ProtoCodec[*wire.TLogLockReply]())
	t.confirms = flow.Listen(e, 0, flow.ProtoCodec[*wire.TLogConfirmRunningRequest](), flow.ProtoCodec[*wire.TLogConfirmRunningReply]())
	t.iface = &wire.TLogInterface{
		Address: string(e.Address()),
		Id:      t.cfg.ID,
		Commit:  t.commits.Stream().Endpoint().Token,
		Peek:    t.peeks.Stream().Endpoint().Token,
		Pop:     t.pops.Stream().Endpoint().Token,
		Lock:    t.locks.Stream().Endpoint().Token,

		ConfirmRunning: t.confirms.Stream().Endpoint().Token,
	}
	t.servers = []*flow.Actor{
		serve(t, "TLogCommit", t.commits, t.commit),
		serve(t, "TLogPeek", t.peeks, t.peek),
		serve(t, "TLogPop", t.pops, t.pop),
		serve(t, "TLogLock", t.locks, t.lock),
		serve(t, "TLogConfirmRunning", t.confirms, t.confirmRunning),
	}
}

// serve answers each request of l on an actor of its own, so that a commit
// waiting for its predecessor or a long-polling peek holds up nothing else.
func serve[Req, Rep any](t *TLog, name string, l *flow.Listener[Req, Rep], handle func(*flow.Ctx, Req) (Rep, error)) *flow.Actor {
	return t.env.Spawn(name+"Server", func(c *flow.Ctx) error {
		for {
			r, err := l.Requests().Next(c)
			if err != nil {
				return err
			}
			t.env.Spawn(name, func(c *flow.Ctx) error {
				rep, err := handle(c, r.Msg)
				if err != nil {
					r.Fail(err)
					return nil
				}
				r.Reply(rep)
				return nil
			})
		}
	})
}

// Interface returns where the log listens.
func (t *TLog) Interface() *wire.TLogInterface { return t.iface }

// Version returns the last version applied to the log; after recovery, the
// highest durable version.
func (t *TLog) Version() int64 { return t.version }

// DurableVersion returns the last version made durable.
func (t *TLog) DurableVersion() int64 { return t.durable }

// Stats returns a snapshot of the log's state.
func (t *TLog) Stats() Stats {
	qs := t.queue.Stats()
	point, tag, held := t.minPopped()
	return Stats{Version: t.version, DurableVersion: t.durable, QueueBytes: qs.Bytes,
		QueueSegments: qs.Segments, MemoryBytes: t.memoryBytes,
		MinPoppedVersion: point, MinPoppedTag: tag, HoldsQueue: held}
}

// Stop stops serving: queued and later requests fail, and waiting commits
// and peeks answer tlog_stopped. Durable data stays on disk for the next
// New.
func (t *TLog) Stop() {
	if t.stopped {
		return
	}
	t.stopped = true
	for _, a := range t.servers {
		a.Cancel()
	}
	t.commits.Close()
	t.peeks.Close()
	t.pops.Close()
	t.locks.Close()
	t.confirms.Close()
	t.notify()
}

// confirmRunning answers while the log is unlocked: a GRV proxy's read
// version is the live committed version only if no recovery has locked its
// generation's logs.
func (t *TLog) confirmRunning(c *flow.Ctx, _ *wire.TLogConfirmRunningRequest) (*wire.TLogConfirmRunningReply, error) {
	if t.locked {
		return nil, ErrTLogStopped
	}
	return &wire.TLogConfirmRunningReply{}, nil
}

// Locked reports whether the log is locked.
func (t *TLog) Locked() bool { return t.locked }

// Destroy stops the log and deletes its directory's files: for a log of a
// generation no longer needed. c should be an actor of the log's process. The directory is marked incomplete first, so
// a crash in the middle leaves nothing that opens as a log.
func (t *TLog) Destroy(c *flow.Ctx) error {
	t.Stop()
	_ = t.queue.Close() // its files are being deleted; a close error changes nothing
	if err := removeLog(c, t.env.Files(), t.cfg.Dir); err != nil {
		return fmt.Errorf("tlog %s: destroying: %w", t.cfg.ID, err)
	}
	t.env.Trace(flow.SevInfo, "TLogDestroyed", flow.D("ID", t.cfg.ID), flow.D("Dir", t.cfg.Dir))
	return nil
}

// notify wakes everything waiting for the log to change.
func (t *TLog) notify() {
	p := t.changed
	t.changed = flow.NewPromise[struct{}]()
	p.Send(struct{}{})
}

// waitChange blocks until the log changes or extra is ready.
func (t *TLog) waitChange(c *flow.Ctx, extra ...flow.Waitable) error {
	_, err := flow.Select(c, append([]flow.Waitable{t.changed.Future()}, extra...)...)
	return err
}
