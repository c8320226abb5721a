package kv

// Well-known endpoint tokens of a cluster's server processes. Every process
// listens on the coordinator and open-database tokens (any process can be
// named a coordinator), and on the controller tokens while it is the
// cluster controller.
const (
	// TokenOpenDatabase is where every server process (clients ask the
	// coordinators) answers OpenDatabaseRequest with the current ClientDBInfo.
	TokenOpenDatabase uint64 = 200
	// TokenStatus is where the cluster controller answers StatusRequest
	// with the status document.
	TokenStatus uint64 = 201
	// TokenWorkerReport is where the cluster controller takes workers'
	// registrations and metric reports.
	TokenWorkerReport uint64 = 202
	// TokenProcessControl is where every server process answers
	// RebootRequest (db/server/procctl): `strata cli`'s kill.
	TokenProcessControl uint64 = 203
	// TokenRecruit is where every worker takes the cluster controller's
	// RecruitRequests.
	TokenRecruit uint64 = 204
	// TokenServerDBInfo is where every worker takes the cluster
	// controller's ServerDBInfo.
	TokenServerDBInfo uint64 = 205
	// TokenShardControl is where every worker takes data distribution's
	// ShardControlRequests for its storage servers.
	TokenShardControl uint64 = 206
	// TokenCoordinatorBase is the first of a coordinator's well-known
	// tokens (db/server/coordinator uses it and the few after it).
	TokenCoordinatorBase uint64 = 210
)
