package storage

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/strata-db/strata/db/engine"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/wire"
)

// Config is what a storage server is made of.
type Config struct {
	// ID names the server in its interface and traces.
	ID string
	// Tag is the log tag whose mutations the server pulls.
	Tag uint32
	// Shard is the key range the server owns. Its end is clipped below the
	// keys the server reserves for itself (\xff\xff\xff).
	Shard kv.KeyRange
	// Engine holds the durable state; the server is its only user.
	Engine engine.Engine
	// Logs are the transaction logs of the current generation; each holds
	// every tag. The server peeks one (moving to the next when it fails)
	// and pops them all. SetLogs replaces them.
	Logs []*wire.TLogInterface
	// Knobs tune the server; zero fields take defaults.
	Knobs Knobs
}

// Knobs are the storage server's tunables.
type Knobs struct {
	// MVCCWindow is how far (in versions) reads may reach below the
	// server's version; versions older than that are made durable.
	// Default kv.MVCCWindow (5 s).
	MVCCWindow kv.Version
	// CommitInterval is how often the durability actor commits to the
	// engine. Default 500 ms (FoundationDB's STORAGE_COMMIT_INTERVAL).
	CommitInterval time.Duration
	// FutureVersionDelay is how long a read above the server's version
	// waits for it before failing with future_version. Default 1 s.
	FutureVersionDelay time.Duration
	// PeekRetryDelay is the pause after a round of failed peeks (one on
	// each log). Default 100 ms.
	PeekRetryDelay time.Duration
	// PeekTimeout is how long a peek may go unanswered before the server
	// peeks the next log instead. It must exceed the logs' own long-poll
	// timeout (1 s). Default 3 s.
	PeekTimeout time.Duration
	// ReplyByteLimit caps the keys and values of one range reply. Default
	// 80,000 (FoundationDB's REPLY_BYTE_LIMIT).
	ReplyByteLimit int
	// MetricsInterval is how often the server traces StorageMetrics.
	// Default 5 s.
	MetricsInterval time.Duration
}

func (k Knobs) withDefaults() Knobs {
	if k.MVCCWindow <= 0 {
		k.MVCCWindow = kv.MVCCWindow
	}
	if k.CommitInterval <= 0 {
		k.CommitInterval = 500 * time.Millisecond
	}
	if k.FutureVersionDelay <= 0 {
		k.FutureVersionDelay = time.Second
	}
	if k.PeekRetryDelay <= 0 {
		k.PeekRetryDelay = 100 * time.Millisecond
	}
	if k.PeekTimeout <= 0 {
		k.PeekTimeout = 3 * time.Second
	}
	if k.ReplyByteLimit <= 0 {
		k.ReplyByteLimit = 80_000
	}
	if k.MetricsInterval <= 0 {
		k.MetricsInterval = 5 * time.Second
	}
	return k
}

// Stats describe a storage server's progress and memory.
type Stats struct {
	// Version is the newest version pulled from the log.
	Version kv.Version
	// DurableVersion is the version the engine holds.
	DurableVersion kv.Version
	// KnownCommittedVersion is the largest known committed version the
	// logs reported; DurableVersion never passes it.
	KnownCommittedVersion kv.Version
	// OldestVersion is the oldest version reads may use.
	OldestVersion kv.Version
	// QueueBytes are the bytes of writes held in memory, not yet durable.
	QueueBytes int64
	// Watches is the number of registered watches.
	Watches int
	// BytesInput and BytesDurable count the keys and values of the
	// mutations applied and made durable since the server started.
	BytesInput, BytesDurable int64
}

