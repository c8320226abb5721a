package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of /proc/<pid>/stat's CPU times: USER_HZ, 100 on every
// Linux architecture Go supports.
const userHZ = 100

// ProcessCPU returns the user plus system CPU time pid's threads have used
// so far, from /proc/<pid>/stat (Linux only).
func ProcessCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, fmt.Errorf("reading process CPU time: %w", err)
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat %q", pid, b)
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat %q", pid, b)
	}
	var ticks int64
	for _, s := range f[11:13] { // utime (field 14), stime (field 15)
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parsing /proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// cpuDuring measures the CPU time pid uses from after to after+window, in
// the background; the channel yields it (0 if it cannot be read).
func cpuDuring(pid int, after, window time.Duration) <-chan time.Duration {
	out := make(chan time.Duration, 1)
	go func() {
		time.Sleep(after)
		start, err1 := ProcessCPU(pid)
		time.Sleep(window)
		end, err2 := ProcessCPU(pid)
		if err1 != nil || err2 != nil {
			out <- 0
			return
		}
		out <- end - start
	}()
	return out
}
