package controller

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/status"
	"github.com/strata-db/strata/db/wire"
)

// StatusJSON returns the status document as JSON.
func (cc *Controller) StatusJSON() ([]byte, error) {
	doc, err := json.Marshal(cc.Status())
	if err != nil {
		return nil, fmt.Errorf("controller: encoding status: %w", err)
	}
	return doc, nil
}

// Status builds the status document from the workers' latest reports.
func (cc *Controller) Status() *status.Status {
	now := cc.env.Now()
	file := cc.cfg.Conn.File
	coordinators := map[string]bool{}
	for _, a := range file.Addresses() {
		coordinators[a] = true
	}
	host := cc.databaseHost()
	cl := &status.Cluster{
		ConnectionString: file.String(),
		ProtocolVersion:  protocolString(uint64(wire.CurrentProtocol)),
		Processes:        map[string]status.Process{},
	}
	var unreachable []status.ProcessAddress
	for _, addr := range slices.Sorted(maps.Keys(cc.workers)) {
		w := cc.workers[addr]
		p := cc.process(now, addr, w, coordinators[string(addr)])
		if w.failed {
			unreachable = append(unreachable, status.ProcessAddress{Address: string(addr)})
		}
		cl.Processes[processKey(w.report, addr)] = p
	}
	if len(unreachable) > 0 {
		cl.Messages = append(cl.Messages, status.Message{
			Name: "unreachable_processes", Description: "The cluster has some unreachable processes.",
			UnreachableProcesses: unreachable,
		})
	}
	available := host != nil && !host.failed
	storageUp := available && host.report.GetMetrics().GetStorage().GetUp()
	cl.DatabaseAvailable = available && storageUp
	cl.Configuration = cc.configuration(host, len(file.Coordinators))
	cl.RecoveryState = recoveryState(now, host)
	if host != nil {
		// The generation is a random 64-bit ID; JSON numbers are safe to
		// 53 bits, so status shows its low 52.
		cl.Generation = int64(host.report.GetGeneration() & (1<<52 - 1))
	}
	cl.Data = dataSection(host, storageUp)
	if cc.cfg.Recover {
		cc.fillRecovered(cl, len(file.Coordinators))
	}
	cl.Workload = cc.workload()
	cl.QoS = qos(host)
	if cc.ratekeeper != nil {
		cl.QoS = cc.ratekeeper.QoS()
	}
	if !cl.DatabaseAvailable {
		cl.Messages = append(cl.Messages, status.Message{Name: "database_unavailable", Description: "The database is not available: its host is unregistered or unreachable."})
	}
	return &status.Status{Cluster: cl, Client: cc.clientSection(now, cl.DatabaseAvailable)}
}

// databaseHost is the process hosting the database's roles, if one
// registered (the latest reporter, should two claim it).
func (cc *Controller) databaseHost() *worker {
	var host *worker
	for _, w := range cc.workers {
		if w.report.GetGeneration() != 0 && (host == nil || w.at.After(host.at)) {
			host = w
		}
	}
	return host
}

func processKey(rep *wire.WorkerReport, addr flow.Address) string {
	if id := rep.GetProcessId(); id != "" {
		return id
	}
	return string(addr)
}

