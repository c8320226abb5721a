package commitproxy

import "github.com/strata-db/strata/db/flow"

// gate is a counter that only grows, with futures for "at least n": batch
// n waits on a gate for batch n-1 to pass a pipeline stage, so stages run
// in batch order while different batches overlap across stages.
type gate struct {
	value   uint64
	waiters []gateWaiter
}

type gateWaiter struct {
	at uint64
	p  flow.Promise[struct{}]
}

// atLeast returns a future set once the gate reaches n.
func (g *gate) atLeast(n uint64) flow.Future[struct{}] {
	if g.value >= n {
		return flow.Ready(struct{}{})
	}
	p := flow.NewPromise[struct{}]()
	g.waiters = append(g.waiters, gateWaiter{at: n, p: p})
	return p.Future()
}

// set raises the gate to n (never lowers it) and wakes whoever waited for
// n or less.
func (g *gate) set(n uint64) {
	if n <= g.value {
		return
	}
	g.value = n
	kept := g.waiters[:0]
	var ready []flow.Promise[struct{}]
	for _, w := range g.waiters {
		if w.at <= n {
			ready = append(ready, w.p)
		} else {
			kept = append(kept, w)
		}
	}
	clear(g.waiters[len(kept):])
	g.waiters = kept
	for _, p := range ready {
		p.Send(struct{}{})
	}
}
