package recruit

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

// Random clusters: a few zones, each in one data hall (the domains nest),
// processes of every class that matters, some excluded.

var classGen = rapid.SampledFrom([]string{
	ClassLog, ClassTransaction, ClassStorage, ClassStateless, ClassUnset,
	ClassCommitProxy, ClassResolution, ClassMaster, ClassCoordinator,
})

var modeGen = rapid.Custom(func(t *rapid.T) Mode {
	m, err := ParseMode(rapid.SampledFrom(ModeNames()).Draw(t, "mode"))
	if err != nil {
		t.Fatal(err)
	}
	return m
})

// zoneHalls draws up to maxZones zones z0.. and a data hall for each.
func zoneHalls(t *rapid.T, maxZones int) []Locality {
	n := rapid.IntRange(1, maxZones).Draw(t, "zones")
	halls := rapid.IntRange(1, 4).Draw(t, "halls")
	out := make([]Locality, n)
	for i := range out {
		h := rapid.IntRange(0, halls-1).Draw(t, "hall")
		out[i] = Locality{DC: "dc1", DataHall: fmt.Sprintf("h%d", h), Zone: fmt.Sprintf("z%d", i)}
	}
	return out
}

func workersGen(t *rapid.T, zones []Locality, maxWorkers int) []Worker {
	n := rapid.IntRange(0, maxWorkers).Draw(t, "workers")
	ws := make([]Worker, n)
	for i := range ws {
		loc := rapid.SampledFrom(zones).Draw(t, "zone")
		loc.Machine = fmt.Sprintf("m%d", i)
		ws[i] = Worker{
			ID:       fmt.Sprintf("w%02d", i),
			Class:    classGen.Draw(t, "class"),
			Locality: loc,
			Excluded: rapid.IntRange(0, 5).Draw(t, "excluded") == 0,
		}
	}
	return ws
}

func countsGen(t *rapid.T) Counts {
	return Counts{
		CommitProxies: rapid.IntRange(0, 4).Draw(t, "cp"),
		GRVProxies:    rapid.IntRange(0, 3).Draw(t, "grv"),
		Resolvers:     rapid.IntRange(0, 3).Draw(t, "resolvers"),
		Logs:          rapid.IntRange(0, 6).Draw(t, "logs"),
	}
}

func eligibleFor(ws []Worker, r Role) []Worker {
	return slices.DeleteFunc(slices.Clone(ws), func(w Worker) bool { return fitsRole(w, r) != nil })
}

func locsOf(ws []Worker) []Locality {
	out := make([]Locality, len(ws))
	for i, w := range ws {
		out[i] = w.Locality
	}
	return out
}

// TestRecruitProperties checks every placement Recruit makes, and every
// refusal, against the rules: eligibility, the log policy (by brute force),
// distinct workers per role, counts, fitness first, independence from the
// workers' order, and that a placement is a fixed point of its own
// preference.
func TestRecruitProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		mode := modeGen.Draw(t, "mode")
		ws := workersGen(t, zoneHalls(t, 6), 12)
		counts := countsGen(t)
		p, err := Recruit(ws, mode, counts, nil)
		logCands := eligibleFor(ws, Log)
		feasible := modelSatisfiable(mode.LogPolicy, locsOf(logCands))
		if err != nil {
			if feasible {
				t.Fatalf("Recruit refused a feasible layout: %v", err)
			}
			return
		}
		if !feasible {
			t.Fatalf("Recruit placed logs %v although no subset satisfies %s", p.Logs, mode.LogPolicy)
		}
		checkPlacement(t, ws, mode, counts.WithDefaults(mode), p)

		shuffled := rapid.Permutation(ws).Draw(t, "shuffled")
		again, err := Recruit(shuffled, mode, counts, nil)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(p, again); diff != "" {
			t.Fatalf("placement depends on the workers' order (-first +shuffled):\n%s", diff)
		}
		fixed, err := Recruit(ws, mode, counts, &p)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(p, fixed); diff != "" {
			t.Fatalf("preferring a placement changed it (-placement +again):\n%s", diff)
		}
	})
}

