package storage

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/strata-db/strata/db/engine"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/wire"
)

// Config is what a new storage server is made of.
type Config struct {
	// ID names the server in its interface and traces; it is recorded in
	// the engine.
	ID string
	// Tag is the log tag whose mutations the server pulls; it is recorded
	// in the engine.
	Tag uint32
	// Shard, if not zero, is a key range the server owns and serves from
	// the start. Its end is clipped below the keys the server reserves for
	// itself (\xff\xff\xff).
	Shard kv.KeyRange
	// Shards are more key ranges the server owns and serves from the start
	// (clipped like Shard; disjoint). A server may start with none and be
	// given shards with AddShard.
	Shards []kv.KeyRange
	// Engine holds the durable state; the server is its only user. An
	// engine another server recorded its identity in is refused.
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
	// FetchPageBytes bounds the bytes of one page a shard is copied in; 0
	// leaves it to the source's ReplyByteLimit.
	FetchPageBytes int
	// FetchTimeout is how long a page request may go unanswered before
	// the next source is asked. Default 5 s.
	FetchTimeout time.Duration
	// FetchRetryDelay is the pause after a round of failed page requests
	// (one to each source). Default 100 ms.
	FetchRetryDelay time.Duration
	// ByteSampleFactor sets the byte sample's density: about one pair in
	// ByteSampleFactor of small pairs is sampled (FoundationDB's
	// BYTE_SAMPLING_FACTOR). Default 250; tests use tiny values to sample
	// every pair.
	ByteSampleFactor float64
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
	if k.FetchTimeout <= 0 {
		k.FetchTimeout = 5 * time.Second
	}
	if k.FetchRetryDelay <= 0 {
		k.FetchRetryDelay = 100 * time.Millisecond
	}
	if k.ByteSampleFactor <= 0 {
		k.ByteSampleFactor = 250
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
	// BytesStored estimates the bytes of keys and values the engine holds
	// (from the byte sample).
	BytesStored int64
	// Shards are the server's shards, as Shards returns them.
	Shards []ShardInfo
}

// Server is a running storage server.
type Server struct {
	env   *flow.Env
	id    string
	tag   uint32
	eng   engine.Engine
	knobs Knobs
	store *vstore

	shards shardMap
	// removals are the clears of ranges the server stopped owning that
	// are not durable yet.
	removals []removal
	sample   *byteSample
	// metaDirty asks the durability actor to record the identity and the
	// shards with its next commit; metaSynced is set once it did.
	metaDirty  bool
	metaSynced flow.Promise[struct{}]
	// rewriteSample asks it to record the whole byte sample (rebuilt for
	// an engine that had none).
	rewriteSample bool

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
	shardMetrics *flow.Listener[*wire.ShardMetricsRequest, *wire.ShardMetricsReply]

	actors  []*flow.Actor
	done    flow.Promise[struct{}]
	stopped bool

	bytesInput, bytesDurable int64
	// The process's metrics, summed over its storage servers.
	inputCounter, durableCounter, mutations, reads *flow.Counter
	readLatency                                    *flow.Histogram
	// fetchPages counts the pages copied into fetching shards, heldApplied
	// the held-back mutations applied over them.
	fetchPages, heldApplied *flow.Counter
}

// New starts a storage server on cfg.Engine: it recovers the engine's
// durable version, records the server's identity and shards in the engine
// (with its first commit), starts its actors (pulling from the logs right
// after the durable version, committing to the engine, serving reads) and
// returns it. An engine that already holds this server's identity is
// reopened with cfg's shards, which replace the recorded ones; use Reopen
// to restore the recorded ones instead.
func New(env *flow.Env, cfg Config) (*Server, error) {
	if cfg.Engine == nil {
		return nil, errors.New("storage: no engine")
	}
	logs, err := newLogStreams(cfg.Logs)
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	ranges := slices.Clone(cfg.Shards)
	if len(cfg.Shard.Begin) > 0 || len(cfg.Shard.End) > 0 {
		ranges = append(ranges, cfg.Shard)
	}
	var shards shardMap
	for _, r := range ranges {
		r, err := clipShard(r)
		if err != nil {
			return nil, fmt.Errorf("storage: %w", err)
		}
		if i, j := shards.overlapping(r); i < j {
			return nil, fmt.Errorf("storage: shards %s and %s overlap", r, shards.list[i].r)
		}
		shards.insert(&shard{r: r, state: ShardReadable})
	}
	id, found, err := readIdentity(cfg.Engine)
	if err != nil {
		return nil, fmt.Errorf("storage %s: reading its identity: %w", cfg.ID, err)
	}
	if found && (id.id != cfg.ID || id.tag != cfg.Tag) {
		return nil, fmt.Errorf("storage %s: the engine belongs to storage server %q (tag %d)", cfg.ID, id.id, id.tag)
	}
	return start(env, cfg.ID, cfg.Tag, cfg.Engine, logs, shards, cfg.Knobs, !found)
}

// Reopen restores the storage server recorded in eng (by New) after its
// process restarted: its ID, tag and readable shards, and its data as of
// the engine's durable version; it pulls from logs right after it. Shards
// that were still fetching are dropped and their partial data cleared: the
// data distributor must add them again. An engine with no identity fails
// with ErrNoIdentity.
func Reopen(env *flow.Env, eng engine.Engine, logs []*wire.TLogInterface, knobs Knobs) (*Server, error) {
	if eng == nil {
		return nil, errors.New("storage: no engine")
	}
	streams, err := newLogStreams(logs)
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	id, found, err := readIdentity(eng)
	if err != nil {
		return nil, fmt.Errorf("storage: reading the identity: %w", err)
	}
	if !found {
		return nil, ErrNoIdentity
	}
	var shards shardMap
	for _, ps := range id.shards {
		if ps.state != ShardReadable {
			env.Trace(flow.SevWarn, "StorageDropFetchingShard", flow.D("ID", id.id), flow.D("Shard", ps.r.String()))
			continue
		}
		shards.insert(&shard{r: ps.r, state: ShardReadable})
	}
	return start(env, id.id, id.tag, eng, streams, shards, knobs, false)
}

// start builds the server over eng and starts its actors. fresh is set when
// the engine holds no identity yet.
func start(env *flow.Env, id string, tag uint32, eng engine.Engine, logs []logStreams, shards shardMap, knobs Knobs, fresh bool) (*Server, error) {
	knobs = knobs.withDefaults()
	durable, err := readDurableVersion(eng)
	if err != nil {
		return nil, fmt.Errorf("storage %s: recovering: %w", id, err)
	}
	sample, rebuilt, err := openSample(eng, knobs.ByteSampleFactor, fresh && durable > 0)
	if err != nil {
		return nil, fmt.Errorf("storage %s: recovering: %w", id, err)
	}
	m := env.Metrics()
	// Tokens derive from the ID: a restarted server listens where clients
	// and proxies already send.
	base := TokenBase(id)
	s := &Server{
		env: env, id: id, tag: tag, eng: eng, knobs: knobs,
		store:  newVStore(eng),
		shards: shards, sample: sample, rewriteSample: rebuilt,
		metaDirty: true, metaSynced: flow.NewPromise[struct{}](),
		version: durable, oldest: durable, durable: durable, knownCommitted: durable,
		versionBump:    flow.NewPromise[struct{}](),
		watches:        newWatchSet(),
		logs:           logs,
		getValue:       flow.Listen(env, base+offGetValue, flow.ProtoCodec[*wire.GetValueRequest](), flow.ProtoCodec[*wire.GetValueReply]()),
		getKey:         flow.Listen(env, base+offGetKey, flow.ProtoCodec[*wire.GetKeyRequest](), flow.ProtoCodec[*wire.GetKeyReply]()),
		getKeyValues:   flow.Listen(env, base+offGetKeyValues, flow.ProtoCodec[*wire.GetKeyValuesRequest](), flow.ProtoCodec[*wire.GetKeyValuesReply]()),
		watchValue:     flow.Listen(env, base+offWatchValue, flow.ProtoCodec[*wire.WatchValueRequest](), flow.ProtoCodec[*wire.WatchValueReply]()),
		shardMetrics:   flow.Listen(env, base+offShardMetrics, flow.ProtoCodec[*wire.ShardMetricsRequest](), flow.ProtoCodec[*wire.ShardMetricsReply]()),
		done:           flow.NewPromise[struct{}](),
		inputCounter:   m.Counter("storage.bytes_input"),
		durableCounter: m.Counter("storage.bytes_durable"),
		mutations:      m.Counter("storage.mutations"),
		reads:          m.Counter("storage.reads"),
		readLatency:    m.Histogram("storage.read_latency"),
		fetchPages:     m.Counter("storage.fetch_pages"),
		heldApplied:    m.Counter("storage.fetch_held_applied"),
	}
	if err := s.clearOutsideShards(); err != nil {
		return nil, fmt.Errorf("storage %s: recovering: %w", id, err)
	}
	env.Trace(flow.SevInfo, "StorageServerStart", flow.D("ID", s.id), flow.D("Tag", s.tag),
		flow.D("Shards", len(s.shards.list)), flow.D("DurableVersion", durable), flow.D("Fresh", fresh))
	s.startPull()
	s.spawn("StorageDurability", s.makeDurable)
	serve(s, "StorageGetValue", s.getValue, s.serveGetValue)
	serve(s, "StorageGetKey", s.getKey, s.serveGetKey)
	serve(s, "StorageGetKeyValues", s.getKeyValues, s.serveGetKeyValues)
	s.spawn("StorageWatchValue", s.serveWatches)
	s.spawn("StorageShardMetrics", s.serveShardMetrics)
	s.spawn("StorageMetrics", s.traceMetrics)
	return s, nil
}

// openSample loads the engine's byte sample, or rebuilds it from the data
// when the engine predates it (rebuilt: the caller must record it).
func openSample(eng engine.Engine, factor float64, rebuild bool) (bs *byteSample, rebuilt bool, err error) {
	if rebuild {
		bs, err = rebuildSample(eng, factor)
		return bs, err == nil, err
	}
	bs, err = loadSample(eng, factor)
	return bs, false, err
}

// clearOutsideShards clears the engine's data outside the server's shards:
// shards removed or still fetching when the process stopped, whose clear
// never became durable.
func (s *Server) clearOutsideShards() error {
	begin := []byte{}
	gaps := []kv.KeyRange{}
	for _, sh := range s.shards.list {
		gaps = append(gaps, kv.KeyRange{Begin: begin, End: sh.r.Begin})
		begin = sh.r.End
	}
	gaps = append(gaps, kv.KeyRange{Begin: begin, End: reservedPrefix})
	for _, g := range gaps {
		if g.Empty() {
			continue
		}
		kvs, _, err := s.eng.Scan(g, false, 1, 0)
		if err != nil {
			return fmt.Errorf("scanning %s: %w", g, err)
		}
		if len(kvs) > 0 {
			s.clearUnowned(kv.KeyRange{Begin: bytes.Clone(g.Begin), End: bytes.Clone(g.End)})
		}
	}
	return nil
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

// ID returns the server's ID.
func (s *Server) ID() string { return s.id }

// Tag returns the server's log tag.
func (s *Server) Tag() uint32 { return s.tag }

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
		ShardMetrics: s.shardMetrics.Stream().Endpoint().Token,
	}
}

// Stats returns the server's current progress.
func (s *Server) Stats() Stats {
	return Stats{Version: s.version, DurableVersion: s.durable, KnownCommittedVersion: s.knownCommitted,
		OldestVersion: s.oldest, QueueBytes: s.store.queueBytes, Watches: s.watches.count,
		BytesInput: s.bytesInput, BytesDurable: s.bytesDurable, BytesStored: s.sample.total, Shards: s.Shards()}
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
	for _, sh := range s.shards.list {
		s.stopFetch(sh)
	}
	s.getValue.Close()
	s.getKey.Close()
	s.getKeyValues.Close()
	s.watchValue.Close()
	s.shardMetrics.Close()
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
		s.env.Trace(flow.SevInfo, "StorageMetrics", flow.D("ID", s.id), flow.D("Version", s.version),
			flow.D("DurableVersion", s.durable), flow.D("QueueBytes", s.store.queueBytes),
			flow.D("Watches", s.watches.count), flow.D("BytesInput", s.bytesInput),
			flow.D("BytesDurable", s.bytesDurable), flow.D("BytesStored", s.sample.total),
			flow.D("Shards", len(s.shards.list)))
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
