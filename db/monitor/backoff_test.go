package monitor

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-db/strata/db/monitor/conf"
)

func TestBackoffDocumentedExample(t *testing.T) {
	// configuration.rst: restart-delay 60, initial 0, backoff 2, reset 180.
	b := newBackoff(conf.Restart{Delay: 60 * time.Second, Backoff: 2, ResetInterval: 180 * time.Second})
	noJitter := func() float64 { return 0.5 }
	var got []time.Duration
	for range 9 {
		got = append(got, b.next(time.Second, noJitter))
	}
	want := []time.Duration{0, 2, 4, 8, 16, 32, 60, 60, 60}
	for i := range want {
		want[i] *= time.Second
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("schedule (-want +got):\n%s", diff)
	}
	if d := b.next(180*time.Second, noJitter); d != 0 {
		t.Errorf("after a run of the reset interval, delay = %v, want the initial 0", d)
	}
	if d := b.next(0, noJitter); d != 2*time.Second {
		t.Errorf("after a reset the schedule starts again: delay = %v, want 2s", d)
	}
}

func TestBackoffJitterWithinTenPercent(t *testing.T) {
	for _, r := range []float64{0, 0.25, 0.75, 0.999999} {
		b := newBackoff(conf.Restart{Delay: 100 * time.Second, Initial: 100 * time.Second, Backoff: 1, ResetInterval: time.Hour})
		d := b.next(0, func() float64 { return r })
		if d < 90*time.Second || d > 110*time.Second {
			t.Errorf("rand %v: delay %v is not within 10%% of 100s", r, d)
		}
	}
	b := newBackoff(conf.Restart{Delay: 100 * time.Second, Initial: 100 * time.Second, Backoff: 1, ResetInterval: time.Hour})
	if lo, hi := b.next(0, func() float64 { return 0 }), b.next(0, func() float64 { return 0.999999 }); hi-lo < 19*time.Second {
		t.Errorf("jitter spans %v..%v; want about ±10s", lo, hi)
	}
}

func TestBackoffSubSecondDelaysGrowFromOneSecond(t *testing.T) {
	// fdbmonitor multiplies max(1, cur): a 0.1 s initial delay with backoff 2
	// jumps to 2 s, capped by restart-delay.
	b := newBackoff(conf.Restart{Delay: 1500 * time.Millisecond, Initial: 100 * time.Millisecond, Backoff: 2, ResetInterval: time.Hour})
	noJitter := func() float64 { return 0.5 }
	got := []time.Duration{b.next(0, noJitter), b.next(0, noJitter), b.next(0, noJitter)}
	want := []time.Duration{100 * time.Millisecond, 1500 * time.Millisecond, 1500 * time.Millisecond}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("schedule (-want +got):\n%s", diff)
	}
}
