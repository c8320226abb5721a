// Package plan compares what a cluster description asks for (Desired) with
// what the hosts really run (Observed, from a refresh) and the deployer's
// state, and lists the changes an apply would make, each with its reason —
// Terraform's plan, for hosts and server processes. Nothing is uploaded,
// rewritten or restarted that the plan does not list; restarts are listed
// explicitly with what causes them.
//
// Make is pure: it does no I/O, so the planner is tested with data alone.
package plan
