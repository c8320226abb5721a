package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDashLiveNeedsAClusterFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none.cluster")
	out, err := runStrata(t, "dash", "-C", missing)
	if err == nil || exitCode(err) == 0 {
		t.Fatalf("strata dash with a missing cluster file succeeded:\n%s", out)
	}
	if !strings.Contains(err.Error(), missing) {
		t.Errorf("error %q does not name the missing cluster file", err)
	}
}

func TestDashRejectsBadFixture(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte("{\n  \"client\": {,}\n}"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{filepath.Join(t.TempDir(), "missing.json"), "no such file"},
		{bad, "line 2, column 14"},
	} {
		_, err := runStrata(t, "dash", "--fixture", tc.path)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("dash --fixture %s: error %v, want it to contain %q", tc.path, err, tc.want)
		}
	}
}

// TestDashNeedsTerminal: with a good fixture but output to a pipe, dash
// says it needs a terminal rather than drawing into the pipe.
func TestDashNeedsTerminal(t *testing.T) {
	_, err := runStrata(t, "dash", "--fixture", "../../db/status/testdata/healthy_triple.json")
	if err == nil || !strings.Contains(err.Error(), "needs a terminal") {
		t.Errorf("dash to a buffer: error %v, want it to ask for a terminal", err)
	}
}
