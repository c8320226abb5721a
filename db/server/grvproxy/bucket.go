package grvproxy

import (
	"math"
	"time"
)

// bucket is a token bucket of rate transactions per second holding at most
// a tenth of a second of rate (at least one transaction). An unlimited
// bucket (the zero value) admits everything and keeps no count, so the
// unthrottled path costs one branch.
type bucket struct {
	on       bool
	rate     float64
	tokens   float64
	refilled time.Time
}

// set changes the rate; +Inf (or a negative or NaN rate) means unlimited.
// The tokens earned so far are kept up to a tenth of a second of the new
// rate, so a rate of 0 stops everything at once.
func (b *bucket) set(rate float64, now time.Time) {
	if math.IsInf(rate, 1) || math.IsNaN(rate) || rate < 0 {
		*b = bucket{}
		return
	}
	if !b.on {
		*b = bucket{on: true, rate: rate, tokens: rate / 10, refilled: now}
		return
	}
	b.refill(now)
	b.rate = rate
	b.tokens = min(b.tokens, rate/10)
}

func (b *bucket) size() float64 { return max(1, b.rate/10) }

func (b *bucket) refill(now time.Time) {
	if !b.on {
		return
	}
	b.tokens = min(b.size(), b.tokens+now.Sub(b.refilled).Seconds()*b.rate)
	b.refilled = now
}

// admits reports whether n transactions may start now. A request larger
// than the bucket goes once the bucket is full, and leaves it in debt.
func (b *bucket) admits(n int) bool {
	return !b.on || b.tokens >= min(float64(n), b.size())
}

// take spends n tokens of an admitted request.
func (b *bucket) take(n int) {
	if b.on {
		b.tokens -= float64(n)
	}
}

// charge spends n tokens for transactions this bucket does not gate (they
// still count against its rate), with the debt bounded by one bucket so
// that a burst of them does not starve what it gates for long.
func (b *bucket) charge(n int) {
	if b.on {
		b.tokens = max(-b.size(), b.tokens-float64(n))
	}
}

// maxWait bounds a computed wait (a tiny rate must not overflow a
// Duration); the proxy re-evaluates after it anyway.
const maxWait = time.Hour

// wait is how long until n transactions may start, or false if never at
// the current rate.
func (b *bucket) wait(n int) (time.Duration, bool) {
	if b.admits(n) {
		return 0, true
	}
	if b.rate <= 0 {
		return 0, false
	}
	need := min(float64(n), b.size()) - b.tokens
	return time.Duration(min(need/b.rate, maxWait.Seconds()) * float64(time.Second)), true
}
