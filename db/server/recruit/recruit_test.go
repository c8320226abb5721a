package recruit

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseMode(t *testing.T) {
	for _, tc := range []struct {
		in                        string
		storage, logs, coords     int
		storagePolicy, logsPolicy string
	}{
		{"single", 1, 1, 1, "1", "1"},
		{"double", 2, 2, 3, "(zoneid^2x1)", "(zoneid^2x1)"},
		{" Triple ", 3, 3, 5, "(zoneid^3x1)", "(zoneid^3x1)"},
		{"three_data_hall", 3, 4, 9, "(data_hall^3x1)", "(data_hall^2x(zoneid^2x1))"},
	} {
		m, err := ParseMode(tc.in)
		if err != nil {
			t.Fatalf("ParseMode(%q): %v", tc.in, err)
		}
		got := []any{m.StorageReplicas, m.LogReplicas, m.Coordinators, m.StoragePolicy.String(), m.LogPolicy.String()}
		want := []any{tc.storage, tc.logs, tc.coords, tc.storagePolicy, tc.logsPolicy}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("ParseMode(%q) (-want +got):\n%s", tc.in, diff)
		}
		if err := m.validate(); err != nil {
			t.Errorf("ParseMode(%q) is invalid: %v", tc.in, err)
		}
		if d := DefaultCounts(m); d != (Counts{1, 1, 1, tc.logs}) {
			t.Errorf("DefaultCounts(%s) = %+v", tc.in, d)
		}
	}
	if _, err := ParseMode("quadruple"); err == nil || !strings.Contains(err.Error(), "single, double, triple, three_data_hall") {
		t.Errorf("ParseMode(quadruple) = %v; want an error listing the modes", err)
	}
}

func TestCountsWithDefaults(t *testing.T) {
	triple, _ := ParseMode(ModeTriple)
	got := Counts{CommitProxies: 3, Logs: 2}.WithDefaults(triple)
	if want := (Counts{CommitProxies: 3, GRVProxies: 1, Resolvers: 1, Logs: 3}); got != want {
		t.Errorf("WithDefaults = %+v, want %+v (logs raised to the replication factor)", got, want)
	}
}

// The zero Mode is refused everywhere rather than building teams of zero.
func TestZeroModeRefused(t *testing.T) {
	ws := []Worker{{ID: "a"}}
	if _, err := Recruit(ws, Mode{}, Counts{}, nil); err == nil {
		t.Error("Recruit with the zero Mode succeeded")
	}
	if _, err := BuildTeams([]StorageServer{{ID: "a"}}, Mode{}, 1); err == nil {
		t.Error("BuildTeams with the zero Mode succeeded")
	}
	if err := ValidTeam(Team{{ID: "a"}}, Mode{}); err == nil {
		t.Error("ValidTeam with the zero Mode succeeded")
	}
	if _, err := ChooseDestination(Team{{ID: "a"}}, "a", nil, Mode{}, nil); err == nil {
		t.Error("ChooseDestination with the zero Mode succeeded")
	}
	if ft := FaultTolerance(Mode{}, Deployment{}); ft.MaxZoneFailuresWithoutLosingData != 0 || ft.DataLimit == "" {
		t.Errorf("FaultTolerance with the zero Mode = %+v", ft)
	}
}

func TestPlacementRoles(t *testing.T) {
	p := Placement{Sequencer: "a", CommitProxies: []string{"a", "b"}, GRVProxies: []string{"b"},
		Resolvers: []string{"c"}, Logs: []string{"a", "c"}}
	want := map[string][]Role{"a": {Sequencer, CommitProxy, Log}, "b": {CommitProxy, GRVProxy}, "c": {Resolver, Log}}
	if diff := cmp.Diff(want, p.Roles()); diff != "" {
		t.Errorf("Roles (-want +got):\n%s", diff)
	}
}

// The error path for a role no worker can take is unreachable through
// Recruit once logs are placed (every log-capable class can run stateless
// roles), so it is checked directly.
func TestPickNoEligibleWorker(t *testing.T) {
	single, _ := ParseMode(ModeSingle)
	r, err := newRecruiter([]Worker{{ID: "c", Class: ClassCoordinator}, {ID: "x", Excluded: true}}, single, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.pick(Resolver, 1)
	want := "recruiting resolver: no worker can be a resolver (of 2 workers, 1 is excluded and 1 is of a class never fit for resolver: coordinator)"
	if err == nil || err.Error() != want {
		t.Errorf("pick = %v\nwant %s", err, want)
	}
}

func TestHealthyAndTeamOf(t *testing.T) {
	servers := []StorageServer{{ID: "a"}, {ID: "b"}, {ID: "c", Excluded: true}}
	team, err := TeamOf([]string{"b", "a"}, servers)
	if err != nil {
		t.Fatal(err)
	}
	if got := team.String(); got != "{a b}" {
		t.Errorf("TeamOf sorted = %s", got)
	}
	if !Healthy(team, map[string]bool{"a": true, "b": true}) {
		t.Error("live team not healthy")
	}
	if Healthy(team, map[string]bool{"a": true}) {
		t.Error("team with a dead member healthy")
	}
	withExcluded, _ := TeamOf([]string{"a", "c"}, servers)
	if Healthy(withExcluded, map[string]bool{"a": true, "c": true}) {
		t.Error("team with an excluded member healthy")
	}
	if Healthy(nil, nil) {
		t.Error("empty team healthy")
	}
	if _, err := TeamOf([]string{"a", "zz"}, servers); err == nil {
		t.Error("TeamOf with an unknown ID succeeded")
	}
}

func TestLocality(t *testing.T) {
	if z := (Locality{Machine: "m1"}).ZoneID(); z != "m1" {
		t.Errorf("zone defaults to machine: got %q", z)
	}
	l := Locality{DC: "d", DataHall: "h", Zone: "z", Machine: "m"}
	for key, want := range map[LocalityKey]string{KeyDC: "d", KeyDataHall: "h", KeyZone: "z", KeyMachine: "m", "other": ""} {
		if got := l.Value(key); got != want {
			t.Errorf("Value(%s) = %q, want %q", key, got, want)
		}
	}
}