func checkPlacement(t *rapid.T, ws []Worker, mode Mode, counts Counts, p Placement) {
	byID := map[string]Worker{}
	for _, w := range ws {
		byID[w.ID] = w
	}
	want := map[Role]int{Sequencer: 1, CommitProxy: counts.CommitProxies, GRVProxy: counts.GRVProxies,
		Resolver: counts.Resolvers, Log: counts.Logs}
	for _, rl := range p.lists() {
		eligible := eligibleFor(ws, rl.role)
		if n := min(want[rl.role], len(eligible)); len(rl.ids) != n {
			t.Fatalf("%s: %d recruited, want min(%d asked, %d eligible)", rl.role, len(rl.ids), want[rl.role], len(eligible))
		}
		if len(slices.Compact(slices.Clone(rl.ids))) != len(rl.ids) {
			t.Fatalf("%s: a worker recruited twice: %v", rl.role, rl.ids)
		}
		for _, id := range rl.ids {
			if err := fitsRole(byID[id], rl.role); err != nil {
				t.Fatal(err)
			}
		}
		checkFitnessFirst(t, rl.role, rl.ids, eligible, mode)
	}
	var logs []Locality
	for _, id := range p.Logs {
		logs = append(logs, byID[id].Locality)
	}
	if !modelSatisfiable(mode.LogPolicy, logs) {
		t.Fatalf("logs %v do not satisfy %s", p.Logs, mode.LogPolicy)
	}
}

// checkFitnessFirst: no unchosen eligible worker is strictly fitter than a
// chosen one that it could replace. For logs, replacing must keep the log
// policy satisfiable.
func checkFitnessFirst(t *rapid.T, role Role, ids []string, eligible []Worker, mode Mode) {
	chosen := map[string]bool{}
	for _, id := range ids {
		chosen[id] = true
	}
	for _, c := range eligible {
		if !chosen[c.ID] {
			continue
		}
		for _, u := range eligible {
			if chosen[u.ID] || Fitness(u.Class, role) >= Fitness(c.Class, role) {
				continue
			}
			if role == Log {
				var swapped []Locality
				for _, w := range eligible {
					if (chosen[w.ID] && w.ID != c.ID) || w.ID == u.ID {
						swapped = append(swapped, w.Locality)
					}
				}
				if !modelSatisfiable(mode.LogPolicy, swapped) {
					continue
				}
			}
			t.Fatalf("%s: chose %s (%s fit) over %s (%s fit)", role, c.ID, Fitness(c.Class, role), u.ID, Fitness(u.Class, role))
		}
	}
}

// TestRecruitExcludingKeepsOtherLogs: excluding one log's worker and
// recruiting with the old placement preferred replaces that log only; the
// other logs stay (checked for the single-level log policies, where any
// survivor set that satisfied the policy with the victim still extends).
func TestRecruitExcludingKeepsOtherLogs(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		mode := modeGen.Draw(t, "mode")
		if len(mode.LogPolicy) > 1 {
			t.Skip("nested log policy")
		}
		ws := workersGen(t, zoneHalls(t, 6), 12)
		counts := countsGen(t)
		p, err := Recruit(ws, mode, counts, nil)
		if err != nil {
			t.Skip("infeasible layout")
		}
		victim := rapid.SampledFrom(p.Logs).Draw(t, "victim")
		for i := range ws {
			if ws[i].ID == victim {
				ws[i].Excluded = true
			}
		}
		q, err := Recruit(ws, mode, counts, &p)
		if err != nil {
			return // the exclusion made the layout infeasible
		}
		for _, id := range p.Logs {
			if id != victim && !slices.Contains(q.Logs, id) {
				t.Fatalf("excluding %s moved log %s: %v -> %v", victim, id, p.Logs, q.Logs)
			}
		}
	})
}

// TestTeamProperties: every team is valid, distinct and made of usable
// servers; the count is want or every distinct valid team; the result does
// not depend on the input order; with as many servers in each zone,
// servers are in nearly equal numbers of teams.
func TestTeamProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		mode := modeGen.Draw(t, "mode")
		zones := zoneHalls(t, 7)
		perZone := rapid.IntRange(1, 3).Draw(t, "perZone")
		even := rapid.Bool().Draw(t, "even")
		var servers []StorageServer
		for i, z := range zones {
			n := perZone
			if !even {
				n = rapid.IntRange(0, 3).Draw(t, "n")
			}
			for j := range n {
				z.Machine = fmt.Sprintf("m%d-%d", i, j)
				servers = append(servers, StorageServer{ID: fmt.Sprintf("s%d-%d", i, j), Locality: z,
					Excluded: !even && rapid.IntRange(0, 6).Draw(t, "excluded") == 0})
			}
		}
		want := rapid.IntRange(0, 40).Draw(t, "want")
		teams, err := BuildTeams(servers, mode, want)
		usable := slices.DeleteFunc(slices.Clone(servers), func(s StorageServer) bool { return s.Excluded })
		possible := countValidTeams(usable, mode)
		if err != nil {
			if possible > 0 {
				t.Fatalf("BuildTeams failed with %d valid teams possible: %v", possible, err)
			}
			return
		}
		if want <= 0 {
			want = DesiredTeamsPerServer * len(usable)
		}
		checkTeams(t, teams, mode)
		if len(teams) != min(want, possible) {
			t.Fatalf("%d teams, want min(%d asked, %d possible)", len(teams), want, possible)
		}
		shuffled, err := BuildTeams(rapid.Permutation(servers).Draw(t, "shuffled"), mode, want)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(teams, shuffled); diff != "" {
			t.Fatalf("teams depend on the input order:\n%s", diff)
		}
		if even && isBalancedLayout(usable, mode) {
			checkBalance(t, teams)
		}
	})
}

