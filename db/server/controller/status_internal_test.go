package controller

import (
	"testing"

	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/status"
	"github.com/strata-db/strata/db/wire"
)

// A log role shows how far its queue's reclaimable point trails and the
// tag holding it; a worker that has not reported its log yet shows none.
func TestLogRoleStatus(t *testing.T) {
	tag := uint32(7)
	m := &wire.WorkerMetrics{Log: &wire.LogMetrics{Id: "log-1", DurableVersion: 30 * kv.VersionsPerSecond,
		MinPoppedVersion: 10*kv.VersionsPerSecond + 1, MinPoppedTag: &tag, QueueBytes: 1 << 20}}
	r := roleStatus(status.RoleLog, m)
	if r.ID != "log-1" || r.PoppedLag == nil || r.PoppedLag.Seconds != 20 || r.MinPoppedTag == nil || *r.MinPoppedTag != 7 ||
		r.QueueDiskUsedBytes != 1<<20 {
		t.Fatalf("log role %+v (lag %+v), want popped 20 s behind by tag 7", r, r.PoppedLag)
	}
	if r := roleStatus(status.RoleLog, &wire.WorkerMetrics{}); r.PoppedLag != nil || r.MinPoppedTag != nil {
		t.Fatalf("log role without metrics: %+v", r)
	}
}

func TestStorageWithTag(t *testing.T) {
	core := &wire.DBCoreState{Storage: []*wire.StorageRef{{Id: "storage-a", Tag: 0}, {Id: "storage-b", Tag: 4}}}
	if got := storageWithTag(core, 4); got != "storage-b" {
		t.Fatalf("tag 4 names %q, want storage-b", got)
	}
	if got := storageWithTag(core, 3); got != "" {
		t.Fatalf("tag 3, no longer listed, names %q", got)
	}
}
