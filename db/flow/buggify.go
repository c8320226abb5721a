package flow

import "math/rand/v2"

// Buggify holds a simulation run's fault-injection decisions, with
// FoundationDB's rules: each site is enabled for the whole run with
// probability SiteProbability, decided the first time it is reached, and an
// enabled site fires with the probability its call asks for (0.25 for
// Env.Buggify). A nil *Buggify never fires.
type Buggify struct {
	rng             *rand.Rand
	sites           map[string]bool
	siteProbability float64
	fired           map[string]int
}

// NewBuggify returns run-wide Buggify state drawing its site decisions from
// a source seeded with seed.
func NewBuggify(seed uint64) *Buggify {
	return &Buggify{
		rng:             rand.New(rand.NewPCG(seed, 0xb066)),
		sites:           map[string]bool{},
		siteProbability: 0.25,
		fired:           map[string]int{},
	}
}

func (b *Buggify) fire(site string, p float64, rng *rand.Rand) bool {
	if b == nil {
		return false
	}
	enabled, seen := b.sites[site]
	if !seen {
		enabled = b.rng.Float64() < b.siteProbability
		b.sites[site] = enabled
	}
	if !enabled || rng.Float64() >= p {
		return false
	}
	b.fired[site]++
	return true
}

// Enabled reports whether a site was reached and enabled in this run.
func (b *Buggify) Enabled(site string) bool { return b != nil && b.sites[site] }

// Fired returns how often each site fired.
func (b *Buggify) Fired() map[string]int {
	if b == nil {
		return nil
	}
	return b.fired
}
