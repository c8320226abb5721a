// Package procctl is a server process's control endpoint: it answers
// RebootRequest on the well-known token kv.TokenProcessControl, which is how
// `strata cli`'s kill restarts processes (FoundationDB's worker answers
// RebootRequest the same way, reached through \xff\xff/reboot_worker).
//
// A request with check_only is only answered: the process exists and its
// loop runs. Any other request is answered, then after delay_seconds and a
// short grace (ReplyGrace, so that the reply leaves the process) the
// injected Reboot function runs. Role code cannot end a process, so the
// binary injects it: `strata server` exits with status 0, and its monitor
// (db/monitor, like fdbmonitor) starts it again at once.
//
// Requests that arrive while a reboot is pending are answered too and do
// not delay it: the first request's schedule stands.
package procctl
