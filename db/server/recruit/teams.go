package recruit

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// StorageServer is a storage server as data distribution sees it.
type StorageServer struct {
	ID       string
	Locality Locality
	// Excluded servers are being drained: they join no new team and are
	// never chosen as a destination.
	Excluded bool
}

// Team is a storage team: the servers holding one replica each of the
// shards assigned to it, sorted by ID.
type Team []StorageServer

// IDs lists the members' IDs in order.
func (t Team) IDs() []string {
	ids := make([]string, len(t))
	for i, s := range t {
		ids[i] = s.ID
	}
	return ids
}

// String renders the team as "{s1 s2 s3}".
func (t Team) String() string {
	return "{" + strings.Join(t.IDs(), " ") + "}"
}

func (t Team) localities() []Locality {
	locs := make([]Locality, len(t))
	for i, s := range t {
		locs[i] = s.Locality
	}
	return locs
}

func (t Team) has(id string) bool {
	return slices.ContainsFunc(t, func(s StorageServer) bool { return s.ID == id })
}

// newTeam sorts members into a Team.
func newTeam(members []StorageServer) Team {
	t := Team(slices.Clone(members))
	slices.SortFunc(t, func(a, b StorageServer) int { return strings.Compare(a.ID, b.ID) })
	return t
}

// TeamOf builds the Team of the servers named by ids (as data distribution
// stores teams: by server ID).
func TeamOf(ids []string, servers []StorageServer) (Team, error) {
	byID := map[string]StorageServer{}
	for _, s := range servers {
		byID[s.ID] = s
	}
	var members []StorageServer
	for _, id := range ids {
		s, ok := byID[id]
		if !ok {
			return nil, fmt.Errorf("team member %q is not a known storage server", id)
		}
		members = append(members, s)
	}
	return newTeam(members), nil
}

// ValidTeam checks that t has the mode's replica count of distinct servers
// in distinct zones (FoundationDB never puts two replicas in one zone) and
// satisfies the mode's storage policy. It does not look at exclusion or
// liveness; Healthy does.
func ValidTeam(t Team, mode Mode) error {
	if err := mode.validate(); err != nil {
		return err
	}
	if len(t) != mode.StorageReplicas {
		return fmt.Errorf("team %s has %d members; %s needs %d", t, len(t), mode.Name, mode.StorageReplicas)
	}
	for i, a := range t {
		for _, b := range t[i+1:] {
			if a.ID == b.ID {
				return fmt.Errorf("team %s holds %s twice", t, a.ID)
			}
			if a.Locality.ZoneID() == b.Locality.ZoneID() {
				return fmt.Errorf("team %s: %s and %s share zone %s", t, a.ID, b.ID, label(a.Locality.ZoneID()))
			}
		}
	}
	if !mode.StoragePolicy.Satisfied(t.localities()) {
		return fmt.Errorf("team %s: %s", t,
			shortfall(mode.Name, "a team's replicas", "member", mode.StoragePolicy, t.localities()))
	}
	return nil
}

// Healthy reports whether every member of t is live and none is excluded:
// a team that is not healthy needs its shards moved (fdb.md §6.5).
func Healthy(t Team, live map[string]bool) bool {
	if len(t) == 0 {
		return false
	}
	for _, s := range t {
		if !live[s.ID] || s.Excluded {
			return false
		}
	}
	return true
}

// compatible reports whether a and b may sit in one team: different zones
// and, for the (single-level) storage policy, different values of its key.
func compatible(a, b StorageServer, p Policy) bool {
	if a.Locality.ZoneID() == b.Locality.ZoneID() {
		return false
	}
	for _, level := range p {
		if a.Locality.Value(level.Key) == b.Locality.Value(level.Key) {
			return false
		}
	}
	return true
}

