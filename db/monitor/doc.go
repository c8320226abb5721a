// Package monitor is Strata's supervisor of server processes, with the
// semantics of FoundationDB's fdbmonitor (fdb.md §5.1, DESIGN.md "Monitor").
//
// A Supervisor reads the configuration file (package conf), starts one child
// per [server.<ID>] section, restarts children that die on fdbmonitor's
// backoff schedule (restart at once after exit status 0), stops and restarts
// children whose resident memory passes their limit, and applies atomic
// replacements of the file: removed sections stop, changed command lines
// restart (when kill-on-configuration-change), changed restart settings alone
// restart nothing. A file that fails to parse leaves every child alone.
//
// Children run in their own process groups, are stopped group-wide (SIGTERM,
// then SIGKILL after a grace period), and get SIGKILL from the kernel if the
// monitor dies (Pdeathsig). When a child exits, whatever is left of its group
// is killed. One limit: if the monitor itself is SIGKILLed, only the direct
// children get the death signal; processes they forked survive unless they
// die with their parent (a server process does not fork). Children's output
// goes to <output-dir>/<ID>.out, rotated by size. The Supervisor publishes a
// State (pid, argv digest, start time, restarts, last exit) to a JSON file
// for `strata monitor status` and the deployer.
//
// The configuration's directory is watched (fsnotify), so replacing the file
// by rename is seen; a symlink is followed only for its own name, not for
// changes to its target's directory.
//
// Everything with side effects is injected through Options: the Clock, the
// Starter of processes and the RSS reader. The restart schedule is therefore
// testable without real processes or sleeping; the defaults use the real
// clock, os/exec and /proc.
package monitor
