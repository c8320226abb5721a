package recruit

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Worker is a registered process the controller may give roles to.
type Worker struct {
	// ID identifies the process; IDs are unique, and ties between equally
	// good choices go to the smaller ID.
	ID       string
	Address  string
	Class    string
	Locality Locality
	// Excluded processes are never recruited.
	Excluded bool
}

// Placement is a transaction subsystem: the worker IDs given each role.
// Each list is sorted and holds distinct workers; one worker may hold
// several different roles.
type Placement struct {
	Sequencer     string
	CommitProxies []string
	GRVProxies    []string
	Resolvers     []string
	Logs          []string
}

// Roles maps each worker ID of p to its roles, in Roles() order.
func (p Placement) Roles() map[string][]Role {
	out := map[string][]Role{}
	for _, rl := range p.lists() {
		for _, id := range rl.ids {
			out[id] = append(out[id], rl.role)
		}
	}
	return out
}

func (p Placement) lists() []struct {
	role Role
	ids  []string
} {
	var seq []string
	if p.Sequencer != "" {
		seq = []string{p.Sequencer}
	}
	return []struct {
		role Role
		ids  []string
	}{
		{Sequencer, seq}, {CommitProxy, p.CommitProxies}, {GRVProxy, p.GRVProxies},
		{Resolver, p.Resolvers}, {Log, p.Logs},
	}
}

// String renders p one role per line, as the tests' golden files show it.
func (p Placement) String() string {
	var b strings.Builder
	for _, rl := range p.lists() {
		fmt.Fprintf(&b, "%s: %s\n", rl.role, strings.Join(rl.ids, " "))
	}
	return b.String()
}

// Recruit chooses a transaction subsystem from workers for mode: one
// sequencer, counts.CommitProxies commit proxies, counts.GRVProxies GRV
// proxies, counts.Resolvers resolvers and counts.Logs logs (zero counts
// take DefaultCounts; Logs is at least the log replication factor).
//
// The choice, made role by role (logs first, as the only role with a
// placement rule, then sequencer, resolvers, commit proxies, GRV proxies):
//
//   - Excluded workers and workers whose class never fits a role are never
//     chosen for it.
//   - The logs satisfy mode.LogPolicy (distinct zones; in three_data_hall
//     two data halls with two zones each); the extra logs beyond the
//     replication factor go to the best-fit workers left, previous logs
//     first, spread over zones, then data halls.
//   - Otherwise workers are taken best fitness first. Among equally fit
//     workers: the one that held the same role in prefer (the previous
//     placement; may be nil), so a recovery moves a role only when its
//     worker is gone, excluded or less fit than another; then the one
//     given fewest roles so far, so roles spread over processes before
//     they stack; then the one that held fewest roles in prefer, so a
//     replacement lands on a worker that keeps no other role; then the
//     smaller ID. Pass prefer == nil to rebalance from scratch.
//   - One role never takes the same worker twice. Like FoundationDB, when
//     fewer eligible workers exist than a count asks for, fewer are
//     recruited: the lists may be shorter than counts, never empty.
//
// The result depends only on the arguments (not on the order of workers).
// Recruit fails, naming what is missing, when a role has no eligible worker
// or the eligible workers cannot satisfy the log policy.
func Recruit(workers []Worker, mode Mode, counts Counts, prefer *Placement) (Placement, error) {
	if err := mode.validate(); err != nil {
		return Placement{}, err
	}
	if err := counts.validate(); err != nil {
		return Placement{}, err
	}
	r, err := newRecruiter(workers, mode, prefer)
	if err != nil {
		return Placement{}, err
	}
	counts = counts.WithDefaults(mode)
	var p Placement
	if p.Logs, err = r.logs(counts.Logs); err != nil {
		return Placement{}, err
	}
	seq, err := r.pick(Sequencer, 1)
	if err != nil {
		return Placement{}, err
	}
	p.Sequencer = seq[0]
	if p.Resolvers, err = r.pick(Resolver, counts.Resolvers); err != nil {
		return Placement{}, err
	}
	if p.CommitProxies, err = r.pick(CommitProxy, counts.CommitProxies); err != nil {
		return Placement{}, err
	}
	if p.GRVProxies, err = r.pick(GRVProxy, counts.GRVProxies); err != nil {
		return Placement{}, err
	}
	return p, nil
}

