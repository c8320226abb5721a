// Package cli is the command interpreter behind `strata cli`, FoundationDB's
// fdbcli for the data commands.
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
package cli
