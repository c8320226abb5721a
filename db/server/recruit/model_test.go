package recruit

import (
	"fmt"
	"slices"
)

// The brute-force model the property tests check the package against. It
// shares no code with the package's policy arithmetic: it enumerates
// subsets and checks each against the policy's definition.

// exactly reports whether locs, as a whole, is a minimal set satisfying p:
// One is one process; Across(n, key, sub) is n groups of distinct key
// values, each exactly satisfying sub.
func exactly(p Policy, locs []Locality) bool {
	if len(p) == 0 {
		return len(locs) == 1
	}
	groups := map[string][]Locality{}
	for _, l := range locs {
		v := l.Value(p[0].Key)
		groups[v] = append(groups[v], l)
	}
	if len(groups) != p[0].Count {
		return false
	}
	for _, g := range groups {
		if !exactly(p[1:], g) {
			return false
		}
	}
	return true
}

// subsets calls f with every subset of size k of n items (as indices),
// stopping when f returns true; it reports whether f did.
func subsets(n, k int, f func([]int) bool) bool {
	idx := make([]int, 0, k)
	var rec func(start int) bool
	rec = func(start int) bool {
		if len(idx) == k {
			return f(idx)
		}
		for i := start; i < n; i++ {
			idx = append(idx, i)
			if rec(i + 1) {
				return true
			}
			idx = idx[:len(idx)-1]
		}
		return false
	}
	return rec(0)
}

func pickLocs(locs []Locality, idx []int) []Locality {
	out := make([]Locality, len(idx))
	for i, j := range idx {
		out[i] = locs[j]
	}
	return out
}

// modelSatisfiable reports whether some subset of locs exactly satisfies p.
func modelSatisfiable(p Policy, locs []Locality) bool {
	return subsets(len(locs), p.Replicas(), func(idx []int) bool { return exactly(p, pickLocs(locs, idx)) })
}

// modelTolerance is FaultTolerance by enumeration: the largest k such that
// every set of k failed zones (among zones) loses no data (resp. keeps the
// cluster available).
func modelTolerance(mode Mode, d Deployment, zones []string) (data, avail int) {
	dataOK := func(failed map[string]bool) bool {
		for _, t := range d.Teams {
			if !slices.ContainsFunc(t, func(s StorageServer) bool { return !failed[s.Locality.ZoneID()] }) {
				return false
			}
		}
		// Any set of logs exactly satisfying the policy may hold a commit.
		return !subsets(len(d.Logs), mode.LogPolicy.Replicas(), func(idx []int) bool {
			set := pickLocs(d.Logs, idx)
			if !exactly(mode.LogPolicy, set) {
				return false
			}
			return !slices.ContainsFunc(set, func(l Locality) bool { return !failed[l.ZoneID()] })
		})
	}
	availOK := func(failed map[string]bool) bool {
		if !dataOK(failed) {
			return false
		}
		alive := 0
		for _, z := range d.Coordinators {
			if !failed[z] {
				alive++
			}
		}
		if len(d.Coordinators) > 0 && alive <= len(d.Coordinators)/2 {
			return false
		}
		if d.Workers == nil {
			return true
		}
		var survivors []Locality
		for _, w := range d.Workers {
			if !w.Excluded && Fitness(w.Class, Log) < NeverAssign && !failed[w.Locality.ZoneID()] {
				survivors = append(survivors, w.Locality)
			}
		}
		return modelSatisfiable(mode.LogPolicy, survivors)
	}
	largest := func(ok func(map[string]bool) bool) int {
		k := 0
		for ; k <= len(zones); k++ {
			if subsets(len(zones), k, func(idx []int) bool {
				failed := map[string]bool{}
				for _, i := range idx {
					failed[zones[i]] = true
				}
				return !ok(failed)
			}) {
				break
			}
		}
		return k - 1
	}
	return max(largest(dataOK), 0), max(largest(availOK), 0)
}

// fitsRole is the package-independent statement of eligibility.
func fitsRole(w Worker, r Role) error {
	if w.Excluded {
		return fmt.Errorf("%s is excluded but holds %s", w.ID, r)
	}
	if Fitness(w.Class, r) == NeverAssign {
		return fmt.Errorf("%s (class %q) can never be %s", w.ID, w.Class, r)
	}
	return nil
}
