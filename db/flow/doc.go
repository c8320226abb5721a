// Package flow is Strata's actor runtime, modelled on FoundationDB's Flow.
//
// Database role code is written as straight-line actors against an [Env]:
// the clock and timers, a seeded random source, spawning and cancelling
// actors, futures and promises, request/reply streams on network endpoints,
// failure monitoring of peers, files under the process's data directory,
// Buggify, trace events and metrics. Role code touches time, randomness,
// concurrency, the network and the disk only through this package; a lint
// test (db/lint) enforces it.
//
// # One actor at a time
//
// Every actor runs on its own goroutine, but a [Loop] hands a single baton
// between them: exactly one actor of a loop runs at any moment, and an actor
// gives the baton back only inside a blocking flow call ([Await], [Select],
// [Ctx.Sleep], a stream's Next, ...). Between two such calls an actor's code
// is atomic with respect to every other actor, so role code needs no locks.
// Futures, promises and streams are therefore not safe for use by goroutines
// that do not hold the baton; code outside the runtime (a TCP reader, a
// blocking library call, a client API caller) hands work to the loop with
// [Loop.Post].
//
// # Two runtimes, one body of role code
//
// The real runtime ([NewRealProcess]) gives each process its own loop driven
// by the wall clock, a TCP transport speaking db/wire frames, and files on
// the operating system with fdatasync. The simulator (db/sim) runs every
// process of a simulated cluster on one loop driven by virtual time, a
// simulated network and simulated disks, so that a run is decided by its seed
// alone: events are ordered by (time, sequence), ties are broken in a fixed
// order, and all randomness flows from the seed.
package flow