// ChooseDestination picks the server to replace the member lost of t (dead,
// excluded or being moved off): the least loaded server (load is keyed by
// server ID; missing means 0) that is not excluded, not in t, and keeps the
// team valid for mode; ties go to the smaller ID. servers should hold only
// live servers.
func ChooseDestination(t Team, lost string, servers []StorageServer, mode Mode, load map[string]int64) (string, error) {
	if err := mode.validate(); err != nil {
		return "", err
	}
	if !t.has(lost) {
		return "", fmt.Errorf("%s is not a member of team %s", lost, t)
	}
	rest := slices.DeleteFunc(slices.Clone(t), func(s StorageServer) bool { return s.ID == lost })
	var best *StorageServer
	excluded, clash, others := 0, 0, 0
	for i := range servers {
		s := &servers[i]
		switch {
		case t.has(s.ID):
			continue
		case s.Excluded:
			excluded++
		case !fitsWith(*s, rest, mode.StoragePolicy):
			clash++
		case best == nil || load[s.ID] < load[best.ID] || (load[s.ID] == load[best.ID] && s.ID < best.ID):
			best = s
		}
		others++
	}
	if best == nil {
		return "", fmt.Errorf("no storage server can replace %s in team %s (%s): of %d other servers, %d %s excluded and %d share a %s with %s",
			lost, t, mode.Name, others, excluded, isAre(excluded), clash, policyKeys(mode.StoragePolicy), Team(rest))
	}
	return best.ID, nil
}

func fitsWith(s StorageServer, members []StorageServer, p Policy) bool {
	for _, m := range members {
		if !compatible(s, m, p) {
			return false
		}
	}
	return true
}

// policyKeys names what team members may not share: "zone", or "zone or
// data hall".
func policyKeys(p Policy) string {
	names := []string{KeyZone.noun(1)}
	for _, level := range p {
		if level.Key != KeyZone {
			names = append(names, level.Key.noun(1))
		}
	}
	return strings.Join(names, " or ")
}

// DesiredTeamsPerServer is FoundationDB's DESIRED_TEAMS_PER_SERVER: by
// default BuildTeams makes this many teams per usable server.
const DesiredTeamsPerServer = 5

// BuildTeams makes want storage teams (DesiredTeamsPerServer per usable
// server when want <= 0) from the servers that are not excluded; it is
// ExtendTeams with no existing teams.
func BuildTeams(servers []StorageServer, mode Mode, want int) ([]Team, error) {
	return ExtendTeams(nil, servers, mode, want)
}

// ExtendTeams adds teams to existing until want teams (DesiredTeamsPerServer
// per usable server when want <= 0) are made only of usable servers (in
// servers and not excluded), and returns the added teams only, sorted.
//
// Every team is valid for mode (ValidTeam) and distinct from the others.
// Teams are built greedily: each new team starts from the usable server in
// fewest teams and adds, one at a time, the compatible server in fewest
// teams, preferring servers it shares fewest teams with, so servers end in
// roughly the same number of teams and team overlap stays small; ties go to
// the smaller ID, so the result is deterministic. A final pass then moves
// new teams' memberships from servers in the most teams to servers in the
// fewest while the policy allows (existing teams are never changed). Fewer than want teams are
// returned when no further distinct team exists (or a bounded search finds
// none); an error when not even one team can be formed.
func ExtendTeams(existing []Team, servers []StorageServer, mode Mode, want int) ([]Team, error) {
	if err := mode.validate(); err != nil {
		return nil, err
	}
	if len(mode.StoragePolicy) > 1 {
		return nil, fmt.Errorf("team building supports single-level storage policies, not %s", mode.StoragePolicy)
	}
	b := newTeamBuilder(servers, mode)
	if want <= 0 {
		want = DesiredTeamsPerServer * len(b.srv)
	}
	if len(b.srv) == 0 {
		return nil, b.impossible()
	}
	have := b.addExisting(existing)
	var added [][]int
	for have+len(added) < want {
		members, ok := b.next()
		if !ok {
			break
		}
		added = append(added, members)
	}
	if have+len(added) == 0 && want > 0 {
		return nil, b.impossible()
	}
	b.rebalance(added)
	teams := make([]Team, len(added))
	for i, members := range added {
		teams[i] = b.team(members)
	}
	slices.SortFunc(teams, func(x, y Team) int { return slices.Compare(x.IDs(), y.IDs()) })
	return teams, nil
}

