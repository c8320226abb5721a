package controller

import (
	"fmt"
	"slices"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/server/recruit"
	"github.com/strata-db/strata/db/wire"
)

// modeOf returns the configured redundancy mode (single before one is
// configured).
func modeOf(conf *wire.DatabaseConfiguration) (recruit.Mode, error) {
	name := conf.GetRedundancyMode()
	if name == "" {
		name = recruit.ModeSingle
	}
	return recruit.ParseMode(name)
}

// candidates are the live registered workers in recruit's terms.
func (cc *Controller) candidates() []recruit.Worker {
	var out []recruit.Worker
	for _, addr := range slices.Sorted(mapsKeys(cc.workers)) {
		w := cc.workers[addr]
		if w.failed || w.report == nil {
			continue
		}
		out = append(out, recruit.Worker{
			ID: string(addr), Address: string(addr), Class: w.report.GetClassType(),
			Locality: localityOf(w.report), Excluded: cc.excluded(w.report),
		})
	}
	return out
}

func localityOf(rep *wire.WorkerReport) recruit.Locality {
	l := rep.GetLocality()
	return recruit.Locality{DC: l["dcid"], DataHall: l["data_hall"], Zone: l["zoneid"], Machine: l["machineid"]}
}

// excluded reports whether a worker is excluded from recruitment.
func (cc *Controller) excluded(rep *wire.WorkerReport) bool {
	return cc.exclusions[rep.GetAddress()]
}

// avoiding returns workers with addr marked excluded.
func avoiding(workers []recruit.Worker, addr string) []recruit.Worker {
	out := slices.Clone(workers)
	for i := range out {
		if out[i].ID == addr {
			out[i].Excluded = true
		}
	}
	return out
}

// countsOf returns the configured role counts, the mode's defaults for
// those not configured.
func countsOf(conf *wire.DatabaseConfiguration, mode recruit.Mode) recruit.Counts {
	return recruit.Counts{
		CommitProxies: int(conf.GetCommitProxies()), GRVProxies: int(conf.GetGrvProxies()),
		Resolvers: int(conf.GetResolvers()), Logs: int(conf.GetLogs()),
	}.WithDefaults(mode)
}

// withoutExclusions returns workers with every exclusion lifted.
func withoutExclusions(workers []recruit.Worker) []recruit.Worker {
	out := slices.Clone(workers)
	for i := range out {
		out[i].Excluded = false
	}
	return out
}

// canAvoidExcluded reports whether the transaction subsystem can be placed
// on processes that are not excluded.
func (cc *Controller) canAvoidExcluded(core *wire.DBCoreState) bool {
	mode, err := modeOf(core.GetConfiguration())
	if err != nil {
		return false
	}
	counts := countsOf(core.GetConfiguration(), mode)
	_, err = recruit.Recruit(cc.candidates(), mode, counts, nil)
	return err == nil
}

// place decides where the next generation's roles go.
func (cc *Controller) place(core *wire.DBCoreState) (placement, error) {
	mode, err := modeOf(core.GetConfiguration())
	if err != nil {
		return placement{}, err
	}
	counts := countsOf(core.GetConfiguration(), mode)
	workers := cc.candidates()
	// Keep the transaction subsystem off the controller's own process when
	// the others can host it (as FoundationDB keeps the master off the
	// cluster controller): a process failure then costs one recovery, not
	// an election followed by one.
	p, err := recruit.Recruit(avoiding(workers, string(cc.env.Address())), mode, counts, cc.lastPlacement)
	if err != nil {
		p, err = recruit.Recruit(workers, mode, counts, cc.lastPlacement)
	}
	if err != nil {
		// As FoundationDB's ExcludeFit: excluded processes still host the
		// transaction subsystem when no other process can.
		var excludedErr error
		if p, excludedErr = recruit.Recruit(withoutExclusions(workers), mode, counts, cc.lastPlacement); excludedErr != nil {
			return placement{}, err
		}
		cc.env.Trace(flow.SevWarnAlw, "RecruitingExcludedProcesses", flow.D("Reason", err.Error()))
	}
	cc.lastPlacement = &p
	pl := placement{
		sequencer: flow.Address(p.Sequencer),
		commit:    addrs(p.CommitProxies), grv: addrs(p.GRVProxies),
		resolvers: addrs(p.Resolvers), logs: addrs(p.Logs),
		resolverRanges: splitKeys(len(p.Resolvers)),
	}
	if len(core.GetStorage()) == 0 {
		if err := cc.placeFirstStorage(&pl, workers, mode); err != nil {
			return placement{}, err
		}
	}
	return pl, nil
}

// placeFirstStorage picks a new database's storage processes: every
// storage-fit worker gets a server; the first team (of the mode's
// replication, in distinct zones) gets the whole keyspace.
func (cc *Controller) placeFirstStorage(pl *placement, workers []recruit.Worker, mode recruit.Mode) error {
	// Storage and unset processes get storage servers; other classes only
	// when those cannot form a team.
	var servers, fallback []recruit.StorageServer
	for _, w := range workers {
		fit := recruit.Fitness(w.Class, recruit.Storage)
		if w.Excluded || fit >= recruit.NeverAssign {
			continue
		}
		srv := recruit.StorageServer{ID: w.ID, Locality: w.Locality}
		fallback = append(fallback, srv)
		if fit <= recruit.UnsetFit {
			servers = append(servers, srv)
		}
	}
	if teams, err := recruit.BuildTeams(servers, mode, 1); err != nil || len(teams) == 0 {
		servers = fallback
	}
	// Best storage fitness first, so the first team lands on storage
	// processes when there are enough.
	slices.SortStableFunc(servers, func(a, b recruit.StorageServer) int {
		return int(recruit.Fitness(cc.classOf(a.ID), recruit.Storage)) - int(recruit.Fitness(cc.classOf(b.ID), recruit.Storage))
	})
	teams, err := recruit.BuildTeams(servers, mode, 1)
	if err != nil {
		return fmt.Errorf("placing the first storage team: %w", err)
	}
	if len(teams) == 0 {
		return fmt.Errorf("no storage team of %d replicas can be formed from %d storage processes", mode.StorageReplicas, len(servers))
	}
	in := map[string]bool{}
	for _, id := range teams[0].IDs() {
		pl.storageTeam = append(pl.storageTeam, flow.Address(id))
		in[id] = true
	}
	for _, s := range servers {
		if !in[s.ID] {
			pl.storageOthers = append(pl.storageOthers, flow.Address(s.ID))
		}
	}
	return nil
}

func (cc *Controller) classOf(addr string) string {
	if w := cc.workers[flow.Address(addr)]; w != nil {
		return w.report.GetClassType()
	}
	return ""
}

func addrs(ids []string) []flow.Address {
	out := make([]flow.Address, len(ids))
	for i, id := range ids {
		out[i] = flow.Address(id)
	}
	return out
}

// splitKeys divides the keyspace into n ranges at first-byte boundaries.
func splitKeys(n int) []kv.KeyRange {
	if n <= 1 {
		return []kv.KeyRange{kv.AllKeys}
	}
	out := make([]kv.KeyRange, n)
	begin := kv.AllKeys.Begin
	for i := range n - 1 {
		end := []byte{byte((i + 1) * 256 / n)}
		out[i] = kv.KeyRange{Begin: begin, End: end}
		begin = end
	}
	out[n-1] = kv.KeyRange{Begin: begin, End: kv.AllKeys.End}
	return out
}
