// Package apply inspects hosts and carries out plans, in as few remote
// commands as it can: every SSH session costs a process start on the host
// (and a run of the login shell's start-up files), which dominated plans
// and applies when each step had sessions of its own.
//
// Inspect reads each host in ONE command: the preflight facts (reachable,
// Linux on the release's architecture, required commands, free disk, free
// ports, clock skew, whether systemd is PID 1), the release, conf and
// cluster-file digests, the monitor's state (its lock and state file, read
// with the shell instead of starting the release binary) and the cluster
// file; Preflight and Refresh are its two halves.
//
// Apply runs a plan's changes as one pipeline per host, all hosts at once
// (up to Options.Parallel): one command streams the release in on stdin
// (the small files travel inside the script), checks every file against
// its planned sha256 on the host, syncs and renames them into place,
// starts the monitor (a systemd unit where systemd is PID 1, else detached
// with a pidfile), then watches the monitor's state with a short backoff
// and sends each change back; apply answers "more" or "done" from the same
// convergence checks as before, so nothing waits on a fixed poll interval.
// The host reports each step as it becomes durable and apply journals it
// (fsync'd) and saves state then, group-committing what hosts finish
// together. A plan that restarts processes rolls instead: releases and
// cluster files everywhere at once, then conf host by host, each waiting
// for its processes. An interrupted apply is resumed by the next run from
// what the hosts really run. It never does what the plan does not list.
//
// Around them: Adapt makes deployer/remote's SSH and local hosts apply
// Hosts; Database configures the database and reads its configuration back
// (\xff/conf/ keys) and holds the deployer's lease key inside the cluster;
// Destroy stops monitors (and their systemd units) and removes what apply
// installed, data directories only when asked.
package apply
