package layout

import (
	"cmp"
	"slices"

	"github.com/hashicorp/hcl/v2"

	"github.com/strata-db/strata/deployer/spec"
)

// CoordinatorCount is how many coordinators a mode wants, after
// FoundationDB's configuration guide: 1, 3 and 5 for single, double and
// triple (2R-1, so a majority survives R-1 zone failures), and 9 for
// three_data_hall (three in each hall, so losing a hall and one more zone
// leaves five of nine).
func CoordinatorCount(mode spec.Redundancy) int {
	switch mode {
	case spec.RedundancyDouble:
		return 3
	case spec.RedundancyTriple:
		return 5
	case spec.RedundancyThreeDataHall:
		return 9
	default:
		return 1
	}
}

// classPriority orders coordinator candidates as the FDB Kubernetes
// operator does: storage processes first (they have durable disks and are
// the most numerous, so coordinators do not compete with the transaction
// system for the scarce log and stateless processes), then log, then
// transaction, then the rest.
func classPriority(c spec.ProcessClass) int {
	switch c {
	case spec.ClassStorage:
		return 0
	case spec.ClassLog:
		return 1
	case spec.ClassTransaction:
		return 2
	case spec.ClassStateless:
		return 3
	default:
		return 4
	}
}

// coordinators resolves an explicit list or chooses coordinators.
func coordinators(s *spec.ClusterSpec, l *Layout) ([]string, hcl.Diagnostics) {
	if s.Cluster.Coordinators != nil {
		return explicitCoordinators(s, l)
	}
	return chooseCoordinators(s, l)
}

// chooseCoordinators picks CoordinatorCount processes, one per zone, and in
// three_data_hall at most a third of them per hall. Candidates are taken in
// order of class priority, then host name, then port, so the choice is
// deterministic and moves only when the hosts it depends on change. Greedy
// choice is enough: each zone holds at most one coordinator and belongs to
// one hall, so any candidate that fits never blocks a later one that would
// have fitted better.
func chooseCoordinators(s *spec.ClusterSpec, l *Layout) ([]string, hcl.Diagnostics) {
	mode := s.Cluster.Redundancy
	want := CoordinatorCount(mode)
	perHall := want
	if mode == spec.RedundancyThreeDataHall {
		perHall = want / 3
	}

	var candidates []*Process
	for i := range l.Hosts {
		for j := range l.Hosts[i].Processes {
			candidates = append(candidates, &l.Hosts[i].Processes[j])
		}
	}
	slices.SortFunc(candidates, func(a, b *Process) int {
		return cmp.Or(
			cmp.Compare(classPriority(a.Class), classPriority(b.Class)),
			cmp.Compare(a.Host, b.Host),
			cmp.Compare(a.Port, b.Port),
		)
	})

	zones, hallCount := set{}, map[string]int{}
	var chosen []string
	for _, p := range candidates {
		if len(chosen) == want {
			break
		}
		if _, used := zones[p.Locality.Zone]; used || hallCount[p.Locality.DataHall] >= perHall {
			continue
		}
		zones.add(p.Locality.Zone)
		hallCount[p.Locality.DataHall]++
		chosen = append(chosen, p.ID)
	}
	if len(chosen) < want {
		return nil, hcl.Diagnostics{tooFewZones(s, l, want, perHall)}
	}
	slices.Sort(chosen)
	return chosen, nil
}

func tooFewZones(s *spec.ClusterSpec, l *Layout, want, perHall int) *hcl.Diagnostic {
	mode := s.Cluster.Redundancy
	zones := set{}
	for _, h := range l.Hosts {
		if len(h.Processes) > 0 {
			zones.add(h.Locality.Zone)
		}
	}
	if mode == spec.RedundancyThreeDataHall {
		return errorf(s.Cluster.RedundancyRange, "Too few zones for coordinators",
			"three_data_hall needs %d coordinators, %d in each of 3 data halls, each in a different zone; the hosts with processes span %d zone(s): %s. Every hall needs at least %d zones.",
			want, perHall, len(zones), zones.String(), perHall)
	}
	return errorf(s.Cluster.RedundancyRange, "Too few zones for coordinators",
		"%s needs %d coordinators, each in a different zone, but the hosts with processes span %d zone(s): %s. Add hosts in other zones or lower the redundancy.",
		mode, want, len(zones), zones.String())
}

// explicitCoordinators resolves the listed "host:port" or "address:port"
// entries. A list against the advice (even, short, or sharing a zone) only
// warns: the operator may have reasons, such as a migration in progress.
func explicitCoordinators(s *spec.ClusterSpec, l *Layout) ([]string, hcl.Diagnostics) {
	rng := s.Cluster.CoordinatorsRange
	byKey := map[string]*Process{}
	for i := range l.Hosts {
		for j := range l.Hosts[i].Processes {
			p := &l.Hosts[i].Processes[j]
			byKey[p.ID] = p
			byKey[p.Endpoint()] = p
		}
	}
	var diags hcl.Diagnostics
	var chosen []string
	zones := map[string]string{}
	for _, entry := range s.Cluster.Coordinators {
		p, ok := byKey[entry]
		if !ok {
			diags = append(diags, errorf(rng, "Unknown coordinator",
				"%q is no process of this layout; name a process as host:port or address:port.", entry))
			continue
		}
		if prev, shared := zones[p.Locality.Zone]; shared {
			diags = append(diags, warnf(rng, "Coordinators share a zone",
				"%s and %s are both in zone %q; losing that zone loses both.", prev, p.ID, p.Locality.Zone))
		}
		zones[p.Locality.Zone] = p.ID
		if !slices.Contains(chosen, p.ID) {
			chosen = append(chosen, p.ID)
		}
	}
	if diags.HasErrors() {
		return nil, diags
	}
	want := CoordinatorCount(s.Cluster.Redundancy)
	switch {
	case len(chosen)%2 == 0:
		diags = append(diags, warnf(rng, "Even number of coordinators",
			"%d coordinators survive no more failures than %d; use an odd number.", len(chosen), len(chosen)-1))
	case len(chosen) < want:
		diags = append(diags, warnf(rng, "Fewer coordinators than recommended",
			"%s redundancy recommends %d coordinators; %d tolerate fewer failures.", s.Cluster.Redundancy, want, len(chosen)))
	}
	slices.Sort(chosen)
	return chosen, diags
}
