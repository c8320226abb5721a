package storage

import (
	"errors"
	"fmt"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/wire"
)

// SetLogs moves the server to a new generation's logs after a recovery
// (fdb.md §6.1): it rolls back every version above recoveryVersion that it
// pulled from the old generation (its writes, and the server's version),
// cancels the peek in flight and pulls from logs, from the version after
// its own. Reads at versions above the server's version wait for it as
// usual; watches whose value differs once the rollback is done fire.
//
// recoveryVersion must be at least every version the server was told is
// committed (the logs' known committed version): nothing below that can be
// rolled back, because it may be durable already.
func (s *Server) SetLogs(logs []*wire.TLogInterface, recoveryVersion kv.Version) error {
	if s.stopped {
		return errors.New("storage: server stopped")
	}
	streams, err := newLogStreams(logs)
	if err != nil {
		return fmt.Errorf("storage %s: %w", s.id, err)
	}
	if floor := max(s.durable, s.committing); recoveryVersion < floor {
		return fmt.Errorf("storage %s: recovery version %d below the durable version %d", s.id, recoveryVersion, floor)
	}
	if recoveryVersion < s.knownCommitted {
		// Acknowledged commits are being dropped: the recovery is wrong,
		// but what the server holds in memory can still follow it.
		s.env.Trace(flow.SevWarnAlw, "StorageRollbackBelowKnownCommitted", flow.D("ID", s.id),
			flow.D("RecoveryVersion", recoveryVersion), flow.D("KnownCommitted", s.knownCommitted))
		s.knownCommitted = recoveryVersion
	}
	s.logs = streams
	if recoveryVersion < s.version {
		s.rollback(recoveryVersion)
	}
	s.env.Trace(flow.SevInfo, "StorageSetLogs", flow.D("ID", s.id), flow.D("RecoveryVersion", recoveryVersion),
		flow.D("Version", s.version), flow.D("Logs", len(logs)))
	s.startPull()
	return nil
}

// SetLogsAfterGap is SetLogs for a server that missed one or more
// generations between the last logs it followed and logs. It does not know
// their recovery versions, and what it pulled from its last logs may lie
// above one of them, on a branch that recovery discarded; so it rolls back
// to the largest version it knows committed, which is below every later
// recovery version, and pulls the rest again from logs (they hold it: the
// server popped nothing above its durable version).
func (s *Server) SetLogsAfterGap(logs []*wire.TLogInterface, recoveryVersion kv.Version) error {
	return s.SetLogs(logs, min(recoveryVersion, max(s.knownCommitted, s.durable, s.committing)))
}

// rollback discards every version above rv. What the server wrote after
// its version (copied pages, clears of ranges it stopped owning) goes too,
// so it is written again: the clears at once, the copies by fetching the
// shards again, including the shards that became readable above rv.
func (s *Server) rollback(rv kv.Version) {
	s.env.Trace(flow.SevInfo, "StorageRollback", flow.D("ID", s.id), flow.D("From", s.version), flow.D("To", rv))
	s.store.rollback(rv)
	s.version = rv
	removals := s.removals
	s.removals = nil
	for _, r := range removals {
		if r.version > rv {
			s.clearUnowned(r.r)
		} else {
			s.removals = append(s.removals, r)
		}
	}
	for _, sh := range s.shards.list {
		switch {
		case sh.state == ShardFetching:
			s.startFetch(sh)
		case sh.readableAt > rv:
			s.watches.failRange(sh.r, kv.ErrWrongShardServer)
			s.env.Trace(flow.SevInfo, "StorageRefetchShard", flow.D("ID", s.id), flow.D("Shard", sh.r.String()),
				flow.D("ReadableVersion", sh.readableAt))
			s.startFetch(sh)
			s.metaDirty = true
		}
	}
	s.recheckWatches()
}
