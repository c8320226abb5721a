package monitor

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Run with: go test ./db/monitor -run '^$' -bench . -benchtime 1x
// BenchmarkIdleCPU64 measures the monitor's own CPU over a 10 s window per
// iteration while it supervises 64 idle children; BenchmarkConfChange64
// measures how long a conf edit takes to be applied to 64 children.

const benchChildren = 64

func benchConf(tag string) string {
	var b strings.Builder
	b.WriteString("[server]\ncommand = sh -c 'exec sleep 100000'\ntag = " + tag + "\n")
	for i := range benchChildren {
		fmt.Fprintf(&b, "[server.%d]\n", 4500+i)
	}
	return b.String()
}

func startBench(b *testing.B) *realEnv {
	dir := b.TempDir()
	e := &realEnv{dir: dir, conf: dir + "/strata.conf"}
	if err := os.WriteFile(e.conf, []byte(monitorHeader(dir)+benchConf("0")), 0o644); err != nil {
		b.Fatal(err)
	}
	sup, err := New(Options{ConfFile: e.conf, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	e.sup = sup
	stop := runInBackground(b, sup)
	b.Cleanup(stop)
	waitBench(b, sup, "64 running", func(st State) bool { return runningWithTag(st, "0") })
	return e
}

func runningWithTag(st State, tag string) bool {
	if len(st.Processes) != benchChildren {
		return false
	}
	for _, p := range st.Processes {
		if p.Status != StatusRunning || p.Argv[len(p.Argv)-1] != "--tag="+tag {
			return false
		}
	}
	return true
}

func waitBench(b *testing.B, sup *Supervisor, what string, cond func(State) bool) {
	b.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond(sup.Snapshot()) {
		if time.Now().After(deadline) {
			b.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// cpuTicks is this process's utime+stime from /proc/self/stat, in clock
// ticks (USER_HZ, 100 per second on Linux).
func cpuTicks(b *testing.B) int64 {
	data, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		b.Fatal(err)
	}
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	// Fields after the command: state is [0], utime is [11], stime is [12].
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		b.Fatalf("parsing /proc/self/stat: %q", s)
	}
	return utime + stime
}

func rusageCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkIdleCPU64(b *testing.B) {
	startBench(b)
	const window = 10 * time.Second
	const userHZ = 100
	var ticks int64
	var wall, rus time.Duration
	b.ResetTimer()
	for range b.N {
		t0, c0, r0 := time.Now(), cpuTicks(b), rusageCPU(b)
		time.Sleep(window)
		ticks += cpuTicks(b) - c0
		rus += rusageCPU(b) - r0
		wall += time.Since(t0)
	}
	b.StopTimer()
	cpu := time.Duration(ticks) * time.Second / userHZ
	b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "%cpu(proc-stat)")
	// getrusage has microsecond resolution where /proc/self/stat has 10 ms.
	b.ReportMetric(100*rus.Seconds()/wall.Seconds(), "%cpu(rusage)")
}

func BenchmarkConfChange64(b *testing.B) {
	e := startBench(b)
	var total, worst time.Duration
	b.ResetTimer()
	for i := range b.N {
		tag := strconv.Itoa(i + 1)
		tmp := e.conf + ".tmp"
		if err := os.WriteFile(tmp, []byte(monitorHeader(e.dir)+benchConf(tag)), 0o644); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := os.Rename(tmp, e.conf); err != nil {
			b.Fatal(err)
		}
		waitBench(b, e.sup, "64 restarted", func(st State) bool { return runningWithTag(st, tag) })
		d := time.Since(start)
		total += d
		worst = max(worst, d)
	}
	b.StopTimer()
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/change")
	b.ReportMetric(float64(worst.Milliseconds()), "worst-ms")
}
