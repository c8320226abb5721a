// Package sequencer is the role that hands out commit versions (FoundationDB's
// master): one per generation.
//
// # Versions
//
// Commit versions advance about kv.VersionsPerSecond per second with the
// process clock (Env.Now) and strictly increase. The next version is
//
//	next = prev + clamp(clock - prev, 1, MaxVersionJump)
//
// where clock is InitialVersion plus RecoveryGap plus the microseconds
// elapsed since the sequencer started (the first version leaps to at least
// InitialVersion+RecoveryGap+1). So versions follow the clock, advance by at least one
// per batch when batches come faster than one per microsecond, and never
// jump more than MaxVersionJump (default kv.MVCCWindow, FDB's
// MAX_READ_TRANSACTION_LIFE_VERSIONS) in one step, for instance after the
// process was stalled.
//
// Running ahead of the clock is capped: if prev+1 would be more than
// MaxVersionsAhead (default 100,000,000, FDB's MAX_VERSIONS_IN_FLIGHT)
// versions ahead of the clock, the request waits until the clock catches up.
// At 1,000,000 versions per second that cap is only reached by more than a
// million batches per second sustained for minutes, so it is a guard, not a
// throttle.
//
// # Requests
//
// GetCommitVersion returns (prev_version, version): prev_version is the
// version handed out just before, to whichever proxy, so the batches of all
// commit proxies form a single chain that resolvers and logs follow. Each
// proxy numbers its requests 1, 2, 3, ...; a request is answered only after
// the proxy's previous one, so a proxy's batches get increasing versions in
// the order it asked, and a retried request (same proxy_id and request_num)
// gets the answer it got the first time. The replies of the last
// ReplyCacheSize requests per proxy are kept for that; a retry of an older
// one fails.
//
// ReportCommitted raises the live committed version (a maximum, so reports
// may arrive in any order); GetLiveCommittedVersion returns it. GRV proxies
// read it to give out read versions that include every acknowledged commit.
//
// The initial version is the recovery version; the generation's first
// version and its clock start RecoveryGap above it, past anything the
// previous generation may have pushed to logs the recovery did not lock.
// That is a guarantee because of the in-flight bound: with RecoveryGap
// set, no version after the first is handed out until the first is
// reported committed, and none more than RecoveryGap above the live
// committed version (FDB's MAX_VERSIONS_IN_FLIGHT). Every version on any
// log is then within the gap of a version committed on every log, which a
// recovery's version is at or above.
package sequencer
