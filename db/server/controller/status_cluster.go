package controller

import (
	"fmt"
	"slices"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/server/recruit"
	"github.com/strata-db/strata/db/status"
	"github.com/strata-db/strata/db/wire"
)

// fillRecovered sets the database sections of a controller that recovers
// the database itself: configuration, recovery state, generation,
// replication health and fault tolerance come from the generation it
// recruited and the coordinated state, not from one database host.
func (cc *Controller) fillRecovered(cl *status.Cluster, coordinators int) {
	gen := cc.gen
	cl.RecoveryState = cc.recovery
	if gen == nil {
		cl.DatabaseAvailable = false
		cl.Configuration = status.Configuration{CoordinatorsCount: coordinators}
		cl.Data = status.Data{State: status.DataState{Name: status.DataInitializing, Description: "The database has not recovered yet."}}
		return
	}
	now := cc.env.Now()
	if cc.recovery.Name == status.RecoveryFullyRecovered {
		cl.RecoveryState.SecondsSinceLastRecovered = now.Sub(cc.recoveredAt).Seconds()
	}
	cl.RecoveryState.ActiveGenerations = 1
	cl.RecoveryState.RequiredLogs = len(gen.logs)
	cl.Generation = int64(gen.epoch)
	core := gen.core
	conf := core.GetConfiguration()
	mode, err := modeOf(conf)
	if err != nil {
		mode, _ = recruit.ParseMode(recruit.ModeSingle)
	}
	cl.Configuration = status.Configuration{
		RedundancyMode: mode.Name, StorageEngine: conf.GetStorageEngine(), CoordinatorsCount: coordinators,
		StorageReplicas: mode.StorageReplicas, LogReplicas: mode.LogReplicas,
		CommitProxies: len(gen.commit), GRVProxies: len(gen.grv), Resolvers: len(gen.resolvers), Logs: len(gen.logs),
		UsableRegions: 1,
	}
	if cl.Configuration.StorageEngine == "" {
		cl.Configuration.StorageEngine = "ssd"
	}
	cl.Configuration.ExcludedServers = cc.excludedServers()
	known := cc.knownRoles(core)
	for key, p := range cl.Processes {
		if cc.exclusions[p.Address] {
			p.Excluded = true
		}
		// Roles the controller placed itself count even before the
		// process's next report names them: `exclude` must not see a
		// process without roles while it still holds data.
		for _, name := range known[p.Address] {
			r := roleStatus(name, nil)
			if !slices.ContainsFunc(p.Roles, func(have status.Role) bool { return have.Role == r.Role }) {
				p.Roles = append(p.Roles, r)
			}
		}
		for i := range p.Roles {
			if tag := p.Roles[i].MinPoppedTag; tag != nil {
				p.Roles[i].MinPoppedStorageServer = storageWithTag(core, *tag)
			}
		}
		cl.Processes[key] = p
	}
	cl.Logs = []status.LogGeneration{cc.currentLogs(gen, mode)}
	cl.Data = cc.dataHealth(core, mode)
	available := cc.recovery.Name == status.RecoveryFullyRecovered && !gen.failed.IsSet() &&
		cl.Data.State.Name != status.DataMissing
	cl.DatabaseAvailable = available
	cl.FaultTolerance = cc.faultTolerance(core, mode)
}

// currentLogs lists the generation's log servers and whether their
// processes are up.
func (cc *Controller) currentLogs(gen *generation, mode recruit.Mode) status.LogGeneration {
	out := status.LogGeneration{Epoch: int64(gen.epoch), Current: true, LogReplicationFactor: mode.LogReplicas}
	for _, l := range gen.logs {
		w := cc.workers[flow.Address(l.GetAddress())]
		out.LogServers = append(out.LogServers, status.LogServer{ID: l.GetId(), Address: l.GetAddress(), Healthy: w != nil && !w.failed})
	}
	return out
}

// liveStorage returns the IDs of the storage servers whose processes are
// registered and not failed. A server is judged by its process, not by its
// worker's last report, so one that is slow to report is not moved away.
func (cc *Controller) liveStorage() map[string]bool {
	live := map[string]bool{}
	if cc.gen == nil {
		return live
	}
	for _, s := range cc.gen.core.GetStorage() {
		if w := cc.workers[flow.Address(s.GetProcess())]; w != nil && !w.failed {
			live[s.GetId()] = true
		}
	}
	return live
}

