package worker

import (
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/server/tlog"
	"github.com/strata-db/strata/db/wire"
)

// Role names a process reports for the roles of a single database (the
// status document's names).
var singleRoles = []string{"sequencer", "grv_proxy", "commit_proxy", "resolver", "log", "storage"}

// Usage reads the process's resource use: CPU seconds consumed and
// resident set size. It is injected by the binary (it reads /proc), since
// role code may not touch the operating system.
type Usage func() (cpuSeconds float64, rssBytes int64)

// Identity is what a worker says about itself when it registers.
type Identity struct {
	ProcessID   string
	Class       string
	Locality    map[string]string
	Release     string
	MemoryLimit int64
	// StorageEngine names the engine the database host's storage uses.
	StorageEngine string
	// Usage may be nil (no CPU or memory figures).
	Usage Usage
}

// Reporter builds a process's worker reports: its identity, the roles it
// hosts and their current metrics.
type Reporter struct {
	env     *flow.Env
	id      Identity
	started time.Time
	db      *Single
	host    *Host
}

// NewReporter returns the reporter of env's process, started now.
func NewReporter(env *flow.Env, id Identity) *Reporter {
	return &Reporter{env: env, id: id, started: env.Now()}
}

// SetHost records the process's role host.
func (r *Reporter) SetHost(h *Host) { r.host = h }

// SetDatabase records that the process hosts s.
func (r *Reporter) SetDatabase(s *Single) { r.db = s }

// Report returns the process's report as of now.
func (r *Reporter) Report() *wire.WorkerReport {
	now := r.env.Now()
	rep := &wire.WorkerReport{
		Address:   string(r.env.Address()),
		ProcessId: r.id.ProcessID,
		ClassType: r.id.Class,
		Locality:  r.id.Locality,
		Release:   r.id.Release,
		Protocol:  uint64(wire.CurrentProtocol),
		StartTime: float64(r.started.UnixNano()) / 1e9,
		Metrics: &wire.WorkerMetrics{
			UptimeSeconds:    now.Sub(r.started).Seconds(),
			MemoryLimitBytes: r.id.MemoryLimit,
		},
	}
	if r.id.Usage != nil {
		rep.Metrics.CpuSeconds, rep.Metrics.RssBytes = r.id.Usage()
	}
	if h := r.host; h != nil {
		rep.Roles = h.Roles()
		rep.Generation = h.Epoch()
		rep.ServerDbInfoId = h.InfoID()
		rep.Logs = h.HostedLogs()
		rep.Storage = h.HostedStorage()
		rep.StorageEngine = r.id.StorageEngine
		h.fillMetrics(r.env, rep.Metrics)
	}
	if r.db != nil {
		rep.Roles = append(rep.Roles, singleRoles...)
		rep.Generation = r.db.Generation
		rep.StorageEngine = r.id.StorageEngine
		r.db.fillMetrics(r.env, rep.Metrics)
	}
	return rep
}

// fillMetrics adds the database roles' metrics: storage and log state,
// and the proxies' and storage server's counters.
func (s *Single) fillMetrics(env *flow.Env, m *wire.WorkerMetrics) {
	st := s.Storage.Stats()
	es := s.Engine.Stats()
	m.Storage = &wire.StorageMetrics{
		Version: int64(st.Version), DurableVersion: int64(st.DurableVersion), QueueBytes: st.QueueBytes,
		KvBytes: es.KeyValueBytes, DiskBytes: es.DiskBytes, Up: !s.Storage.Done().IsReady(),
		Id: s.Storage.Interface().GetId(),
	}
	m.Log = logMetrics(s.TLog.Interface().GetId(), s.TLog.Stats())
	// The roles count in the process's metrics registry; these names are
	// theirs (grvproxy, commitproxy, storage).
	met := env.Metrics()
	m.TransactionsStarted = met.Counter("grvproxy.requests").Value()
	m.TransactionsCommitted = met.Counter("commitproxy.committed").Value()
	m.TransactionsConflicted = met.Counter("commitproxy.conflicts").Value()
	m.Reads = met.Counter("storage.reads").Value()
	m.Writes = met.Counter("storage.mutations").Value()
	m.BytesWritten = uint64(max(st.BytesInput, 0))
}

// logMetrics is a log's part of the worker's report.
func logMetrics(id string, ls tlog.Stats) *wire.LogMetrics {
	m := &wire.LogMetrics{Id: id, Version: ls.Version, DurableVersion: ls.DurableVersion, QueueBytes: ls.QueueBytes,
		MinPoppedVersion: ls.MinPoppedVersion}
	if ls.HoldsQueue {
		m.MinPoppedTag = &ls.MinPoppedTag
	}
	return m
}
