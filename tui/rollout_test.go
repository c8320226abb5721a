package tui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestJSONLinesReaderFixture(t *testing.T) {
	r := &JSONLinesReader{Path: filepath.Join("testdata", "rollout.jsonl")}
	evs, err := r.ReadEvents(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 14 {
		t.Fatalf("read %d events, want 14", len(evs))
	}
	want := RolloutEvent{Time: time.Date(2026, 12, 6, 13, 52, 1, 0, time.UTC), Host: "db1", Step: "stage release", Status: StepRunning, Batch: 1}
	if diff := cmp.Diff(want, evs[0]); diff != "" {
		t.Errorf("first event (-want +got):\n%s", diff)
	}
	more, err := r.ReadEvents(t.Context())
	if err != nil || len(more) != 0 {
		t.Errorf("second read: %d events, %v; want none", len(more), err)
	}
}

// TestJSONLinesReaderFollowsAppends: only complete new lines are returned,
// a partial line waits for its newline, and bad lines are reported with
// their line number without losing the good ones.
func TestJSONLinesReaderFollowsAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.jsonl")
	r := &JSONLinesReader{Path: path}
	if evs, err := r.ReadEvents(t.Context()); err != nil || len(evs) != 0 {
		t.Fatalf("missing journal: %d events, %v; want none and no error", len(evs), err)
	}
	appendText := func(s string) {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(s); err != nil {
			t.Fatal(err)
		}
	}
	line := func(host, status string) string {
		return `{"time":"2026-12-06T14:00:00Z","host":"` + host + `","step":"restart","status":"` + status + `","batch":1}`
	}
	second := line("db2", "running")
	appendText(line("db1", "running") + "\n" + second[:30])
	evs, err := r.ReadEvents(t.Context())
	if err != nil || len(evs) != 1 || evs[0].Host != "db1" {
		t.Fatalf("with a partial second line: %+v, %v; want only db1", evs, err)
	}
	appendText(second[30:] + "\n" + "not json\n" + line("db3", "exploded") + "\n" + line("db4", "done") + "\n")
	evs, err = r.ReadEvents(t.Context())
	var hosts []string
	for _, e := range evs {
		hosts = append(hosts, e.Host)
	}
	if diff := cmp.Diff([]string{"db2", "db4"}, hosts); diff != "" {
		t.Errorf("hosts read (-want +got):\n%s", diff)
	}
	if err == nil || !strings.Contains(err.Error(), "events.jsonl:3: malformed rollout event") {
		t.Errorf("error = %v, want it to name line 3 as malformed", err)
	}
	// A replaced (shorter) journal is read from its start.
	if err := os.WriteFile(path, []byte(line("db9", "done")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	evs, err = r.ReadEvents(t.Context())
	if err != nil || len(evs) != 1 || evs[0].Host != "db9" {
		t.Errorf("after replacing the journal: %+v, %v; want db9", evs, err)
	}
}

// The deployer's own event stream (strata apply -json) reads as rollout
// events: "started" is running, and cluster-wide steps have no host.
func TestParseEventReadsDeployerEvents(t *testing.T) {
	ev, err := parseEvent([]byte(`{"time":"2026-12-06T21:00:00Z","step":"database","status":"started","resource":"cluster.database"}`))
	if err != nil || ev.Host != "cluster" || ev.Status != StepRunning {
		t.Fatalf("parseEvent = %+v, %v; want host cluster, status running", ev, err)
	}
}

func TestParseEventRejects(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{`{"host":"h","step":"","status":"done"}`, "no step"},
		{`{"host":"h","step":"s","status":"maybe"}`, `unknown status "maybe"`},
		{`{"host":"h","step":"s","status":"done","time":"yesterday"}`, "malformed"},
		{`{"host":"` + strings.Repeat("x", maxEventLine) + `"}`, "longer than"},
	} {
		_, err := parseEvent([]byte(tc.line))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseEvent(%.40q) = %v, want %q", tc.line, err, tc.want)
		}
	}
}
