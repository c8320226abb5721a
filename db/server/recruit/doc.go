// Package recruit is the cluster controller's and data distributor's pure
// decision logic: which process takes which role, which storage servers form
// a team, and how many zone failures the resulting cluster survives. It does
// no I/O and keeps no state; every answer depends only on its arguments, so
// the callers stay deterministic in simulation.
//
// # Modes and policies
//
// ParseMode knows FoundationDB's single, double, triple and three_data_hall
// (fdb.md §6.4; DESIGN.md "Replication"):
//
//	mode             storage  logs  storage policy        log policy                        coordinators
//	single           1        1     One                   One                               1
//	double           2        2     (zoneid^2x1)          (zoneid^2x1)                      3
//	triple           3        3     (zoneid^3x1)          (zoneid^3x1)                      5
//	three_data_hall  3        4     (data_hall^3x1)       (data_hall^2x(zoneid^2x1))        9
//
// A Policy is FoundationDB's Across/One chain. Replicas are never placed
// twice in one zone, whatever the policy (a zone defaults to the machine).
// The arithmetic assumes failure domains nest: a zone lies in one data hall.
// The fallback and multi-datacenter modes are not supported.
//
// # Fitness and recruitment
//
// Fitness is FoundationDB's class-to-role table (fdb.md §6.3). Recruit
// chooses a transaction subsystem: logs satisfying the log policy first,
// then the sequencer, resolvers, commit proxies and GRV proxies, best
// fitness first, then the previous placement's holder (so recoveries do not
// shuffle roles), then fewest roles already held (so roles spread), then
// smallest ID. Excluded and never-fit workers are skipped; one role never
// takes a worker twice, so a small cluster gets fewer proxies than asked
// rather than two on one process, as in FoundationDB. DefaultCounts: 1
// commit proxy, 1 GRV proxy, 1 resolver, and logs equal to the log
// replication factor.
//
// # Teams
//
// BuildTeams and ExtendTeams make storage teams that satisfy the storage
// policy, greedily balancing how many teams each server is in (FoundationDB
// builds machine teams first; here a zone is the unit and one server per
// zone joins a team). ChooseDestination replaces a lost member with the
// least loaded compatible server. ValidTeam and Healthy check teams.
//
// # Fault tolerance
//
// FaultTolerance gives status json's max_zone_failures_without_losing_data
// and _availability as worst cases over which zones fail.
package recruit
