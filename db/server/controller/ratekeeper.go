package controller

import (
	"maps"
	"slices"

	"github.com/strata-db/strata/db/server/ratekeeper"
)

// rateSample is the ratekeeper's view of the cluster: the queues and lags
// of the live storage servers and logs, from their workers' last reports.
// Failed workers are left out, so a dead server does not throttle forever.
func (cc *Controller) rateSample() ratekeeper.Snapshot {
	snap := ratekeeper.Snapshot{StorageReplicas: 1}
	if cc.gen != nil {
		if mode, err := modeOf(cc.gen.core.GetConfiguration()); err == nil {
			snap.StorageReplicas = mode.StorageReplicas
		}
	}
	for _, addr := range slices.Sorted(maps.Keys(cc.workers)) {
		w := cc.workers[addr]
		if w.failed || w.report == nil {
			continue
		}
		rep, m := w.report, w.report.GetMetrics()
		zone := rep.GetLocality()["zoneid"]
		if s := m.GetStorage(); s != nil && s.GetUp() {
			snap.Queues = append(snap.Queues, ratekeeper.Queue{
				ID: rep.GetProcessId(), Kind: ratekeeper.StorageServer, Zone: zone,
				Version: s.GetVersion(), DurableVersion: s.GetDurableVersion(), QueueBytes: s.GetQueueBytes(),
				InputBytes: int64(m.GetBytesWritten()), At: w.at,
			})
		}
		if l := m.GetLog(); l != nil {
			snap.Queues = append(snap.Queues, ratekeeper.Queue{
				ID: rep.GetProcessId(), Kind: ratekeeper.LogServer, Zone: zone,
				Version: l.GetVersion(), DurableVersion: l.GetDurableVersion(), QueueBytes: l.GetQueueBytes(), At: w.at,
			})
		}
	}
	return snap
}
