// Package event carries the deployer's progress: each step of a refresh,
// apply or playbook emits events (started, done, failed, with the host and
// resource), and sinks render them — plain lines when output is not a
// terminal, JSON lines for -json and for the dashboard's rollout view.
package event
