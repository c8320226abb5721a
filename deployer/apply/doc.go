// Package apply refreshes what hosts run and carries out plans.
//
// Refresh reads each host over its Host connection (release digest, conf
// and cluster-file digests, the monitor's children through `strata monitor
// status --json`) into a plan.Observed. Apply runs a plan's changes in
// phases — uploads wide, conf rewrites that restart processes one host at a
// time, monitors, then waits until every process runs its desired launch —
// journaling each step (fsync'd) and saving state after each one, so an
// interrupted apply is resumed by the next run from what the hosts really
// run. It never does what the plan does not list.
package apply
