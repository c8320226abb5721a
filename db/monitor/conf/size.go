package conf

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// sizeSuffixes follows FoundationDB's parse_with_suffix: decimal (KB, MB, ...)
// and binary (KiB, MiB, ...) multipliers; a bare number is bytes.
var sizeSuffixes = []struct {
	suffix string
	mult   float64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"B", 1},
}

// ParseSize parses a byte count such as "8GiB", "100MB", "512KiB" or "4096".
func ParseSize(s string) (int64, error) {
	num, mult := strings.TrimSpace(s), 1.0
	for _, sf := range sizeSuffixes {
		if len(num) > len(sf.suffix) && strings.EqualFold(num[len(num)-len(sf.suffix):], sf.suffix) {
			num, mult = strings.TrimSpace(num[:len(num)-len(sf.suffix)]), sf.mult
			break
		}
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("invalid size %q: want a non-negative number with an optional suffix B, KB, MB, GB, TB, KiB, MiB, GiB or TiB", s)
	}
	bytes := v * mult
	if bytes >= math.MaxInt64 {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return int64(bytes), nil
}

// FormatSize renders a byte count with the largest binary suffix that keeps
// it readable, for logs and status output.
func FormatSize(n int64) string {
	const unit = 1 << 10
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	f, i := float64(n), -1
	for f >= unit && i < 3 {
		f /= unit
		i++
	}
	return fmt.Sprintf("%.1f%ciB", f, "KMGT"[i])
}
