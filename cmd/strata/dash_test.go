package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDashRefusesWithoutFixture(t *testing.T) {
	out, err := runStrata(t, "dash")
	if err == nil || exitCode(err) == 0 {
		t.Fatalf("strata dash without --fixture succeeded:\n%s", out)
	}
	if !strings.Contains(err.Error(), "live cluster status is not available yet") || !strings.Contains(err.Error(), "--fixture") {
		t.Errorf("error %q does not say live status is unavailable and how to use a fixture", err)
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
