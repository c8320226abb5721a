package tui

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// fmtBytes renders a byte count with binary units ("1.4 GiB").
func fmtBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	v := float64(n) / float64(div)
	if v >= 100 {
		return fmt.Sprintf("%.0f %ciB", v, "KMGTPE"[exp])
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTPE"[exp])
}

// fmtBytesShort is fmtBytes without the space and "iB", for table cells
// ("1.4G").
func fmtBytesShort(n int64) string {
	s := fmtBytes(n)
	if strings.HasSuffix(s, " B") {
		return strings.TrimSuffix(s, " B") + "B"
	}
	return strings.ReplaceAll(strings.TrimSuffix(s, "iB"), " ", "")
}

// fmtCount renders a rate or count compactly ("5.6k", "12.4M").
func fmtCount(v float64) string {
	abs := math.Abs(v)
	switch {
	case abs >= 1e9:
		return fmt.Sprintf("%.1fG", v/1e9)
	case abs >= 1e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case abs >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	case abs >= 100 || v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	default:
		return fmt.Sprintf("%.1f", v)
	}
}

// fmtByteRate renders bytes per second in decimal units ("12.4 MB/s").
func fmtByteRate(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.1f GB/s", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.1f MB/s", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1f kB/s", v/1e3)
	}
	return fmt.Sprintf("%.0f B/s", v)
}

// fmtLatency renders seconds as a latency ("0.31ms", "18.7ms", "1.20s").
func fmtLatency(sec float64) string {
	switch {
	case sec <= 0:
		return "-"
	case sec < 0.001:
		return fmt.Sprintf("%.2fms", sec*1e3)
	case sec < 1:
		return fmt.Sprintf("%.1fms", sec*1e3)
	}
	return fmt.Sprintf("%.2fs", sec)
}

// fmtAge renders a duration in seconds compactly ("45s", "12m05s",
// "3h07m", "4d03h").
func fmtAge(sec float64) string {
	if sec < 0 || math.IsNaN(sec) {
		return "-"
	}
	s := int64(sec)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
	}
	return fmt.Sprintf("%dd%02dh", s/86400, s%86400/3600)
}

// fmtClock renders a wall-clock time in loc.
func fmtClock(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "--:--:--"
	}
	return t.In(loc).Format("15:04:05")
}

// plural picks a noun form for n.
func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