func checkTeams(t *rapid.T, teams []Team, mode Mode) {
	seen := map[string]bool{}
	for _, team := range teams {
		if err := ValidTeam(team, mode); err != nil {
			t.Fatal(err)
		}
		for _, s := range team {
			if s.Excluded {
				t.Fatalf("team %s holds excluded %s", team, s.ID)
			}
		}
		if seen[team.String()] {
			t.Fatalf("team %s built twice", team)
		}
		seen[team.String()] = true
	}
}

// countValidTeams counts the distinct valid teams of servers, by brute
// force.
func countValidTeams(servers []StorageServer, mode Mode) int {
	n := 0
	subsets(len(servers), mode.StorageReplicas, func(idx []int) bool {
		var t []StorageServer
		for _, i := range idx {
			t = append(t, servers[i])
		}
		if ValidTeam(newTeam(t), mode) == nil {
			n++
		}
		return false
	})
	return n
}

// isBalancedLayout: every policy group (zone, or hall for three_data_hall)
// holds the same number of servers, so a perfectly even assignment exists.
func isBalancedLayout(servers []StorageServer, mode Mode) bool {
	key := KeyZone
	if len(mode.StoragePolicy) > 0 {
		key = mode.StoragePolicy[0].Key
	}
	per := map[string]int{}
	for _, s := range servers {
		per[s.Locality.Value(key)]++
	}
	first := -1
	for _, n := range per {
		if first >= 0 && n != first {
			return false
		}
		first = n
	}
	return true
}

// checkBalance: the servers' team counts differ by at most one.
func checkBalance(t *rapid.T, teams []Team) {
	per := map[string]int{}
	for _, team := range teams {
		for _, id := range team.IDs() {
			per[id]++
		}
	}
	lo, hi := -1, 0
	for _, n := range per {
		hi = max(hi, n)
		if lo < 0 || n < lo {
			lo = n
		}
	}
	if hi-lo > 1 {
		t.Fatalf("unbalanced: servers in %d to %d teams: %v", lo, hi, per)
	}
}

// TestChooseDestinationProperties compares ChooseDestination with a brute
// force over every server: the result keeps the team valid, is usable and
// least loaded; an error means no server would do.
func TestChooseDestinationProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		mode := modeGen.Draw(t, "mode")
		zones := zoneHalls(t, 6)
		var servers []StorageServer
		for i := range rapid.IntRange(1, 12).Draw(t, "servers") {
			z := rapid.SampledFrom(zones).Draw(t, "zone")
			servers = append(servers, StorageServer{ID: fmt.Sprintf("s%02d", i), Locality: z,
				Excluded: rapid.IntRange(0, 5).Draw(t, "excluded") == 0})
		}
		teams, err := BuildTeams(servers, mode, 0)
		if err != nil {
			t.Skip("no team possible")
		}
		team := rapid.SampledFrom(teams).Draw(t, "team")
		lost := rapid.SampledFrom(team.IDs()).Draw(t, "lost")
		load := map[string]int64{}
		for _, s := range servers {
			load[s.ID] = int64(rapid.IntRange(0, 3).Draw(t, "load"))
		}
		got, err := ChooseDestination(team, lost, servers, mode, load)
		best := ""
		for _, s := range servers {
			if s.Excluded || team.has(s.ID) {
				continue
			}
			cand := slices.DeleteFunc(slices.Clone(team), func(m StorageServer) bool { return m.ID == lost })
			if ValidTeam(newTeam(append(cand, s)), mode) != nil {
				continue
			}
			if best == "" || load[s.ID] < load[best] || (load[s.ID] == load[best] && s.ID < best) {
				best = s.ID
			}
		}
		if err != nil {
			if best != "" {
				t.Fatalf("ChooseDestination failed but %s would do: %v", best, err)
			}
			return
		}
		if got != best {
			t.Fatalf("ChooseDestination = %s, brute force says %s", got, best)
		}
	})
}