// Server is a running storage server.
type Server struct {
	env   *flow.Env
	id    string
	tag   uint32
	shard kv.KeyRange
	eng   engine.Engine
	knobs Knobs
	store *vstore

	version kv.Version // the newest version pulled
	oldest  kv.Version // the oldest version reads may use
	durable kv.Version // the version the engine holds
	// knownCommitted is the largest known committed version the logs
	// reported: every version up to it is acknowledged to a client and
	// survives recoveries, so durability never passes it.
	knownCommitted kv.Version
	// versionBump is sent and replaced whenever version advances.
	versionBump flow.Promise[struct{}]

	watches *watchSet

	logs []logStreams
	// pullGen counts the pull actors started; only the newest one's peeks
	// are applied.
	pullGen   uint64
	pullActor *flow.Actor
	// committing is the durable version of the engine commit in flight
	// (0 when none): a rollback may not go below it.
	committing kv.Version

	getValue     *flow.Listener[*wire.GetValueRequest, *wire.GetValueReply]
	getKey       *flow.Listener[*wire.GetKeyRequest, *wire.GetKeyReply]
	getKeyValues *flow.Listener[*wire.GetKeyValuesRequest, *wire.GetKeyValuesReply]
	watchValue   *flow.Listener[*wire.WatchValueRequest, *wire.WatchValueReply]

	actors  []*flow.Actor
	done    flow.Promise[struct{}]
	stopped bool

	bytesInput, bytesDurable int64
	// The process's metrics, summed over its storage servers.
	inputCounter, durableCounter, mutations, reads *flow.Counter
	readLatency                                    *flow.Histogram
}

// New recovers the server's durable version from cfg.Engine, starts its
// actors (pulling from cfg.Logs[0] right after the durable version,
// committing to the engine, serving reads) and returns it.
func New(env *flow.Env, cfg Config) (*Server, error) {
	if cfg.Engine == nil {
		return nil, errors.New("storage: no engine")
	}
	logs, err := newLogStreams(cfg.Logs)
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	shard := kv.KeyRange{Begin: bytes.Clone(cfg.Shard.Begin), End: bytes.Clone(cfg.Shard.End)}
	if bytes.Compare(shard.End, reservedPrefix) > 0 {
		shard.End = bytes.Clone(reservedPrefix)
	}
	if shard.Empty() {
		return nil, fmt.Errorf("storage: shard %s is empty", cfg.Shard)
	}
	durable, err := readDurableVersion(cfg.Engine)
	if err != nil {
		return nil, fmt.Errorf("storage %s: recovering: %w", cfg.ID, err)
	}
	m := env.Metrics()
	s := &Server{
		env: env, id: cfg.ID, tag: cfg.Tag, shard: shard, eng: cfg.Engine, knobs: cfg.Knobs.withDefaults(),
		store:   newVStore(cfg.Engine),
		version: durable, oldest: durable, durable: durable, knownCommitted: durable,
		versionBump: flow.NewPromise[struct{}](),
		watches:     newWatchSet(),
		logs:        logs,
		getValue:    flow.Listen(env, 0, flow.ProtoCodec[*wire.GetValueRequest](), flow.ProtoCodec[*wire.GetValueReply]()),
		getKey:      flow.Listen(env, 0, flow.ProtoCodec[*wire.GetKeyRequest](), flow.ProtoCodec[*wire.GetKeyReply]()),
		getKeyValues: flow.Listen(env, 0, flow.ProtoCodec[*wire.GetKeyValuesRequest](),
			flow.ProtoCodec[*wire.GetKeyValuesReply]()),
		watchValue: flow.Listen(env, 0, flow.ProtoCodec[*wire.WatchValueRequest](),
			flow.ProtoCodec[*wire.WatchValueReply]()),
		done:           flow.NewPromise[struct{}](),
		inputCounter:   m.Counter("storage.bytes_input"),
		durableCounter: m.Counter("storage.bytes_durable"),
		mutations:      m.Counter("storage.mutations"),
		reads:          m.Counter("storage.reads"),
		readLatency:    m.Histogram("storage.read_latency"),
	}
	env.Trace(flow.SevInfo, "StorageServerStart", flow.D("ID", s.id), flow.D("Tag", s.tag),
		flow.D("Shard", shard.String()), flow.D("DurableVersion", durable))
	s.startPull()
	s.spawn("StorageDurability", s.makeDurable)
	serve(s, "StorageGetValue", s.getValue, s.serveGetValue)
	serve(s, "StorageGetKey", s.getKey, s.serveGetKey)
	serve(s, "StorageGetKeyValues", s.getKeyValues, s.serveGetKeyValues)
	s.spawn("StorageWatchValue", s.serveWatches)
	s.spawn("StorageMetrics", s.traceMetrics)
	return s, nil
}

