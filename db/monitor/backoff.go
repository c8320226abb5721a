package monitor

import (
	"time"

	"github.com/strata-db/strata/db/monitor/conf"
)

// backoff is one process's restart schedule, fdbmonitor's
// get_and_update_current_restart_delay: the delay starts at the initial
// delay, is multiplied by the backoff factor (treating delays under a second
// as one second) after each restart, is capped at restart-delay, and goes back
// to the initial delay when the process ran for the reset interval.
type backoff struct {
	cfg conf.Restart
	cur time.Duration
}

func newBackoff(cfg conf.Restart) backoff { return backoff{cfg: cfg, cur: cfg.Initial} }

// next returns the delay before restarting a process that ran for ran and
// advances the schedule. rnd returns a uniform number in [0, 1); the delay
// is jittered by up to ±10%.
func (b *backoff) next(ran time.Duration, rnd func() float64) time.Duration {
	if ran >= b.cfg.ResetInterval {
		b.cur = b.cfg.Initial
	}
	d := jitter(b.cur, rnd)
	grown := time.Duration(b.cfg.Backoff * float64(max(time.Second, b.cur)))
	b.cur = min(b.cfg.Delay, grown)
	return d
}

// reset starts the schedule again at the initial delay (SIGHUP).
func (b *backoff) reset() { b.cur = b.cfg.Initial }

// setConfig applies new restart settings without losing the current position,
// clamped to the new maximum.
func (b *backoff) setConfig(cfg conf.Restart) {
	b.cfg = cfg
	b.cur = min(b.cur, cfg.Delay)
}

func jitter(d time.Duration, rnd func() float64) time.Duration {
	j := time.Duration(float64(d) * 0.2 * (rnd() - 0.5))
	return max(0, d+j)
}
