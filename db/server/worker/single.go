package worker

import (
	"errors"
	"fmt"
	"time"

	"github.com/strata-db/strata/db/engine"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/server/commitproxy"
	"github.com/strata-db/strata/db/server/dbinfo"
	"github.com/strata-db/strata/db/server/grvproxy"
	"github.com/strata-db/strata/db/server/resolver"
	"github.com/strata-db/strata/db/server/sequencer"
	"github.com/strata-db/strata/db/server/storage"
	"github.com/strata-db/strata/db/server/tlog"
	"github.com/strata-db/strata/db/wire"
)

// Config configures a single-process database.
type Config struct {
	// ID names the process's roles in interfaces and traces.
	ID string
	// Engine is the storage server's engine. Nil opens the memory engine
	// in the process's data directory (the simulator's choice).
	Engine engine.Engine
	// StorageKnobs tune the storage server; zero values take defaults.
	StorageKnobs storage.Knobs
}

// Single is a running single-process database.
type Single struct {
	Sequencer   *sequencer.Sequencer
	GRVProxy    *grvproxy.Proxy
	CommitProxy *commitproxy.Proxy
	Resolver    *resolver.Resolver
	TLog        *tlog.TLog
	Storage     *storage.Server
	DBInfo      *dbinfo.Publisher
	// Engine is the storage server's engine; Generation the generation
	// published to clients.
	Engine     engine.Engine
	Generation uint64
}

// StartSingle recovers the process's log and storage from its data
// directory and starts a new generation on top of them: the sequencer and
// resolver begin at the log's durable version, so every acknowledged commit
// is kept and nothing older than the recovery is resolved against missing
// history.
func StartSingle(c *flow.Ctx, cfg Config) (*Single, error) {
	env := c.Env
	if cfg.ID == "" {
		cfg.ID = string(env.Address())
	}
	s := &Single{}
	var err error
	if s.TLog, err = tlog.New(c, tlog.Config{ID: cfg.ID + "/log"}); err != nil {
		return nil, fmt.Errorf("worker: starting the log: %w", err)
	}
	eng := cfg.Engine
	if eng == nil {
		if eng, err = engine.OpenMemory(c, env.Files(), "storage"); err != nil {
			return nil, fmt.Errorf("worker: opening the memory engine: %w", err)
		}
	}
	s.Engine = eng
	storageIface, err := s.startStorage(env, cfg, eng)
	if err != nil {
		return nil, err
	}
	recovered := kv.Version(s.TLog.Version())
	env.Trace(flow.SevInfo, "SingleRecovery", flow.D("RecoveryVersion", int64(recovered)))
	locked, err := readLock(c, storageIface, recovered)
	if err != nil {
		return nil, err
	}
	if s.Sequencer, err = sequencer.New(env, sequencer.Config{ID: cfg.ID + "/sequencer", InitialVersion: recovered}); err != nil {
		return nil, fmt.Errorf("worker: starting the sequencer: %w", err)
	}
	s.Resolver = resolver.New(env, resolver.Config{ID: cfg.ID + "/resolver", Keys: kv.AllKeys, InitialVersion: recovered})
	if s.CommitProxy, err = commitproxy.New(env, commitproxy.Config{
		ID:        cfg.ID + "/commit",
		Sequencer: s.Sequencer.Interface(),
		Resolvers: []commitproxy.Resolver{{Interface: s.Resolver.Interface(), Range: kv.AllKeys}},
		TLogs:     []*wire.TLogInterface{s.TLog.Interface()},
		Shards:    []commitproxy.Shard{{Range: kv.AllKeys, Servers: []*wire.StorageInterface{storageIface}}},
		Locked:    locked,
	}); err != nil {
		return nil, fmt.Errorf("worker: starting the commit proxy: %w", err)
	}
	if s.GRVProxy, err = grvproxy.New(env, grvproxy.Config{ID: cfg.ID + "/grv", Sequencer: s.Sequencer.Interface()}); err != nil {
		return nil, fmt.Errorf("worker: starting the GRV proxy: %w", err)
	}
	info := &wire.ClientDBInfo{
		// A new, larger generation on every start, so clients drop the
		// old one's interfaces (and never go back to an older one): the
		// start time, as a single process has no epoch of its own.
		Generation:    uint64(env.Now().UnixNano()),
		GrvProxies:    []*wire.GrvProxyInterface{s.GRVProxy.Interface()},
		CommitProxies: []*wire.CommitProxyInterface{s.CommitProxy.Interface()},
	}
	s.Generation = info.Generation
	if s.DBInfo, err = dbinfo.New(env, dbinfo.Config{Token: kv.TokenOpenDatabase, Info: info}); err != nil {
		return nil, fmt.Errorf("worker: publishing the database: %w", err)
	}
	return s, nil
}

func (s *Single) startStorage(env *flow.Env, cfg Config, eng engine.Engine) (*wire.StorageInterface, error) {
	var err error
	s.Storage, err = storage.New(env, storage.Config{
		ID:     cfg.ID + "/storage",
		Tag:    0,
		Shard:  kv.AllKeys,
		Engine: eng,
		Logs:   []*wire.TLogInterface{s.TLog.Interface()},
		Knobs:  cfg.StorageKnobs,
	})
	if err != nil {
		return nil, fmt.Errorf("worker: starting the storage server: %w", err)
	}
	return s.Storage.Interface(), nil
}

// readLockTimeout bounds reading the lock from the process's own storage
// server, which first replays its log up to the recovered version.
const readLockTimeout = time.Minute

// readLock reads the lock (kv.DBLockedKey) at version v from the process's
// own storage server: a database locked before a restart stays locked.
func readLock(c *flow.Ctx, si *wire.StorageInterface, v kv.Version) ([]byte, error) {
	s := flow.NewRequestStream(flow.Endpoint{Addr: flow.Address(si.GetAddress()), Token: si.GetGetValue()},
		flow.ProtoCodec[*wire.GetValueRequest](), flow.ProtoCodec[*wire.GetValueReply]())
	deadline := c.Now().Add(readLockTimeout)
	for {
		rep, err := flow.Timeout(c, s.GetReply(c.Env, &wire.GetValueRequest{Key: kv.DBLockedKey, Version: int64(v)}), readLockTimeout)
		switch {
		case err == nil && !rep.GetPresent():
			return nil, nil
		case err == nil:
			if rep.GetValue() == nil {
				return []byte{}, nil // locked with an empty value is still locked
			}
			return rep.GetValue(), nil
		case !errors.Is(err, kv.ErrFutureVersion) || !c.Now().Before(deadline):
			return nil, fmt.Errorf("worker: reading the lock at version %d: %w", v, err)
		}
		if err := c.Sleep(10 * time.Millisecond); err != nil {
			return nil, err
		}
	}
}