// dataHealth is the data section: the shard map's replication against the
// live storage servers, and the storage servers' sizes.
func (cc *Controller) dataHealth(core *wire.DBCoreState, mode recruit.Mode) status.Data {
	live := cc.liveStorage()
	d := status.Data{PartitionsCount: len(core.GetShards())}
	minLive, moving := mode.StorageReplicas, 0
	for _, s := range core.GetShards() {
		n := 0
		for _, id := range s.GetServers() {
			if live[id] {
				n++
			}
		}
		minLive = min(minLive, n)
		if len(s.GetDest()) > 0 {
			moving++
		}
	}
	for _, w := range cc.workers {
		st := w.report.GetMetrics().GetStorage()
		d.TotalKVSizeBytes += st.GetKvBytes()
		d.TotalDiskUsedBytes += st.GetDiskBytes()
	}
	if d.PartitionsCount > 0 {
		d.AveragePartitionSizeBytes = d.TotalKVSizeBytes / int64(d.PartitionsCount)
	}
	d.MovingData = cc.movingData(core)
	rebalancing := moving == 1 && cc.ddStats.moving != nil && cc.ddStats.moving.balance
	switch {
	case minLive == 0:
		d.State = status.DataState{Name: status.DataMissing, Description: "Some data has no live replica."}
	case minLive == mode.StorageReplicas && rebalancing:
		d.State = status.DataState{Healthy: true, Name: status.DataHealthyRebalancing, MinReplicasRemaining: minLive,
			Description: "Rebalancing: a shard moves to a less loaded storage server."}
	case minLive < mode.StorageReplicas || moving > 0:
		d.State = status.DataState{Name: status.DataHealing, MinReplicasRemaining: minLive,
			Description: fmt.Sprintf("Restoring replication: %d of %d shards are moving.", moving, len(core.GetShards()))}
	default:
		d.State = status.DataState{Healthy: true, Name: status.DataHealthy, MinReplicasRemaining: minLive}
	}
	return d
}

// faultTolerance asks recruit how many zone failures the cluster survives.
func (cc *Controller) faultTolerance(core *wire.DBCoreState, mode recruit.Mode) status.FaultTolerance {
	live := cc.liveStorage()
	servers := map[string]recruit.StorageServer{}
	for _, s := range core.GetStorage() {
		l := s.GetLocality()
		servers[s.GetId()] = recruit.StorageServer{ID: s.GetId(),
			Locality: recruit.Locality{DC: l["dcid"], DataHall: l["data_hall"], Zone: l["zoneid"], Machine: l["machineid"]}}
	}
	var dep recruit.Deployment
	for _, sh := range core.GetShards() {
		var team recruit.Team
		for _, id := range sh.GetServers() {
			if live[id] {
				team = append(team, servers[id])
			}
		}
		dep.Teams = append(dep.Teams, team)
	}
	for _, l := range core.GetLogs() {
		if w := cc.workers[flow.Address(l.GetProcess())]; w != nil {
			dep.Logs = append(dep.Logs, localityOf(w.report))
		}
	}
	for _, a := range cc.cfg.Conn.File.Addresses() {
		zone := a
		if w := cc.workers[flow.Address(a)]; w != nil {
			zone = localityOf(w.report).ZoneID()
		}
		dep.Coordinators = append(dep.Coordinators, zone)
	}
	dep.Workers = cc.candidates()
	t := recruit.FaultTolerance(mode, dep)
	return status.FaultTolerance{
		MaxZoneFailuresWithoutLosingAvailability: t.MaxZoneFailuresWithoutLosingAvailability,
		MaxZoneFailuresWithoutLosingData:         t.MaxZoneFailuresWithoutLosingData,
	}
}

// excludedServers lists the exclusions as status names them.
func (cc *Controller) excludedServers() []status.ExcludedServer {
	var out []status.ExcludedServer
	for _, e := range cc.exclusionList {
		if e.IsLocality() {
			out = append(out, status.ExcludedServer{Locality: e.String()})
		} else {
			out = append(out, status.ExcludedServer{Address: e.String()})
		}
	}
	return out
}

// knownRoles are the roles the controller knows each process holds: the
// current generation's transaction roles, and storage where a shard's team
// (or a move's destination) names one of its servers.
func (cc *Controller) knownRoles(core *wire.DBCoreState) map[string][]string {
	out := map[string][]string{}
	if cc.gen != nil {
		for addr, p := range cc.gen.processes {
			out[string(addr)] = append(out[string(addr)], p.roles...)
		}
	}
	holds := map[string]bool{}
	for _, sh := range core.GetShards() {
		for _, id := range append(slices.Clone(sh.GetServers()), sh.GetDest()...) {
			holds[id] = true
		}
	}
	for _, s := range core.GetStorage() {
		if holds[s.GetId()] && !slices.Contains(out[s.GetProcess()], status.RoleStorage) {
			out[s.GetProcess()] = append(out[s.GetProcess()], status.RoleStorage)
		}
	}
	return out
}

// storageWithTag is the ID of the listed storage server with tag, or "".
func storageWithTag(core *wire.DBCoreState, tag uint32) string {
	for _, s := range core.GetStorage() {
		if s.GetTag() == tag {
			return s.GetId()
		}
	}
	return ""
}
