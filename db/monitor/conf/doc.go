// Package conf parses the monitor's configuration file and turns it into the
// processes to run, with fdbmonitor's semantics (FoundationDB's
// foundationdb.conf; see DESIGN.md "Monitor").
//
// The file is INI with four section shapes:
//
//	[general]        keys inherited by every process
//	[monitor]        the monitor's own settings (state file, child output, ...)
//	[server]         keys inherited by every server process
//	[server.<ID>]    one process per section; its presence makes it run
//
// A key is looked up in [server.<ID>], then [server], then [general]; for the
// four restart keys [monitor] is consulted last. Dashes and underscores in key
// names are equivalent. Monitor-only keys (command, envvars, the restart keys,
// ...) are not passed to the child; every other key becomes --key=value, and
// flag_x = true becomes --x. $ID and $PID in values are replaced by the
// section's ID and the monitor's pid.
//
// The parser is our own rather than an INI library: the format is tiny, its
// quirks (key equivalence, section chains, flags) are easier to encode
// directly, and every error can name the file and line that caused it.
package conf
