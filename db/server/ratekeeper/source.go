package ratekeeper

import "time"

// Kind is the role of a sampled server.
type Kind int

// Kinds of servers.
const (
	StorageServer Kind = iota + 1
	LogServer
)

func (k Kind) String() string {
	switch k {
	case StorageServer:
		return "storage"
	case LogServer:
		return "log"
	default:
		return "unknown"
	}
}

// Queue is one server's state as last measured.
type Queue struct {
	// ID names the server; it is what status shows as reason_server_id.
	ID   string
	Kind Kind
	// Zone is the server's fault domain. Storage servers of up to
	// Knobs.MaxZonesFallingBehind zones may be ignored; "" counts as a
	// zone of its own.
	Zone string
	// Version is the newest version the server has (storage: pulled from
	// the logs; log: received); DurableVersion the newest it made durable.
	Version, DurableVersion int64
	// QueueBytes is what the server holds that is not yet durable
	// (storage) or not yet popped (log).
	QueueBytes int64
	// InputBytes counts the bytes ever put into the queue (a total, not a
	// rate); 0 means unknown. With it the limit follows the queue's input
	// and drain rates (FoundationDB's law); without it only the queue size.
	InputBytes int64
	// FreeBytes and TotalBytes are the server's disk space; TotalBytes 0
	// means unknown (no free-space limit).
	FreeBytes, TotalBytes int64
	// At is when the figures were measured (a worker report's arrival);
	// rates are computed between distinct At. Zero means now.
	At time.Time
}

// Snapshot is a sample of the cluster's servers.
type Snapshot struct {
	// Queues lists the storage servers and logs, each once.
	Queues []Queue
	// CommittedVersion is the newest committed version known; 0 means the
	// highest log version. Storage servers' data lag is measured from it.
	CommittedVersion int64
	// StorageReplicas is how many replicas each shard has; at most
	// replicas minus one fault domains of storage servers are ignored.
	StorageReplicas int
}

// Source samples the servers ratekeeper watches. It is owned by the
// consumer (the cluster controller feeds it from worker reports) and is
// called from the ratekeeper's actor every UpdateInterval, on the same
// process, so it may read the caller's state without locks. It must not
// block.
type Source interface {
	Sample() Snapshot
}

// SourceFunc adapts a function to Source.
type SourceFunc func() Snapshot

// Sample calls f.
func (f SourceFunc) Sample() Snapshot { return f() }
