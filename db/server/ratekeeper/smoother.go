package ratekeeper

import (
	"math"
	"time"
)

// smoother follows a running total with an exponential lag: its estimate
// moves toward the total with e-folding time fold, and the total's rate of
// change is how far the total is ahead of the estimate per fold. A step in
// the total thus shows as a rate that decays over a few folds, and a total
// growing steadily shows its true slope.
type smoother struct {
	fold     float64 // seconds
	total    float64
	estimate float64
	at       time.Time
}

func newSmoother(fold time.Duration) smoother { return smoother{fold: fold.Seconds()} }

// reset starts over at v with no rate.
func (s *smoother) reset(v float64, now time.Time) {
	s.total, s.estimate, s.at = v, v, now
}

func (s *smoother) update(now time.Time) {
	elapsed := now.Sub(s.at).Seconds()
	if elapsed <= 0 {
		return
	}
	s.at = now
	if s.fold <= 0 {
		s.estimate = s.total
		return
	}
	s.estimate += (s.total - s.estimate) * (1 - math.Exp(-elapsed/s.fold))
}

func (s *smoother) setTotal(v float64, now time.Time) {
	s.update(now)
	s.total = v
}

func (s *smoother) addDelta(d float64, now time.Time) {
	s.update(now)
	s.total += d
}

// rate is the smoothed rate of change per second.
func (s *smoother) rate(now time.Time) float64 {
	s.update(now)
	if s.fold <= 0 {
		return 0
	}
	return (s.total - s.estimate) / s.fold
}

// meter is the smoothed rate of a total that is sampled now and then (a
// server's counters arrive with each worker report, about once a second).
// Each new sample's average rate since the previous one moves the estimate
// by the share of the e-folding time fold that elapsed, so the estimate
// changes only with new figures and does not saw-tooth between them as a
// smoothed total would. The first interval sets the rate outright.
type meter struct {
	fold   float64 // seconds
	total  float64
	at     time.Time
	rate   float64
	primed bool
}

func newMeter(fold time.Duration) meter { return meter{fold: fold.Seconds()} }

// reset starts over at v, with no rate known.
func (m *meter) reset(v float64, at time.Time) {
	m.total, m.at, m.rate, m.primed = v, at, 0, false
}

// observe takes in the total v measured at at; samples not newer than the
// last are ignored.
func (m *meter) observe(v float64, at time.Time) {
	dt := at.Sub(m.at).Seconds()
	if dt <= 0 {
		return
	}
	r := (v - m.total) / dt
	if !m.primed || m.fold <= 0 {
		m.rate, m.primed = r, true
	} else {
		m.rate += (r - m.rate) * (1 - math.Exp(-dt/m.fold))
	}
	m.total, m.at = v, at
}
