package status

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func load(t *testing.T, name string) *Status {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	st, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return st
}

// TestFixtures checks that every fixture parses and that the facts the
// dashboard's golden tests rely on are really in them.
func TestFixtures(t *testing.T) {
	type facts struct {
		Name       string
		Processes  int
		Recovery   string
		DataState  string
		Available  bool
		Healthy    bool
		Reachable  int
		HasCluster bool
	}
	tests := map[string]facts{
		"healthy_triple.json":    {"prod", 20, RecoveryFullyRecovered, DataHealthy, true, true, 5, true},
		"recovery.json":          {"prod", 20, RecoveryRecruitingTxnServers, DataHealthy, false, false, 5, true},
		"dead_zone.json":         {"prod", 20, RecoveryFullyRecovered, DataHealing, true, false, 4, true},
		"unreachable.json":       {Reachable: 0},
		"hundred_processes.json": {"big", 100, RecoveryFullyRecovered, DataHealthyRebalancing, true, true, 5, true},
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			st := load(t, name)
			got := facts{
				Available: st.Client.DatabaseStatus.Available,
				Healthy:   st.Client.DatabaseStatus.Healthy,
			}
			for _, c := range st.Client.Coordinators.Coordinators {
				if c.Reachable {
					got.Reachable++
				}
			}
			if c := st.Cluster; c != nil {
				got.HasCluster = true
				got.Name = c.Name()
				got.Processes = len(c.Processes)
				got.Recovery = c.RecoveryState.Name
				got.DataState = c.Data.State.Name
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("fixture facts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseReadsFDBNames(t *testing.T) {
	doc := `{
  "client": {"database_status": {"available": true, "healthy": true}, "timestamp": 17},
  "cluster": {
    "connection_string": "demo:abc@127.0.0.1:4500",
    "recovery_state": {"name": "fully_recovered", "description": "Recovery complete."},
    "fault_tolerance": {"max_zone_failures_without_losing_availability": 1, "max_zone_failures_without_losing_data": 2},
    "qos": {"performance_limited_by": {"name": "workload", "description": "d"}},
    "processes": {"p1": {"address": "127.0.0.1:4500", "class_type": "storage", "version": "0.1.0",
      "locality": {"zoneid": "z1"}, "uptime_seconds": 12.5, "new_field_from_a_later_release": [1, 2],
      "roles": [{"role": "storage", "data_lag": {"versions": 5, "seconds": 0.5}}]}}
  }
}`
	st, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	p := st.Cluster.Processes["p1"]
	got := []any{st.Cluster.Name(), st.Client.Timestamp, st.Cluster.FaultTolerance.MaxZoneFailuresWithoutLosingData,
		st.Cluster.QoS.PerformanceLimitedBy.Name, p.Zone(), p.UptimeSeconds, p.Roles[0].DataLag.Seconds}
	want := []any{"demo", int64(17), 2, "workload", "z1", 12.5, 0.5}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parsed values (-want +got):\n%s", diff)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"empty", "", "empty"},
		{"blank", " \n ", "empty"},
		{"not an object", "[1,2]", "not a JSON object"},
		{"null", "null", "not a JSON object"},
		{"no client", `{"cluster": {}}`, "no client section"},
		{"syntax with position", "{\n  \"client\": {,}\n}", "line 2, column 14"},
		{"wrong type", "{\n\"client\": {\"timestamp\": \"soon\"}}", "line 2, column 30: field client.timestamp"},
		{"trailing data", `{"client": {}} {}`, "data after its JSON object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse(%q) error = %v, want it to contain %q", tc.doc, err, tc.want)
			}
		})
	}
}

func TestClusterNameOfMalformedConnectionString(t *testing.T) {
	c := Cluster{ConnectionString: "no-colon-here"}
	if got := c.Name(); got != "" {
		t.Errorf("Name() = %q, want empty", got)
	}
}