// recruiter holds one recruitment's state: the workers and how many roles
// each has been given so far.
type recruiter struct {
	mode   Mode
	all    []Worker       // sorted by ID, excluded ones included (for messages)
	load   map[string]int // roles given in this recruitment
	prefer map[Role]map[string]bool
	// priorLoad is how many roles each worker held in the previous
	// placement.
	priorLoad map[string]int
}

// cand is a worker with its fitness for the role being recruited.
type cand struct {
	w   *Worker
	fit Fit
}

func newRecruiter(workers []Worker, mode Mode, prefer *Placement) (*recruiter, error) {
	all := slices.Clone(workers)
	slices.SortFunc(all, func(a, b Worker) int { return strings.Compare(a.ID, b.ID) })
	for i, w := range all {
		if w.ID == "" {
			return nil, fmt.Errorf("worker at %q has no ID", w.Address)
		}
		if i > 0 && all[i-1].ID == w.ID {
			return nil, fmt.Errorf("worker ID %q appears twice", w.ID)
		}
	}
	r := &recruiter{mode: mode, all: all, load: map[string]int{}, prefer: map[Role]map[string]bool{},
		priorLoad: map[string]int{}}
	if prefer != nil {
		for _, rl := range prefer.lists() {
			r.prefer[rl.role] = map[string]bool{}
			for _, id := range rl.ids {
				r.prefer[rl.role][id] = true
				r.priorLoad[id]++
			}
		}
	}
	return r, nil
}

// eligible lists the workers role may take, in ID order.
func (r *recruiter) eligible(role Role) []cand {
	var out []cand
	for i := range r.all {
		w := &r.all[i]
		if f := Fitness(w.Class, role); !w.Excluded && f < NeverAssign {
			out = append(out, cand{w, f})
		}
	}
	return out
}

// notPreferred is 0 for a worker that held role before, else 1.
func (r *recruiter) notPreferred(role Role, c cand) int {
	if r.prefer[role][c.w.ID] {
		return 0
	}
	return 1
}

// compare orders candidates for role: fitness; then the worker that held
// role before; then fewest roles given so far; then fewest roles held
// before (so a replacement goes to a worker that will not keep other roles);
// then ID.
func (r *recruiter) compare(role Role) func(a, b cand) int {
	return func(a, b cand) int {
		return cmp.Or(
			cmp.Compare(a.fit, b.fit),
			cmp.Compare(r.notPreferred(role, a), r.notPreferred(role, b)),
			cmp.Compare(r.load[a.w.ID], r.load[b.w.ID]),
			cmp.Compare(r.priorLoad[a.w.ID], r.priorLoad[b.w.ID]),
			strings.Compare(a.w.ID, b.w.ID),
		)
	}
}

// pick recruits up to n distinct workers for role, at least one.
func (r *recruiter) pick(role Role, n int) ([]string, error) {
	cands := r.eligible(role)
	if len(cands) == 0 {
		return nil, fmt.Errorf("recruiting %s: no worker can be a %s%s", role, role, r.census(role))
	}
	slices.SortFunc(cands, r.compare(role))
	var ids []string
	for _, c := range cands[:min(n, len(cands))] {
		ids = append(ids, c.w.ID)
		r.load[c.w.ID]++
	}
	slices.Sort(ids)
	return ids, nil
}

// census explains, for an error message, which workers a role could not
// take: " (of 5 workers, 2 are excluded and 1 is of a class never fit for
// log: stateless)".
func (r *recruiter) census(role Role) string {
	if len(r.all) == 0 {
		return " (no workers are registered)"
	}
	excluded, never := 0, 0
	var classes []string
	for _, w := range r.all {
		switch {
		case w.Excluded:
			excluded++
		case Fitness(w.Class, role) == NeverAssign:
			never++
			classes = append(classes, normalizeClass(w.Class))
		}
	}
	if excluded == 0 && never == 0 {
		return ""
	}
	var parts []string
	if excluded > 0 {
		parts = append(parts, fmt.Sprintf("%d %s excluded", excluded, isAre(excluded)))
	}
	if never > 0 {
		slices.Sort(classes)
		parts = append(parts, fmt.Sprintf("%d %s of a class never fit for %s: %s",
			never, isAre(never), role, strings.Join(slices.Compact(classes), ", ")))
	}
	return fmt.Sprintf(" (of %d workers, %s)", len(r.all), strings.Join(parts, " and "))
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}
