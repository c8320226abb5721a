package main

import (
	"runtime"
	"strings"
	"testing"
)

func TestLimitCores(t *testing.T) {
	prev := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(prev) })

	t.Setenv("GOMAXPROCS", "")
	if err := limitCores(1, false); err != nil {
		t.Fatal(err)
	}
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Fatalf("the default --cores 1 left GOMAXPROCS at %d", got)
	}
	if err := limitCores(0, true); err != nil {
		t.Fatal(err)
	}
	if got := runtime.GOMAXPROCS(0); got != runtime.NumCPU() {
		t.Fatalf("--cores 0 set GOMAXPROCS to %d, want every core (%d)", got, runtime.NumCPU())
	}

	// An operator's $GOMAXPROCS wins over the flag's default, not over
	// the flag itself.
	t.Setenv("GOMAXPROCS", "3")
	runtime.GOMAXPROCS(3)
	if err := limitCores(1, false); err != nil {
		t.Fatal(err)
	}
	if got := runtime.GOMAXPROCS(0); got != 3 {
		t.Fatalf("the flag's default overrode $GOMAXPROCS=3: GOMAXPROCS is %d", got)
	}
	if err := limitCores(2, true); err != nil {
		t.Fatal(err)
	}
	if got := runtime.GOMAXPROCS(0); got != 2 {
		t.Fatalf("--cores 2 left GOMAXPROCS at %d", got)
	}

	err := limitCores(-1, true)
	if err == nil || !strings.Contains(err.Error(), "--cores") {
		t.Fatalf("--cores -1: got %v, want an error naming the flag", err)
	}
}
