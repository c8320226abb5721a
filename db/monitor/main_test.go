package monitor

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"
)

// childModeEnv makes the test binary act as a child or a monitor instead of
// running tests, so real-process tests need nothing but this binary and sh.
const childModeEnv = "STRATA_MONITOR_TEST_MODE"

func TestMain(m *testing.M) {
	switch os.Getenv(childModeEnv) {
	case "":
		os.Exit(m.Run())
	case "alloc":
		allocAndSleep()
	case "monitor":
		os.Exit(runMonitorProcess())
	default:
		fmt.Fprintln(os.Stderr, "unknown", childModeEnv)
		os.Exit(2)
	}
}

// allocAndSleep touches 200 MB so that it is resident, then waits to be killed.
func allocAndSleep() {
	buf := make([]byte, 200<<20)
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1
	}
	fmt.Println("allocated", len(buf))
	time.Sleep(time.Hour)
	buf[0]++ // keep buf live
}

// runMonitorProcess is `strata monitor` in miniature: Serve until SIGTERM.
func runMonitorProcess() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	opts := Options{ConfFile: os.Getenv("STRATA_MONITOR_TEST_CONF"), MemoryCheckInterval: -1,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))}
	if err := Serve(ctx, opts, os.Getenv("STRATA_MONITOR_TEST_LOCK")); err != nil {
		fmt.Fprintln(os.Stderr, "monitor:", err)
		return 1
	}
	return 0
}
