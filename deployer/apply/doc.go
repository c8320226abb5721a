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
//
// Around them: Adapt makes deployer/remote's SSH and local hosts apply
// Hosts; Preflight checks hosts before anything changes (reachable, Linux
// on the release's architecture, required commands, free disk, free ports,
// clock skew); Database configures the database and reads its
// configuration back (\xff/conf/ keys) and holds the deployer's lease key
// inside the cluster; Destroy stops monitors and removes what apply
// installed, data directories only when asked.
package apply
