// Package grvproxy is the GRV proxy role: it hands out read versions.
//
// A read version must include every commit acknowledged before the request
// arrived, so the proxy asks the sequencer for its live committed version
// (which commit proxies raise before they acknowledge) after the request
// arrived. To keep that cheap it batches: requests are queued; a batch goes
// to the sequencer at once when no sequencer request is outstanding, and
// otherwise when the outstanding one returns or BatchWindow after the
// batch's first request, whichever comes first (FoundationDB batches while a
// request is outstanding). One sequencer call answers the whole batch.
// Requests that arrive while a call is outstanding wait for the next one:
// the outstanding call may have been answered before their commit.
//
// A proxy whose generation a recovery ended must not hand out read
// versions, which may be older than the new generation's commits. So it
// answers only under a confirmation, from every log of its generation,
// that the log is not locked; a confirmation covers the ConfirmWindow
// (80 ms) after it was asked for, the next is asked for in the background
// once half that has passed, and a recovery waits 85 ms after locking the
// old logs before its generation takes commits (FoundationDB's
// REQUIRED_MIN_RECOVERY_DURATION and ENFORCED_MIN_RECOVERY_DURATION).
//
// Priorities: a batch takes system-immediate requests first, then default,
// then batch priority, up to MaxBatchTransactions. Batch-priority requests
// may be limited by a static token bucket of BatchPriorityRate
// transactions per second: those over the rate stay queued, starved behind
// everything else, and when more than MaxQueuedBatchPriority are queued
// the newest ones are refused with batch_transaction_throttled (1051),
// which clients retry.
//
// # Ratekeeper
//
// With a ratekeeper (Config.Ratekeeper or SetRatekeeper) the proxy polls
// it every RatePollInterval (100 ms) with the transactions it released so
// far per priority, and admits requests through token buckets at the rates
// granted: default priority at the default rate; batch priority only while
// both the default and the batch rate allow, and every started transaction
// counts against both, so batch work gets only the room the batch rate
// leaves above everything else (FoundationDB's semantics). System-immediate
// requests are never held back, though they count against the rates. A
// bucket holds a tenth of a second of its rate; an unlimited rate (+Inf)
// costs one branch per request, so an unthrottled proxy is as fast as one
// without a ratekeeper.
//
// A granted rate holds for the reply's lease. When polls fail (the
// ratekeeper's process, the cluster controller's, died) the proxy keeps the
// last rates until the lease ends and then runs unthrottled, tracing
// GrvProxyRateLeaseExpired: FoundationDB instead stops admitting, but a
// controller election should not make the database unavailable when
// nothing is known to be overloaded, and a new ratekeeper re-imposes a
// limit within a poll of being reached.
//
// If the sequencer call fails, every request of the batch fails with its
// error: the sequencer is gone and so is this generation.
//
// Metrics (Env.Metrics): grvproxy.requests, grvproxy.batches,
// grvproxy.throttled, grvproxy.rate_polls, grvproxy.rate_poll_failures and
// grvproxy.rate_leases_expired counters and the grvproxy.latency histogram
// (request arrival to reply).
package grvproxy
