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
// Priorities: a batch takes system-immediate requests first, then default,
// then batch priority, up to MaxBatchTransactions. Batch-priority requests
// are further limited by a token bucket of BatchPriorityRate transactions
// per second (a stand-in until ratekeeper exists): those over the rate stay
// queued, starved behind everything else, and when more than
// MaxQueuedBatchPriority are queued the newest ones are refused with
// batch_transaction_throttled (1051), which clients retry.
//
// If the sequencer call fails, every request of the batch fails with its
// error: the sequencer is gone and so is this generation.
//
// Metrics (Env.Metrics): grvproxy.requests, grvproxy.batches,
// grvproxy.throttled counters and the grvproxy.latency histogram (request
// arrival to reply).
package grvproxy
