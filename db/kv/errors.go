package kv

import (
	"errors"

	"github.com/strata-db/strata/db/flow"
)

// The database's errors, with FoundationDB's names and codes
// (api-error-codes.rst). They are flow errors so that they cross the
// network with their codes.
var (
	ErrTransactionTooOld = &flow.Error{Code: 1007, Name: "transaction_too_old"}
	ErrFutureVersion     = &flow.Error{Code: 1009, Name: "future_version"}
	// ErrTLogStopped is a locked log's answer (its generation ended), and
	// a GRV proxy's once it learned that: the client asks the next
	// generation instead.
	ErrTLogStopped               = &flow.Error{Code: 1011, Name: "tlog_stopped"}
	ErrNotCommitted              = &flow.Error{Code: 1020, Name: "not_committed"}
	ErrCommitUnknownResult       = &flow.Error{Code: 1021, Name: "commit_unknown_result"}
	ErrTransactionCancelled      = &flow.Error{Code: 1025, Name: "transaction_cancelled"}
	ErrTransactionTimedOut       = &flow.Error{Code: 1031, Name: "transaction_timed_out"}
	ErrTooManyWatches            = &flow.Error{Code: 1032, Name: "too_many_watches"}
	ErrWatchesDisabled           = &flow.Error{Code: 1034, Name: "watches_disabled"}
	ErrAccessedUnreadable        = &flow.Error{Code: 1036, Name: "accessed_unreadable"}
	ErrProcessBehind             = &flow.Error{Code: 1037, Name: "process_behind"}
	ErrDatabaseLocked            = &flow.Error{Code: 1038, Name: "database_locked"}
	ErrClusterVersionChanged     = &flow.Error{Code: 1039, Name: "cluster_version_changed"}
	ErrProxyMemoryLimitExceeded  = &flow.Error{Code: 1042, Name: "proxy_memory_limit_exceeded"}
	ErrBatchTransactionThrottled = &flow.Error{Code: 1051, Name: "batch_transaction_throttled"}
	ErrWrongShardServer          = &flow.Error{Code: 1001, Name: "wrong_shard_server"}
	ErrAllAlternativesFailed     = &flow.Error{Code: 1006, Name: "all_alternatives_failed"}
	ErrTagThrottled              = &flow.Error{Code: 1213, Name: "tag_throttled"}
	ErrUsedDuringCommit          = &flow.Error{Code: 2017, Name: "used_during_commit"}
	ErrIncompatibleProtocol      = &flow.Error{Code: 2100, Name: "incompatible_protocol_version"}
	ErrTransactionTooLarge       = &flow.Error{Code: 2101, Name: "transaction_too_large"}
	ErrKeyTooLarge               = &flow.Error{Code: 2102, Name: "key_too_large"}
	ErrValueTooLarge             = &flow.Error{Code: 2103, Name: "value_too_large"}
	ErrInvertedRange             = &flow.Error{Code: 2005, Name: "inverted_range"}
	ErrInvalidOptionValue        = &flow.Error{Code: 2006, Name: "invalid_option_value"}
	ErrKeyOutsideLegalRange      = &flow.Error{Code: 2004, Name: "key_outside_legal_range"}
	ErrInvalidMutationType       = &flow.Error{Code: 2000, Name: "client_invalid_operation"}
	ErrExactModeWithoutLimits    = &flow.Error{Code: 2210, Name: "exact_mode_without_limits"}
	ErrVersionstampInvalid       = &flow.Error{Code: 2021, Name: "versionstamp_invalid"}
)

// IsMaybeCommitted reports whether err leaves the commit's outcome unknown
// (FDB's maybe_committed predicate).
func IsMaybeCommitted(err error) bool {
	return errors.Is(err, ErrCommitUnknownResult) || errors.Is(err, ErrClusterVersionChanged)
}

// IsRetryableNotCommitted reports whether the transaction surely did not
// commit and may simply be retried (FDB's retryable_not_committed).
func IsRetryableNotCommitted(err error) bool {
	for _, e := range []error{ErrNotCommitted, ErrTransactionTooOld, ErrFutureVersion, ErrDatabaseLocked,
		ErrProxyMemoryLimitExceeded, ErrBatchTransactionThrottled, ErrProcessBehind, ErrTagThrottled} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// IsRetryable reports whether a retry loop should retry after err.
func IsRetryable(err error) bool { return IsMaybeCommitted(err) || IsRetryableNotCommitted(err) }
