// Package cli is the command interpreter behind `strata cli`, FoundationDB's
// fdbcli: the data commands (get, set, clear, clearrange, getrange,
// getrangekeys, getversion, begin/commit/rollback/reset, writemode, option)
// and the management commands (status, configure, coordinators, exclude,
// include, maintenance, kill, lock, unlock).
//
// Input lines are split into commands and tokens with fdbcli's rules
// (Parse): `;` separates commands, spaces separate tokens, double quotes
// group a token and may make it empty, and a backslash escapes `"`, `\`,
// a space or `;`, or writes one byte as \xNN or \u00NN. Keys and values are
// printed as fdbcli prints them (`key' is `value', with \\ and \xNN for
// bytes outside printable ASCII); keys that decode as tuples are also shown
// in tuple form after the fdbcli text.
//
// The Interpreter runs commands against a Database, a small interface over
// a transaction's get/set/clear/range calls, so that its behaviour is tested
// against an in-memory database; ClientDatabase adapts the Go client
// (db/client) to it. Every command's database calls are bounded by the
// configured timeout, so a vanished cluster gives a clear error rather than
// a hang.
//
// The management commands write the management keys of db/kv (the
// \xff/conf/ configuration and exclusions, \xff/healthyZone,
// \xff/dbLocked, \xff/coordinators) in transactions of their own with
// access_system_keys and lock_aware, retried while the error is retryable,
// and read the cluster's state from the status document
// (\xff\xff/status/json). exclude and coordinators then wait for the
// cluster to act — no storage or log role left on the excluded processes;
// the cluster file or status naming the new coordinators — polling every
// PollInterval up to WaitTimeout, after which they fail with a message
// saying what is recorded and what has not happened. kill reaches the
// processes' control endpoint (db/server/procctl) through ProcessControl;
// FlowProcessControl is the real one. Messages and their wording follow
// fdbcli's (fdbcli/*.cpp), with a reason added where fdbcli gives none.
package cli