func readDurableVersion(eng engine.Engine) (kv.Version, error) {
	b, found, err := eng.Get(durableVersionKey)
	if err != nil {
		return 0, fmt.Errorf("reading the durable version: %w", err)
	}
	if !found {
		return 0, nil
	}
	return decodeVersion(b)
}

// spawn starts a long-lived actor; its failure stops the server.
func (s *Server) spawn(name string, body func(c *flow.Ctx) error) {
	a := s.env.Spawn(name, body)
	s.actors = append(s.actors, a)
	a.Done().OnReady(func(_ struct{}, err error) {
		// A process that died takes its actors with it; nothing to report.
		if err != nil && !s.stopped && s.env.Alive() {
			s.env.Trace(flow.SevError, "StorageServerFailed", flow.D("ID", s.id), flow.D("Actor", name),
				flow.D("Error", err.Error()))
			s.stop(err)
		}
	})
}

// Interface returns where the server listens.
func (s *Server) Interface() *wire.StorageInterface {
	return &wire.StorageInterface{
		Address:      string(s.env.Address()),
		Id:           s.id,
		Tag:          s.tag,
		GetValue:     s.getValue.Stream().Endpoint().Token,
		GetKey:       s.getKey.Stream().Endpoint().Token,
		GetKeyValues: s.getKeyValues.Stream().Endpoint().Token,
		WatchValue:   s.watchValue.Stream().Endpoint().Token,
	}
}

// Stats returns the server's current progress.
func (s *Server) Stats() Stats {
	return Stats{Version: s.version, DurableVersion: s.durable, KnownCommittedVersion: s.knownCommitted,
		OldestVersion: s.oldest,
		QueueBytes:    s.store.queueBytes, Watches: s.watches.count,
		BytesInput: s.bytesInput, BytesDurable: s.bytesDurable}
}

// Done is set when the server stops: to nothing after Stop, to the error
// that stopped it otherwise (an engine failure).
func (s *Server) Done() flow.Future[struct{}] { return s.done.Future() }

// Stop stops the server's actors and listeners; pending watches fail with
// broken_promise.
func (s *Server) Stop() { s.stop(nil) }

func (s *Server) stop(err error) {
	if s.stopped {
		return
	}
	s.stopped = true
	for _, a := range s.actors {
		a.Cancel()
	}
	if s.pullActor != nil {
		s.pullActor.Cancel()
	}
	s.getValue.Close()
	s.getKey.Close()
	s.getKeyValues.Close()
	s.watchValue.Close()
	s.watches.failAll(flow.ErrBrokenPromise)
	if err != nil {
		s.done.Fail(err)
	} else {
		s.done.Send(struct{}{})
	}
}

// traceMetrics traces the server's progress now and then, as
// FoundationDB's StorageMetrics event.
func (s *Server) traceMetrics(c *flow.Ctx) error {
	for {
		if err := c.Sleep(s.knobs.MetricsInterval); err != nil {
			return err
		}
		st := s.Stats()
		s.env.Trace(flow.SevInfo, "StorageMetrics", flow.D("ID", s.id), flow.D("Version", st.Version),
			flow.D("DurableVersion", st.DurableVersion), flow.D("QueueBytes", st.QueueBytes),
			flow.D("Watches", st.Watches), flow.D("BytesInput", st.BytesInput),
			flow.D("BytesDurable", st.BytesDurable))
	}
}

// advance moves the server's version to v and wakes reads waiting for it.
func (s *Server) advance(v kv.Version) {
	if v <= s.version {
		return
	}
	s.version = v
	bump := s.versionBump
	s.versionBump = flow.NewPromise[struct{}]()
	bump.Send(struct{}{})
}

// waitForVersion waits until the server has version v, at most
// FutureVersionDelay, then checks that v is still readable.
func (s *Server) waitForVersion(c *flow.Ctx, v kv.Version) error {
	if v > s.version {
		deadline := c.Delay(s.knobs.FutureVersionDelay)
		for v > s.version {
			i, err := flow.Select(c, s.versionBump.Future(), deadline)
			if err != nil {
				return err
			}
			if i == 1 && v > s.version {
				return kv.ErrFutureVersion
			}
		}
	}
	if v < s.oldest {
		return kv.ErrTransactionTooOld
	}
	return nil
}
