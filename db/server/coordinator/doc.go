// Package coordinator implements Strata's coordinators after FoundationDB's
// (fdb.md §6.2; DESIGN.md "Coordination and recovery"): the few processes
// named in the cluster file that hold the cluster's coordinated state and
// elect its cluster controller. They take no part in committing
// transactions. This is the foundation the cluster controller and
// recovery are built on.
//
// # Server: Start
//
// A Coordinator serves, for every cluster key ("description:ID") it is
// asked about, on well-known tokens from Config.BaseToken:
//
//   - a generation register (FoundationDB's GenerationReg): durable
//     (read generation, write generation, value). read(g) raises the read
//     generation to g and returns the value with its write generation;
//     write(g, v) stores v only if read generation <= g and write
//     generation < g, and returns max(read, write generation). Every change
//     is written to env.Files() and synced before the reply; the state is
//     recovered on restart, and a damaged state file stops the coordinator
//     from starting rather than letting it forget its promises;
//   - a leader register (FoundationDB's leaderRegister), in memory: it
//     nominates the best candidate that keeps polling (highest priority,
//     then lowest change ID) and keeps that nomination while the nominee
//     heartbeats, for NomineeTimeout after the last one. It never preempts
//     a live nominee, and after a restart it nominates nobody for
//     NomineeTimeout (it forgot whom it had promised); both keep leases
//     safe. It nominates nobody for a key until a tick (PollTimeout/4)
//     after the key's first candidate arrived, so candidates arriving
//     together, as every server does after a coordinators move, are
//     ranked together instead of each coordinator nominating the first
//     comer and splitting the vote for NomineeTimeout;
//   - forwarding: once a key's move to new coordinators is decided, every
//     request for the key is answered with the new connection string.
//
// # Clients
//
// A Conn names the coordinators (a clusterfile.ClusterFile), their base
// token and the Timing both sides share. Every client operation sends to
// all coordinators, re-sends after failures (each request is idempotent)
// and goes on with a majority.
//
//   - CoordinatedState: Read, then SetExclusive once — the Paxos-like
//     single-decree register FoundationDB keeps DBCoreState in. Read reads
//     the highest generation from a majority, then reads again at a
//     generation above it and returns the value with the highest write
//     generation; SetExclusive writes at that generation and fails with
//     ErrCoordinatedStateConflict if any coordinator of the majority had
//     seen a higher one. So at most one of two writers that read the same
//     state succeeds, and an acknowledged value is seen by every later
//     Read. Unlike FoundationDB, creation needs a majority too, not all
//     coordinators: an empty majority reply is "never written".
//   - LeaderElection.Campaign: a candidate registers with every
//     coordinator (long-polling its nominee); when a majority nominate it,
//     it sends a heartbeat round, and a majority confirming makes it
//     leader with a lease of Lease from the round's start, renewed every
//     HeartbeatInterval. A coordinator that confirmed a heartbeat sent at
//     s nominates nobody else before s + NomineeTimeout, later than the
//     lease's end, so two leaders' terms never overlap. Leadership ends
//     (Lost) when a round fails to renew the lease in time; a new leader
//     is elected within about NomineeTimeout + PollTimeout of a leader's
//     death.
//     Stop gives leadership up at once but does not tell the
//     coordinators: they keep the nomination until it lapses, and a
//     candidacy request still in flight may register the stopped candidate
//     for up to CandidateTimeout more (it lapses as well, never heartbeating).
//   - LeaderElection.MonitorLeader: the stream of leaders a majority of
//     coordinators agree on, for processes that only follow.
//   - MoveCoordinatedState: `coordinators <addr>...` — copy the state to
//     the new coordinators and forward the old ones (see its doc). The
//     cluster controller calls it when kv.CoordinatorsKey asks for new
//     coordinators (db/server/controller), after Reachable found every new
//     one answering; choosing them for `coordinators auto` is the client's
//     (client.AutoCoordinators).
//
// Errors: ErrCoordinatedStateConflict (FDB's coordinated_state_conflict,
// 1005) and *ForwardedError, which matches ErrCoordinatorsChanged (FDB's
// coordinators_changed, 1027) and carries the new cluster file to follow
// and to write back with clusterfile.WriteAtomic.
package coordinator