// teamBuilder is one ExtendTeams call's state. Servers are referred to by
// their index in srv (sorted by ID), so ties on index are ties on ID.
type teamBuilder struct {
	mode     Mode
	srv      []StorageServer
	excluded int
	index    map[string]int
	count    []int          // teams each server is in
	pairs    map[[2]int]int // teams each pair of servers shares
	seen     map[string]bool
	budget   int // search steps left for the team being built
}

func newTeamBuilder(servers []StorageServer, mode Mode) *teamBuilder {
	b := &teamBuilder{mode: mode, index: map[string]int{}, pairs: map[[2]int]int{}, seen: map[string]bool{}}
	for _, s := range servers {
		if s.Excluded {
			b.excluded++
			continue
		}
		b.srv = append(b.srv, s)
	}
	slices.SortFunc(b.srv, func(a, c StorageServer) int { return strings.Compare(a.ID, c.ID) })
	b.srv = slices.CompactFunc(b.srv, func(a, c StorageServer) bool { return a.ID == c.ID })
	for i, s := range b.srv {
		b.index[s.ID] = i
	}
	b.count = make([]int, len(b.srv))
	return b
}

// addExisting records the existing teams made only of usable servers and
// returns how many there are.
func (b *teamBuilder) addExisting(existing []Team) int {
	n := 0
	for _, t := range existing {
		members := make([]int, 0, len(t))
		for _, s := range t {
			if i, ok := b.index[s.ID]; ok {
				members = append(members, i)
			}
		}
		if len(members) != len(t) || len(t) == 0 {
			continue
		}
		slices.Sort(members)
		if b.seen[key(members)] {
			continue
		}
		b.record(members)
		n++
	}
	return n
}

func key(members []int) string {
	return fmt.Sprint(members)
}

func (b *teamBuilder) record(members []int) {
	b.account(members, 1)
}

// account adds (delta 1) or removes (delta -1) a team's bookkeeping.
func (b *teamBuilder) account(members []int, delta int) {
	b.seen[key(members)] = delta > 0
	for i, m := range members {
		b.count[m] += delta
		for _, o := range members[i+1:] {
			b.pairs[pair(m, o)] += delta
		}
	}
}

// rebalance evens out the team counts of the servers: while some server
// is in at least two teams more than another, and a new team holding the
// first but not the second stays valid and distinct with the second in
// its place, it swaps them. Each swap lowers the sum of squared counts, so
// the pass ends; a budget of team checks bounds its cost when the
// imbalance cannot be fixed (uneven zones).
func (b *teamBuilder) rebalance(added [][]int) {
	budget := 20000 + 50*len(added)
	for budget > 0 {
		order := make([]int, len(b.srv))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(x, y int) int { return cmp.Compare(b.count[x], b.count[y]) })
		if !b.swapOnce(added, order, &budget) {
			return
		}
	}
}

// swapOnce makes the first improving swap, scanning the most loaded
// servers against the least loaded ones.
func (b *teamBuilder) swapOnce(added [][]int, order []int, budget *int) bool {
	for hiIdx := len(order) - 1; hiIdx >= 0; hiIdx-- {
		hi := order[hiIdx]
		for _, lo := range order {
			if b.count[hi]-b.count[lo] < 2 {
				break
			}
			for t := range added {
				if *budget--; *budget <= 0 {
					return false
				}
				if b.trySwap(added, t, hi, lo) {
					return true
				}
			}
		}
	}
	return false
}