func (cc *Controller) process(now time.Time, addr flow.Address, w *worker, coordinator bool) status.Process {
	rep, m := w.report, w.report.GetMetrics()
	p := status.Process{
		Address:       string(addr),
		ClassType:     rep.GetClassType(),
		ClassSource:   "command_line",
		Locality:      rep.GetLocality(),
		MachineID:     rep.GetLocality()["machineid"],
		FaultDomain:   rep.GetLocality()["zoneid"],
		Version:       rep.GetRelease(),
		UptimeSeconds: m.GetUptimeSeconds() + now.Sub(w.at).Seconds(),
		Memory: status.Memory{
			UsedBytes: m.GetRssBytes(), RSSBytes: m.GetRssBytes(), LimitBytes: m.GetMemoryLimitBytes(),
			AvailableBytes: max(m.GetMemoryLimitBytes()-m.GetRssBytes(), 0),
		},
		Roles: []status.Role{},
	}
	if w.prev != nil {
		if dt := w.at.Sub(w.prevAt).Seconds(); dt > 0 {
			p.CPU.UsageCores = max(m.GetCpuSeconds()-w.prev.GetCpuSeconds(), 0) / dt
		}
	}
	if w.failed {
		// As FoundationDB: the process stays listed with its last
		// figures, and says it is unreachable.
		p.UptimeSeconds = m.GetUptimeSeconds()
		p.Messages = append(p.Messages, status.Message{
			Name:        "unreachable_process",
			Description: fmt.Sprintf("The process did not answer the cluster controller for %.0f seconds.", now.Sub(w.failedAt).Seconds()),
			Time:        float64(w.failedAt.UnixNano()) / 1e9,
		})
	}
	if addr == cc.env.Address() {
		p.Roles = append(p.Roles, status.Role{Role: status.RoleClusterController})
	}
	if coordinator {
		p.Roles = append(p.Roles, status.Role{Role: status.RoleCoordinator})
	}
	for _, r := range rep.GetRoles() {
		p.Roles = append(p.Roles, roleStatus(r, m))
	}
	return p
}

// roleStatus names a reported role ("sequencer" is FDB's "master") with
// its metrics.
func roleStatus(name string, m *wire.WorkerMetrics) status.Role {
	r := status.Role{Role: name}
	switch name {
	case "sequencer":
		r.Role = status.RoleMaster
	case status.RoleStorage:
		s := m.GetStorage()
		r.ID = s.GetId()
		r.StoredBytes, r.KVStoreUsedBytes = s.GetKvBytes(), s.GetDiskBytes()
		r.DurabilityLag = versionLag(s.GetVersion() - s.GetDurableVersion())
		if l := m.GetLog(); l != nil {
			// The log of the same database: how far storage trails it.
			r.DataLag = versionLag(l.GetVersion() - s.GetVersion())
		}
	case status.RoleLog:
		l := m.GetLog()
		if l == nil {
			break
		}
		r.ID = l.GetId()
		r.QueueDiskUsedBytes = l.GetQueueBytes()
		r.PoppedLag = versionLag(l.GetDurableVersion() + 1 - l.GetMinPoppedVersion())
		if l.MinPoppedTag != nil {
			tag := l.GetMinPoppedTag()
			r.MinPoppedTag = &tag
		}
	}
	return r
}

func versionLag(v int64) *status.Lag {
	v = max(v, 0)
	return &status.Lag{Versions: v, Seconds: float64(v) / float64(kv.VersionsPerSecond)}
}

func (cc *Controller) configuration(host *worker, coordinators int) status.Configuration {
	c := status.Configuration{RedundancyMode: cc.redundancy, StorageEngine: cc.engine, CoordinatorsCount: coordinators}
	if c.RedundancyMode == "" {
		c.RedundancyMode = "single" // the only arrangement this slice runs
	}
	if c.StorageEngine == "" && host != nil {
		c.StorageEngine = host.report.GetStorageEngine()
	}
	if host != nil {
		c.StorageReplicas, c.LogReplicas = 1, 1
		c.CommitProxies, c.GRVProxies, c.Resolvers, c.Logs = 1, 1, 1, 1
		c.UsableRegions = 1
	}
	return c
}

func recoveryState(now time.Time, host *worker) status.RecoveryState {
	switch {
	case host == nil:
		return status.RecoveryState{Name: status.RecoveryRecruitingTxnServers, Description: "Waiting for the database host to register."}
	case host.failed:
		return status.RecoveryState{Name: status.RecoveryRecruitingTxnServers, Description: "The database host is unreachable."}
	}
	return status.RecoveryState{
		Name: status.RecoveryFullyRecovered, Description: "Recovery complete.",
		SecondsSinceLastRecovered: host.report.GetMetrics().GetUptimeSeconds() + now.Sub(host.at).Seconds(),
		ActiveGenerations:         1, RequiredLogs: 1,
	}
}

