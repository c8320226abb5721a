// Package render turns a cluster description and its layout into the files
// the deployer puts on each host: the supervisor configuration that
// `strata monitor` runs (fdbmonitor's INI dialect), the cluster file, and,
// on hosts where systemd is PID 1, the monitor's systemd unit.
// Rendering is pure and deterministic: the same inputs give the same bytes,
// so a digest of the output tells the planner whether a host's file must
// change, and the argument digests of the processes it describes tell which
// processes must restart.
package render
