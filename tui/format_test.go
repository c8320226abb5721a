package tui

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSparkline(t *testing.T) {
	tests := []struct {
		vals  []float64
		width int
		want  string
	}{
		{nil, 4, "    "},
		{[]float64{0, 0}, 3, " ▁▁"},
		{[]float64{1, 2, 4, 8}, 4, "▂▃▅█"},
		{[]float64{8, 1, 2, 4, 8}, 4, "▂▃▅█"}, // the oldest sample drops off
		{[]float64{5}, 0, ""},
	}
	for _, tc := range tests {
		if got := sparkline(tc.vals, tc.width); got != tc.want {
			t.Errorf("sparkline(%v, %d) = %q, want %q", tc.vals, tc.width, got, tc.want)
		}
	}
}

func TestSeriesRing(t *testing.T) {
	var s series
	for i := range historyLen + 5 {
		s.push(float64(i))
	}
	got := s.last(3, nil)
	if diff := cmp.Diff([]float64{historyLen + 2, historyLen + 3, historyLen + 4}, got); diff != "" {
		t.Errorf("last 3 after wrapping (-want +got):\n%s", diff)
	}
	if n := len(s.last(historyLen*2, nil)); n != historyLen {
		t.Errorf("series keeps %d samples, want %d", n, historyLen)
	}
}

func TestNaturalCompare(t *testing.T) {
	ordered := []string{"10.0.1.9:4500", "10.0.1.10:4500", "10.0.1.10:4501", "db2", "db10", "z1", "z01x", "z2", "z10"}
	for i := 0; i+1 < len(ordered); i++ {
		if c := naturalCompare(ordered[i], ordered[i+1]); c >= 0 {
			t.Errorf("naturalCompare(%q, %q) = %d, want < 0", ordered[i], ordered[i+1], c)
		}
		if c := naturalCompare(ordered[i+1], ordered[i]); c <= 0 {
			t.Errorf("naturalCompare(%q, %q) = %d, want > 0", ordered[i+1], ordered[i], c)
		}
	}
}

func TestFormats(t *testing.T) {
	got := []string{
		fmtBytes(512), fmtBytes(1536), fmtBytes(121 << 30), fmtBytesShort(2254857830), fmtBytesShort(100),
		fmtCount(48), fmtCount(69.6), fmtCount(41230), fmtCount(12.4e6),
		fmtLatency(0.00031), fmtLatency(0.0187), fmtLatency(1.2), fmtLatency(0),
		fmtAge(45), fmtAge(725), fmtAge(11220), fmtAge(361242),
		fmtByteRate(12.4e6),
	}
	want := []string{
		"512 B", "1.5 KiB", "121 GiB", "2.1G", "100B",
		"48", "69.6", "41.2k", "12.4M",
		"0.31ms", "18.7ms", "1.20s", "-",
		"45s", "12m05s", "3h07m", "4d04h",
		"12.4 MB/s",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("formats (-want +got):\n%s", diff)
	}
}