func dataSection(host *worker, storageUp bool) status.Data {
	d := status.Data{State: status.DataState{Name: status.DataInitializing, Description: "The storage server has not registered."}}
	if host == nil {
		return d
	}
	s := host.report.GetMetrics().GetStorage()
	d.TotalKVSizeBytes, d.TotalDiskUsedBytes = s.GetKvBytes(), s.GetDiskBytes()
	d.PartitionsCount, d.AveragePartitionSizeBytes = 1, s.GetKvBytes()
	if storageUp {
		d.State = status.DataState{Healthy: true, Name: status.DataHealthy, MinReplicasRemaining: 1}
	} else {
		d.State = status.DataState{Name: status.DataMissing, Description: "The only storage server is down: its data is unavailable."}
	}
	return d
}

// qos holds the storage server's queue and lags; the rest of the section
// is ratekeeper's, which does not run yet.
func qos(host *worker) status.QoS {
	var q status.QoS
	if host == nil {
		return q
	}
	m := host.report.GetMetrics()
	s := m.GetStorage()
	q.WorstQueueBytesStorageServer = s.GetQueueBytes()
	q.WorstDurabilityLagStorage = *versionLag(s.GetVersion() - s.GetDurableVersion())
	if l := m.GetLog(); l != nil {
		q.WorstDataLagStorageServer = *versionLag(l.GetVersion() - s.GetVersion())
	}
	return q
}

// workload sums the reporting processes' counters and their rates over
// each process's last report interval. Failed processes count no rate.
func (cc *Controller) workload() status.Workload {
	var wl status.Workload
	// In address order: float sums must not depend on map order (the
	// simulator checks that a seed repeats byte for byte).
	for _, addr := range slices.Sorted(maps.Keys(cc.workers)) {
		w := cc.workers[addr]
		m := w.report.GetMetrics()
		var dt float64
		if w.prev != nil && !w.failed {
			dt = w.at.Sub(w.prevAt).Seconds()
		}
		add := func(r *status.Rate, cur, prev uint64) {
			r.Counter += int64(cur)
			if dt > 0 && cur >= prev {
				r.Hz += float64(cur-prev) / dt
			}
		}
		p := w.prev
		add(&wl.Transactions.Started, m.GetTransactionsStarted(), p.GetTransactionsStarted())
		add(&wl.Transactions.Committed, m.GetTransactionsCommitted(), p.GetTransactionsCommitted())
		add(&wl.Transactions.Conflicted, m.GetTransactionsConflicted(), p.GetTransactionsConflicted())
		add(&wl.Operations.Reads, m.GetReads(), p.GetReads())
		add(&wl.Operations.Writes, m.GetWrites(), p.GetWrites())
		add(&wl.Bytes.Written, m.GetBytesWritten(), p.GetBytesWritten())
	}
	return wl
}

// clientSection is the controller's process's view of the coordinators
// (through its failure monitor: it talks to them all the time to keep its
// lease) and the database's state. A client reading status replaces the
// cluster file path with its own.
func (cc *Controller) clientSection(now time.Time, available bool) status.Client {
	cs := status.Client{
		DatabaseStatus: status.DatabaseStatus{Available: available, Healthy: available},
		ClusterFile:    status.ClusterFile{Path: cc.cfg.ClusterFilePath, UpToDate: true},
		Timestamp:      now.Unix(),
	}
	reachable := 0
	for _, a := range cc.cfg.Conn.File.Addresses() {
		ok := flow.Address(a) == cc.env.Address() || !cc.env.IsFailed(flow.Address(a))
		if ok {
			reachable++
		}
		cs.Coordinators.Coordinators = append(cs.Coordinators.Coordinators, status.Coordinator{Address: a, Reachable: ok})
	}
	cs.Coordinators.QuorumReachable = reachable > len(cc.cfg.Conn.File.Coordinators)/2
	return cs
}

func protocolString(p uint64) string { return fmt.Sprintf("%016x", p) }
