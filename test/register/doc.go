// Package register checks a history of register operations against a real
// database for linearizability with porcupine. Clients read, write and
// compare-and-set a few keys through the Go client, each key a register
// that starts empty; History records every operation with its outcome and
// Check decides the history, partitioned by key.
//
// A write or compare-and-set whose commit outcome is unknown (its commit
// failed with commit_unknown_result, or its context ended while the commit
// was in flight) is never retried: a retry could take effect a second time.
// It is recorded as possibly taken, with no end (its Return is the end of
// time), so the checker may place it anywhere after its call or nowhere.
// A read or a write that surely did not commit is left out: it had no
// effect.
package register
