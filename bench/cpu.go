package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/strata-db/strata/db/status"
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

// Settling before each workload: each is measured on a server that has
// finished with the writes before it (the last workload's, or the load's),
// as if it ran on its own.
const (
	settlePoll = 500 * time.Millisecond
	maxSettle  = 30 * time.Second
	// quietCPU is the most CPU a settled server uses in a poll: a tenth
	// of a core.
	quietCPU = settlePoll / 10
)

// settle waits, when the bench started the server, until the server holds
// no writes in memory that are not durable yet (its status document's
// storage queue is empty) and its CPU is quiet, at most maxSettle. Without
// it the workload after the write workload shared the server with the last
// five seconds of writes (about 180,000) on their way into Pebble, and the
// first workload after the load read the last of the loaded keys from the
// storage server's in-memory versions rather than from Pebble.
func (r *runner) settle(ctx context.Context) error {
	if r.serverPID == 0 || r.metricsURL == "" {
		return nil
	}
	statusURL := strings.TrimSuffix(r.metricsURL, "/metrics") + "/status"
	start := time.Now()
	lastCPU, err := ProcessCPU(r.serverPID)
	if err != nil {
		return err
	}
	for time.Since(start) < maxSettle {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(settlePoll):
		}
		cpu, err := ProcessCPU(r.serverPID)
		if err != nil {
			return err
		}
		quiet := cpu-lastCPU <= quietCPU
		lastCPU = cpu
		if !quiet {
			continue
		}
		st, err := fetchStatus(ctx, statusURL)
		if err != nil {
			return err
		}
		if st.Cluster.QoS.WorstQueueBytesStorageServer == 0 {
			r.o.progress("server settled in %v", time.Since(start).Round(100*time.Millisecond))
			return nil
		}
	}
	r.o.progress("server still busy after %v; going on", maxSettle)
	return nil
}

// fetchStatus reads a server's status document from its HTTP port.
func fetchStatus(ctx context.Context, url string) (*status.Status, error) {
	body, err := fetch(ctx, url, 10*time.Second)
	if err != nil {
		return nil, fmt.Errorf("server status: %w", err)
	}
	return status.Parse(body)
}
