package ratekeeper

// Reason is what limits the transaction rate, with FoundationDB's names
// (fdbserver RatekeeperLimitReasons) for the reasons Strata measures.
type Reason int

// Reasons. Workload means nothing limits the rate.
const (
	Workload Reason = iota
	StorageWriteQueue
	StorageMVCCBandwidth
	StorageDurabilityLag
	StorageMinFreeSpace
	StorageMinFreeSpaceRatio
	LogWriteQueue
	LogMVCCBandwidth
	LogMinFreeSpace
	LogMinFreeSpaceRatio
)

var reasons = [...]struct{ name, desc string }{
	Workload:                 {"workload", "The database is not being saturated by the workload."},
	StorageWriteQueue:        {"storage_server_write_queue_size", "Storage server performance (storage queue)."},
	StorageMVCCBandwidth:     {"storage_server_write_bandwidth_mvcc", "Storage server MVCC memory."},
	StorageDurabilityLag:     {"storage_server_durability_lag", "Storage server durable version falling behind."},
	StorageMinFreeSpace:      {"storage_server_min_free_space", "Storage server running out of space (approaching 100MB limit)."},
	StorageMinFreeSpaceRatio: {"storage_server_min_free_space_ratio", "Storage server running out of space (approaching 5% limit)."},
	LogWriteQueue:            {"log_server_write_queue", "Storage server performance (log queue)."},
	LogMVCCBandwidth:         {"log_server_mvcc_write_bandwidth", "Log server MVCC memory."},
	LogMinFreeSpace:          {"log_server_min_free_space", "Log server running out of space (approaching 100MB limit)."},
	LogMinFreeSpaceRatio:     {"log_server_min_free_space_ratio", "Log server running out of space (approaching 5% limit)."},
}

// Name is the reason's name in status (qos.performance_limited_by.name).
func (r Reason) Name() string {
	if r < 0 || int(r) >= len(reasons) {
		return "unknown"
	}
	return reasons[r].name
}

// Description is the reason's human text in status.
func (r Reason) Description() string {
	if r < 0 || int(r) >= len(reasons) {
		return ""
	}
	return reasons[r].desc
}

func (r Reason) String() string { return r.Name() }

// freeSpace reports whether r is one of the running-out-of-space reasons,
// which no fault domain may be ignored for.
func (r Reason) freeSpace() bool {
	switch r {
	case StorageMinFreeSpace, StorageMinFreeSpaceRatio, LogMinFreeSpace, LogMinFreeSpaceRatio:
		return true
	}
	return false
}

// storage reports whether r names a storage server.
func (r Reason) storage() bool {
	switch r {
	case StorageWriteQueue, StorageMVCCBandwidth, StorageDurabilityLag, StorageMinFreeSpace, StorageMinFreeSpaceRatio:
		return true
	}
	return false
}