// trySwap replaces hi by lo in added[t] if the result is a valid new team.
func (b *teamBuilder) trySwap(added [][]int, t, hi, lo int) bool {
	members := added[t]
	i := slices.Index(members, hi)
	if i < 0 || slices.Contains(members, lo) {
		return false
	}
	rest := slices.Delete(slices.Clone(members), i, i+1)
	if !b.fits(lo, rest) {
		return false
	}
	swapped := slices.Sorted(slices.Values(append(rest, lo)))
	if b.seen[key(swapped)] {
		return false
	}
	b.account(members, -1)
	delete(b.seen, key(members))
	b.account(swapped, 1)
	added[t] = swapped
	return true
}

func pair(a, c int) [2]int {
	return [2]int{min(a, c), max(a, c)}
}

func (b *teamBuilder) team(members []int) Team {
	out := make([]StorageServer, len(members))
	for i, m := range members {
		out[i] = b.srv[m]
	}
	return newTeam(out)
}

// next builds and records one new team, or reports that the search found
// none. Its search is bounded so that asking for more teams than exist
// costs O(budget) per call rather than the number of all combinations.
func (b *teamBuilder) next() ([]int, bool) {
	b.budget = 1000 + 10*len(b.srv)
	seeds := make([]int, len(b.srv))
	for i := range seeds {
		seeds[i] = i
	}
	slices.SortStableFunc(seeds, func(x, y int) int { return cmp.Compare(b.count[x], b.count[y]) })
	for _, s := range seeds {
		if members, ok := b.grow([]int{s}); ok {
			slices.Sort(members)
			b.record(members)
			return members, true
		}
		if b.budget <= 0 {
			break
		}
	}
	return nil, false
}

// grow completes members into a team not built before, depth first, best
// candidate first.
func (b *teamBuilder) grow(members []int) ([]int, bool) {
	if len(members) == b.mode.StorageReplicas {
		sorted := slices.Sorted(slices.Values(members))
		return sorted, !b.seen[key(sorted)]
	}
	if b.budget--; b.budget <= 0 {
		return nil, false
	}
	// Each candidate's rank: teams it is in, teams it shares with members,
	// index (ID).
	type ranked struct{ count, overlap, c int }
	var cands []ranked
	for c := range b.srv {
		if !b.fits(c, members) {
			continue
		}
		r := ranked{count: b.count[c], c: c}
		for _, m := range members {
			r.overlap += b.pairs[pair(c, m)]
		}
		cands = append(cands, r)
	}
	slices.SortFunc(cands, func(x, y ranked) int {
		return cmp.Or(cmp.Compare(x.count, y.count), cmp.Compare(x.overlap, y.overlap), cmp.Compare(x.c, y.c))
	})
	for _, r := range cands {
		if t, ok := b.grow(append(slices.Clip(members), r.c)); ok {
			return t, true
		}
		if b.budget <= 0 {
			break
		}
	}
	return nil, false
}

func (b *teamBuilder) fits(c int, members []int) bool {
	for _, m := range members {
		if m == c || !compatible(b.srv[c], b.srv[m], b.mode.StoragePolicy) {
			return false
		}
	}
	return true
}

// impossible explains why no team could be formed.
func (b *teamBuilder) impossible() error {
	if len(b.srv) == 0 {
		return fmt.Errorf("building storage teams: no usable storage server (%d excluded)", b.excluded)
	}
	locs := make([]Locality, len(b.srv))
	for i, s := range b.srv {
		locs[i] = s.Locality
	}
	msg := fmt.Sprintf("%s: no team of %d servers in distinct zones satisfies %s",
		b.mode.Name, b.mode.StorageReplicas, b.mode.StoragePolicy)
	// The policy first, then the distinct zones every mode requires.
	for _, p := range []Policy{b.mode.StoragePolicy, {{b.mode.StorageReplicas, KeyZone}}} {
		if !p.Satisfied(locs) {
			msg = shortfall(b.mode.Name, "a team's replicas", "usable storage server", p, locs)
			break
		}
	}
	if b.excluded > 0 {
		msg += fmt.Sprintf(" (excluded servers not counted: %d)", b.excluded)
	}
	return fmt.Errorf("building storage teams: %s", msg)
}
