package recruit

import (
	"fmt"
	"slices"
	"strings"
)

// The policy arithmetic below assumes the failure domains nest: a zone lies
// in one data hall and one datacenter. Processes of one zone that report
// different halls make the answers optimistic, never wrong in the other
// direction for the flat (single-key) policies.

// Satisfied reports whether some subset of locs satisfies p.
func (p Policy) Satisfied(locs []Locality) bool {
	return p.breakCost(locs) > 0
}

// breakCost is the fewest zone failures after which no subset of locs
// satisfies p (0 when none does already). For One it is the number of
// zones holding a process; for Across(n, key, sub) the adversary must break
// all but n-1 of the key groups that satisfy sub, and breaks the cheapest.
func (p Policy) breakCost(locs []Locality) int {
	if len(p) == 0 {
		return len(distinct(locs, KeyZone))
	}
	level, sub := p[0], p[1:]
	var costs []int
	for _, group := range groupBy(locs, level.Key) {
		if c := sub.breakCost(group); c > 0 {
			costs = append(costs, c)
		}
	}
	if len(costs) < level.Count {
		return 0
	}
	slices.Sort(costs)
	total := 0
	for _, c := range costs[:len(costs)-level.Count+1] {
		total += c
	}
	return total
}

// minZones is the fewest zones a set satisfying p can span (each Across
// level over zones or a coarser key multiplies; machine levels nest inside
// a zone).
func (p Policy) minZones() int {
	n := 1
	for _, level := range p {
		if level.Key != KeyMachine {
			n *= level.Count
		}
	}
	return n
}

// distinct returns the sorted distinct values of key among locs.
func distinct(locs []Locality, key LocalityKey) []string {
	var vals []string
	for _, l := range locs {
		vals = append(vals, l.Value(key))
	}
	slices.Sort(vals)
	return slices.Compact(vals)
}

// groupBy splits locs by their value of key, in order of that value.
func groupBy(locs []Locality, key LocalityKey) [][]Locality {
	byVal := map[string][]Locality{}
	for _, l := range locs {
		byVal[l.Value(key)] = append(byVal[l.Value(key)], l)
	}
	var out [][]Locality
	for _, v := range sortedKeys(byVal) {
		out = append(out, byVal[v])
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// label shows a locality value in a message; the unset value is "(none)".
func label(v string) string {
	if v == "" {
		return "(none)"
	}
	return v
}

func labels(vals []string) string {
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = label(v)
	}
	return strings.Join(out, ", ")
}

// shortfall explains why no subset of locs satisfies p, as
// "<mode> needs <what> in 3 distinct zones; only 2 zones have a <subject>:
// z1, z2". It handles One and policies of one or two levels, which are all
// the supported modes have.
func shortfall(mode, what, subject string, p Policy, locs []Locality) string {
	switch len(p) {
	case 0:
		return fmt.Sprintf("%s needs a %s for its %s; there is none", mode, subject, what)
	case 1:
		return flatShortfall(mode, what, subject, p[0], locs)
	case 2:
		return nestedShortfall(mode, what, subject, p[0], p[1], locs)
	}
	return fmt.Sprintf("%s needs %s satisfying %s; the %ss available do not", mode, what, p, subject)
}

func flatShortfall(mode, what, subject string, level Across, locs []Locality) string {
	have := distinct(locs, level.Key)
	msg := fmt.Sprintf("%s needs %s in %d distinct %s; ", mode, what, level.Count, level.Key.noun(level.Count))
	switch len(have) {
	case 0:
		return msg + fmt.Sprintf("no %s has a %s", level.Key.noun(1), subject)
	case 1:
		return msg + fmt.Sprintf("only 1 %s has a %s: %s", level.Key.noun(1), subject, labels(have))
	}
	return msg + fmt.Sprintf("only %d %s have a %s: %s", len(have), level.Key.noun(2), subject, labels(have))
}

func nestedShortfall(mode, what, subject string, outer, inner Across, locs []Locality) string {
	var enough, short []string
	for _, group := range groupBy(locs, outer.Key) {
		in := distinct(group, inner.Key)
		entry := fmt.Sprintf("%s (%s %s)", label(group[0].Value(outer.Key)), inner.Key.noun(len(in)), labels(in))
		if len(in) >= inner.Count {
			enough = append(enough, entry)
		} else {
			short = append(short, entry)
		}
	}
	msg := fmt.Sprintf("%s needs %s in %d distinct %s with %d distinct %s each; ",
		mode, what, outer.Count, outer.Key.noun(outer.Count), inner.Count, inner.Key.noun(inner.Count))
	switch len(enough) {
	case 0:
		msg += fmt.Sprintf("no %s has enough %s with a %s", outer.Key.noun(1), inner.Key.noun(2), subject)
	case 1:
		msg += fmt.Sprintf("only 1 %s does: %s", outer.Key.noun(1), enough[0])
	default:
		msg += fmt.Sprintf("only %d %s do: %s", len(enough), outer.Key.noun(2), strings.Join(enough, ", "))
	}
	if len(short) > 0 {
		msg += fmt.Sprintf("; too few in %s", strings.Join(short, ", "))
	}
	return msg
}
