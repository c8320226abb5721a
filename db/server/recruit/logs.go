package recruit

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// logs recruits want logs (at least the policy's replica count): first the
// best set satisfying the log policy, then the best-fit remaining workers,
// previous logs first, spread over zones and halls. It recruits fewer when
// fewer workers are eligible.
func (r *recruiter) logs(want int) ([]string, error) {
	cands := r.eligible(Log)
	chosen, ok := r.satisfy(r.mode.LogPolicy, cands)
	if !ok {
		locs := make([]Locality, len(cands))
		for i, c := range cands {
			locs[i] = c.w.Locality
		}
		return nil, fmt.Errorf("recruiting logs: %s%s",
			shortfall(r.mode.Name, "logs", "fit worker", r.mode.LogPolicy, locs), r.census(Log))
	}
	taken := map[string]bool{}
	perZone, perHall := map[string]int{}, map[string]int{}
	take := func(c cand) {
		taken[c.w.ID] = true
		perZone[c.w.Locality.ZoneID()]++
		perHall[c.w.Locality.DataHall]++
	}
	for _, c := range chosen {
		take(c)
	}
	spread := func(a, b cand) int {
		return cmp.Or(
			cmp.Compare(a.fit, b.fit),
			cmp.Compare(r.notPreferred(Log, a), r.notPreferred(Log, b)),
			cmp.Compare(perZone[a.w.Locality.ZoneID()], perZone[b.w.Locality.ZoneID()]),
			cmp.Compare(perHall[a.w.Locality.DataHall], perHall[b.w.Locality.DataHall]),
			r.compare(Log)(a, b),
		)
	}
	for len(chosen) < want {
		rest := slices.DeleteFunc(slices.Clone(cands), func(c cand) bool { return taken[c.w.ID] })
		if len(rest) == 0 {
			break
		}
		best := slices.MinFunc(rest, spread)
		chosen = append(chosen, best)
		take(best)
	}
	ids := make([]string, len(chosen))
	for i, c := range chosen {
		ids[i] = c.w.ID
		r.load[c.w.ID]++
	}
	slices.Sort(ids)
	return ids, nil
}

// satisfy picks the best subset of cands that satisfies p exactly (p's
// replica count of workers), or reports that none does. One takes the best
// candidate; Across(n, key, sub) takes the best sub-selection within each
// value of key and keeps the n best of those. Choosing per group is optimal
// because the groups are disjoint.
func (r *recruiter) satisfy(p Policy, cands []cand) ([]cand, bool) {
	if len(cands) == 0 {
		return nil, false
	}
	if len(p) == 0 {
		return []cand{slices.MinFunc(cands, r.compare(Log))}, true
	}
	level := p[0]
	groups := map[string][]cand{}
	for _, c := range cands {
		v := c.w.Locality.Value(level.Key)
		groups[v] = append(groups[v], c)
	}
	var options [][]cand
	for _, v := range sortedKeys(groups) {
		if sel, ok := r.satisfy(p[1:], groups[v]); ok {
			options = append(options, sel)
		}
	}
	if len(options) < level.Count {
		return nil, false
	}
	slices.SortFunc(options, r.compareSelections)
	var out []cand
	for _, o := range options[:level.Count] {
		out = append(out, o...)
	}
	return out, true
}

// compareSelections orders disjoint log selections as compare orders
// workers: worst fitness, total fitness, fewest workers new to the role,
// least load, least load in the previous placement, smallest ID.
func (r *recruiter) compareSelections(a, b []cand) int {
	type score struct{ worst, sum, fresh, load, prior int }
	sc := func(s []cand) score {
		var out score
		for _, c := range s {
			out.worst = max(out.worst, int(c.fit))
			out.sum += int(c.fit)
			out.fresh += r.notPreferred(Log, c)
			out.load += r.load[c.w.ID]
			out.prior += r.priorLoad[c.w.ID]
		}
		return out
	}
	x, y := sc(a), sc(b)
	minID := func(s []cand) string {
		return slices.MinFunc(s, func(a, b cand) int { return strings.Compare(a.w.ID, b.w.ID) }).w.ID
	}
	return cmp.Or(
		cmp.Compare(x.worst, y.worst),
		cmp.Compare(x.sum, y.sum),
		cmp.Compare(x.fresh, y.fresh),
		cmp.Compare(x.load, y.load),
		cmp.Compare(x.prior, y.prior),
		strings.Compare(minID(a), minID(b)),
	)
}
