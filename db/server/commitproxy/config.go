package commitproxy

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/wire"
)

// Config parameterises a commit proxy.
type Config struct {
	// ID names the proxy in its interface and traces, and numbers its
	// requests to the sequencer: it must be unique among the generation's
	// commit proxies.
	ID string
	// Sequencer hands out commit versions.
	Sequencer *wire.SequencerInterface
	// Resolvers, in key order; their ranges must partition the key space
	// ["", "\xff\xff").
	Resolvers []Resolver
	// TLogs receive every committed batch (each log gets every tag for now).
	TLogs []*wire.TLogInterface
	// Shards is the initial shard map, in key order; the ranges must
	// partition ["", "\xff\xff") and each shard needs at least one server.
	Shards []Shard
	// Locked is the value of \xff/dbLocked (kv.DBLockedKey, the lock's
	// UID) when the generation starts, nil when the database is not
	// locked. While locked, commits of transactions that are not
	// lock_aware fail with database_locked; later changes come from the
	// key's committed mutations.
	Locked []byte
	// TagLockChanges also tags committed lock changes with kv.TxsTag, for
	// a cluster controller that carries the lock across generations (it
	// reads and pops the tag). A single process, which pops nothing but
	// its storage tag, leaves it off.
	TagLockChanges bool

	// While batches are in flight, batch starts are spaced by the batch
	// interval: a tenth of the smoothed batch latency, at least
	// MinBatchWindow and at most BatchWindow (0 means 1ms and 10ms;
	// FoundationDB's COMMIT_TRANSACTION_BATCH_INTERVAL_MIN and _MAX are 1ms
	// and 20ms). IdleBatchWindow is how long a batch stays open after its
	// first transaction arrived (at least; with batches in flight, until
	// the interval since the last batch's start passed too): batching only
	// pays while the pipeline is busy, so by default (0) a batch that
	// finds the pipeline idle starts at once.
	MinBatchWindow  time.Duration
	BatchWindow     time.Duration
	IdleBatchWindow time.Duration
	// MaxBatchTransactions closes a batch at this many transactions; 0
	// means 1,024. At most 65,536: the batch index is two bytes.
	MaxBatchTransactions int
	// MaxBatchBytes closes a batch once its transactions reach this size;
	// 0 means 1 MB. A batch always takes at least one transaction.
	MaxBatchBytes int
	// IdleCommitInterval is how often an empty batch is committed while no
	// transactions arrive, so that versions and the logs' known committed
	// version keep moving; 0 means 1s, negative disables it.
	IdleCommitInterval time.Duration
	// SequencerTimeout bounds the wait for the sequencer, including
	// retries while it is unreachable (its requests are safe to repeat);
	// ResolverTimeout and LogTimeout bound the wait for resolvers and for
	// logs. Past them the generation is declared dead. 0 means 10s, 10s
	// and 5s.
	SequencerTimeout time.Duration
	ResolverTimeout  time.Duration
	LogTimeout       time.Duration
}

// Resolver is a resolver and the key range whose conflicts it checks.
type Resolver struct {
	Interface *wire.ResolverInterface
	Range     kv.KeyRange
}

// Shard is a key range and the storage servers holding it.
type Shard struct {
	Range   kv.KeyRange
	Servers []*wire.StorageInterface
}

// maxBatchIndex bounds the transactions of one batch: versionstamps give the
// batch index two bytes.
const maxBatchIndex = 1 << 16

func (cfg *Config) setDefaults() {
	if cfg.BatchWindow == 0 {
		cfg.BatchWindow = 10 * time.Millisecond
	}
	if cfg.MinBatchWindow == 0 {
		cfg.MinBatchWindow = min(time.Millisecond, cfg.BatchWindow)
	}
	if cfg.MaxBatchTransactions == 0 {
		cfg.MaxBatchTransactions = 1024
	}
	if cfg.MaxBatchBytes == 0 {
		cfg.MaxBatchBytes = 1 << 20
	}
	if cfg.IdleCommitInterval == 0 {
		cfg.IdleCommitInterval = time.Second
	}
	if cfg.SequencerTimeout == 0 {
		cfg.SequencerTimeout = 10 * time.Second
	}
	if cfg.ResolverTimeout == 0 {
		cfg.ResolverTimeout = 10 * time.Second
	}
	if cfg.LogTimeout == 0 {
		cfg.LogTimeout = 5 * time.Second
	}
}

func (cfg *Config) validate() error {
	switch {
	case cfg.Sequencer == nil:
		return errors.New("no sequencer")
	case len(cfg.Resolvers) == 0:
		return errors.New("no resolvers")
	case len(cfg.TLogs) == 0:
		return errors.New("no logs")
	case cfg.BatchWindow < 0 || cfg.MinBatchWindow < 0 || cfg.IdleBatchWindow < 0 || cfg.MaxBatchBytes < 0 || cfg.SequencerTimeout < 0 || cfg.ResolverTimeout < 0 || cfg.LogTimeout < 0:
		return errors.New("negative limit")
	case cfg.MaxBatchTransactions < 0 || cfg.MaxBatchTransactions > maxBatchIndex:
		return fmt.Errorf("MaxBatchTransactions %d outside [1, %d]", cfg.MaxBatchTransactions, maxBatchIndex)
	}
	ranges := make([]kv.KeyRange, len(cfg.Resolvers))
	for i, r := range cfg.Resolvers {
		if r.Interface == nil {
			return fmt.Errorf("resolver %d has no interface", i)
		}
		ranges[i] = r.Range
	}
	if err := checkPartition(ranges); err != nil {
		return fmt.Errorf("resolvers: %w", err)
	}
	ranges = make([]kv.KeyRange, len(cfg.Shards))
	for i, s := range cfg.Shards {
		if len(s.Servers) == 0 {
			return fmt.Errorf("shard %s has no servers", s.Range)
		}
		ranges[i] = s.Range
	}
	if err := checkPartition(ranges); err != nil {
		return fmt.Errorf("shards: %w", err)
	}
	return nil
}

// checkPartition checks that ranges cover ["", kv.AllKeys.End) in order, each
// non-empty and starting where the previous ended.
func checkPartition(ranges []kv.KeyRange) error {
	if len(ranges) == 0 {
		return errors.New("none given")
	}
	prevEnd := []byte{}
	for _, r := range ranges {
		if !bytes.Equal(r.Begin, prevEnd) {
			return fmt.Errorf("range %s does not start where the previous ended (%s)", r, kv.Printable(prevEnd))
		}
		if r.Empty() {
			return fmt.Errorf("range %s is empty", r)
		}
		prevEnd = r.End
	}
	if !bytes.Equal(prevEnd, kv.AllKeys.End) {
		return fmt.Errorf("ranges end at %s, not at \\xff\\xff", kv.Printable(prevEnd))
	}
	return nil
}
