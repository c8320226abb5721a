package coordinator

import (
	"github.com/strata-db/strata/db/flow"
)

// askMajority sends a request to every coordinator with send(i) and waits
// until a majority answered. A request that fails (the coordinator is down,
// restarting or unreachable) is sent again after the retry delay: every
// coordinator request is idempotent. It returns the replies by coordinator
// index, with ok[i] false where none came in time to count; requests still
// outstanding are abandoned.
func askMajority[Rep any](c *flow.Ctx, n int, retry Timing, send func(i int) flow.Future[Rep]) (reps []Rep, ok []bool, err error) {
	futs := make([]flow.Future[Rep], n)
	actors := make([]*flow.Actor, n)
	for i := range n {
		p := flow.NewPromise[Rep]()
		futs[i] = p.Future()
		actors[i] = c.Spawn("Coordinators.Ask", func(c *flow.Ctx) error {
			for {
				rep, err := flow.Await(c, send(i))
				if err == nil {
					p.Send(rep)
					return nil
				}
				if err := c.Sleep(retry.RetryDelay); err != nil {
					p.Fail(err)
					return err
				}
			}
		})
	}
	defer func() {
		for _, a := range actors {
			a.Cancel()
		}
	}()
	idx, vals, err := flow.WaitMajority(c, futs)
	if err != nil {
		return nil, nil, err
	}
	reps, ok = make([]Rep, n), make([]bool, n)
	for k, i := range idx {
		reps[i], ok[i] = vals[k], true
	}
	return reps, ok, nil
}