// TestFaultToleranceMatchesModel compares FaultTolerance with enumeration
// of every set of failed zones, on recruited logs and built teams.
func TestFaultToleranceMatchesModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		mode := modeGen.Draw(t, "mode")
		zones := zoneHalls(t, 6)
		ws := workersGen(t, zones, 10)
		p, err := Recruit(ws, mode, countsGen(t), nil)
		if err != nil {
			t.Skip("infeasible layout")
		}
		var d Deployment
		byID := map[string]Worker{}
		var servers []StorageServer
		for _, w := range ws {
			byID[w.ID] = w
			servers = append(servers, StorageServer{ID: w.ID, Locality: w.Locality, Excluded: w.Excluded})
		}
		for _, id := range p.Logs {
			d.Logs = append(d.Logs, byID[id].Locality)
		}
		if teams, err := BuildTeams(servers, mode, rapid.IntRange(1, 6).Draw(t, "teams")); err == nil {
			for _, team := range teams {
				// Drop a member now and then: only live members count.
				if rapid.IntRange(0, 4).Draw(t, "drop") == 0 {
					team = team[1:]
				}
				d.Teams = append(d.Teams, team)
			}
		}
		for range rapid.IntRange(0, 5).Draw(t, "coordinators") {
			d.Coordinators = append(d.Coordinators, rapid.SampledFrom(zones).Draw(t, "coordinator").Zone)
		}
		if rapid.Bool().Draw(t, "withWorkers") {
			d.Workers = ws
		}
		var names []string
		for _, z := range zones {
			names = append(names, z.Zone)
		}
		got := FaultTolerance(mode, d)
		data, avail := modelTolerance(mode, d, names)
		if got.MaxZoneFailuresWithoutLosingData != data || got.MaxZoneFailuresWithoutLosingAvailability != avail {
			t.Fatalf("FaultTolerance = data %d (%s), availability %d (%s); enumeration says %d, %d",
				got.MaxZoneFailuresWithoutLosingData, got.DataLimit,
				got.MaxZoneFailuresWithoutLosingAvailability, got.AvailabilityLimit, data, avail)
		}
	})
}

// TestExtendTeams: extending keeps existing teams, adds only new distinct
// valid ones, and balances counts over old and new teams together.
func TestExtendTeams(t *testing.T) {
	m, err := ParseMode(ModeTriple)
	if err != nil {
		t.Fatal(err)
	}
	var servers []StorageServer
	for i := range 6 {
		servers = append(servers, StorageServer{ID: fmt.Sprintf("s%d", i), Locality: Locality{Zone: fmt.Sprintf("z%d", i)}})
	}
	first, err := BuildTeams(servers[:3], m, 0)
	if err != nil || len(first) != 1 {
		t.Fatalf("BuildTeams(3 servers) = %v, %v; want one team", first, err)
	}
	added, err := ExtendTeams(first, servers, m, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(added) != 4 {
		t.Fatalf("added %d teams, want 4 (5 in all)", len(added))
	}
	all := append(slices.Clone(first), added...)
	per := map[string]int{}
	seen := map[string]bool{}
	for _, team := range all {
		if err := ValidTeam(team, m); err != nil {
			t.Fatal(err)
		}
		if seen[team.String()] {
			t.Fatalf("team %s twice", team)
		}
		seen[team.String()] = true
		for _, id := range team.IDs() {
			per[id]++
		}
	}
	// 5 teams x 3 = 15 memberships over 6 servers: 2 or 3 each.
	for id, n := range per {
		if n < 2 || n > 3 {
			t.Errorf("%s is in %d teams: %v", id, n, per)
		}
	}
	// An existing team with an excluded member does not count.
	servers[0].Excluded = true
	more, err := ExtendTeams(all, servers, m, 5)
	if err != nil {
		t.Fatal(err)
	}
	for _, team := range more {
		if team.has("s0") || seen[team.String()] {
			t.Fatalf("new team %s reuses an excluded server or an existing team", team)
		}
	}
	kept := 0
	for _, team := range all {
		if !team.has("s0") {
			kept++
		}
	}
	if kept+len(more) != 5 {
		t.Fatalf("%d usable existing + %d new teams, want 5", kept, len(more))
	}
}
