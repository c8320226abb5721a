// Package ratekeeper is the role that meters how fast the cluster starts
// transactions (FoundationDB's ratekeeper, fdb.md §6.6). GRV proxies poll it
// every ~100 ms for their share of a transactions-per-second limit and
// admit read-version requests at that rate; it lowers the limit when
// storage servers or logs fall behind, and says why in status's qos
// section.
//
// # Inputs
//
// A consumer-owned Source (the cluster controller, fed by worker reports)
// is sampled every UpdateInterval: per storage server and log its version,
// durable version, queue bytes and, when known, the total bytes ever
// queued and its disk space. Proxies' polls carry their released
// transaction totals per priority; their sum, smoothed, is the released
// rate ("actual" below, at least 1).
//
// # The law
//
// Each server and each measure of it (storage queue, durability lag, log
// queue) gives a limit; the cluster's is the lowest, and its reason and
// server are what status shows. For a queue q with target T and spring S
// the ratio r = min((q-T+S)/S, 2) is how far q is into the band around the
// target: r <= 0 leaves the rate alone, r = 1 holds it, r = 2 halves it.
// As in FoundationDB the limit is
//
//	actual × drain / (input × r)
//
// with input and drain the queue's smoothed rates (bytes for queues,
// versions for the durability lag), so a queue filling faster than it
// drains, or sitting above its target, brings the released rate down
// until it drains; when only the queue size is known (no input total) it
// is actual / r. Storage servers and logs with a known input rate are
// also bounded so they cannot fill their target faster than their MVCC
// window lets them drop data (the *_mvcc reasons). Free disk space below
// MinAvailableSpace shrinks a server's target (the *_min_free_space
// reasons). Storage servers of up to MaxZonesFallingBehind fault domains
// (at most replicas minus one) are ignored, except for free space, so one
// slow replica does not throttle everything.
//
// Batch priority has its own, lower targets, so it is throttled first; its
// limit is never above the default one. FoundationDB's semantics: the
// batch limit caps all released transactions while batch ones start, so
// batch work runs only in the room default work leaves under it.
//
// # Serving
//
// A GetRateInfoRequest is answered with the limits divided evenly between
// the proxies heard from within ProxyExpiry (+Inf when unlimited) and the
// lease for which the proxy may use them.
//
// Metrics (Env.Metrics): ratekeeper.updates and ratekeeper.rate_requests.
// Traces: RatekeeperLimitReasonChanged and RatekeeperBatchLimitReasonChanged
// when a priority's reason or limiting server changes.
package ratekeeper
