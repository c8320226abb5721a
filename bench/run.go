package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
)

// Phase is one measured run of a workload from one client process.
type Phase struct {
	Workload Workload
	// Clients is the number of concurrent transactions: closed loop, each
	// client starts its next transaction when the last one ends; open
	// loop, the bound on transactions in flight.
	Clients int
	// Rate, if positive, runs open loop: transactions start on a fixed
	// schedule adding up to Rate operations per second, whether or not
	// earlier ones have finished.
	Rate     float64
	Duration time.Duration
	// Warmup runs before the measured window and is not recorded.
	Warmup time.Duration
	// Keys is the size of the loaded key space the workload reads and
	// writes.
	Keys int
	Seed uint64
}

// PhaseResult is what a phase measured.
type PhaseResult struct {
	Stats *Stats
	// Skipped counts open-loop transactions not started on schedule
	// because Clients were already in flight: the rate was not sustained.
	Skipped uint64
	// ClientCPU is the CPU time the client process(es) used in the
	// measured window; ServerCPU the server's, when known.
	ClientCPU, ServerCPU time.Duration
}

// Client is a flow client process connected to a database.
type Client struct {
	proc *flow.RealProcess
	stop func() error
	db   *client.Database // used on proc's loop only
}

// Connect starts a client process and opens the database whose ClientDBInfo
// is served at entry, waiting (up to ctx) until it answers a read version
// request.
func Connect(ctx context.Context, entry []flow.Address) (*Client, error) {
	proc, err := flow.NewRealProcess(flow.RealConfig{ListenAddress: "127.0.0.1:0", ProcessID: "bench-client"})
	if err != nil {
		return nil, fmt.Errorf("bench client process: %w", err)
	}
	cl := &Client{proc: proc, stop: proc.Start()}
	_, err = flow.Go(ctx, proc, "BenchConnect", func(c *flow.Ctx) (struct{}, error) {
		db, err := client.NewDatabase(c.Env, entry, client.Config{OpenDatabaseToken: kv.TokenOpenDatabase})
		if err != nil {
			return struct{}{}, err
		}
		cl.db = db
		return struct{}{}, waitReady(c, db)
	})
	if err != nil {
		_ = cl.stop()
		return nil, fmt.Errorf("connecting to the database at %v: %w", entry, err)
	}
	return cl, nil
}

// waitReady waits until the database gives out a read version.
func waitReady(c *flow.Ctx, db *client.Database) error {
	for {
		tr := db.CreateTransaction()
		p := flow.NewPromise[kv.Version]()
		c.Spawn("BenchReadyGRV", func(c *flow.Ctx) error {
			v, err := tr.GetReadVersion(c)
			if err != nil {
				p.Fail(err)
			} else {
				p.Send(v)
			}
			return nil
		})
		_, err := flow.Timeout(c, p.Future(), time.Second)
		if err == nil {
			return nil
		}
		if errors.Is(err, flow.ErrOperationCancelled) {
			return err
		}
		tr.Cancel()
	}
}

// Close stops the client process.
func (cl *Client) Close() error { return cl.stop() }

// Load writes keys [0, n) with random values, batch keys per transaction
// from up to parallel concurrent transactions, and the cycle's ring.
func (cl *Client) Load(ctx context.Context, n, batch, parallel int, seed uint64) error {
	_, err := flow.Go(ctx, cl.proc, "BenchLoad", func(c *flow.Ctx) (struct{}, error) {
		next := 0
		var loaders []flow.Future[struct{}]
		for i := range max(parallel, 1) {
			r := rand.New(rand.NewPCG(seed, uint64(i)))
			loaders = append(loaders, c.Spawn("BenchLoader", func(c *flow.Ctx) error {
				for next < n {
					lo := next
					hi := min(lo+batch, n)
					next = hi
					err := cl.db.Transact(c, func(tr *client.Transaction) error {
						for k := lo; k < hi; k++ {
							tr.Set(Key(k), Value(r))
						}
						return nil
					})
					if err != nil {
						return fmt.Errorf("loading keys %d..%d: %w", lo, hi, err)
					}
				}
				return nil
			}).Done())
		}
		if _, err := flow.WaitAll(c, loaders); err != nil {
			return struct{}{}, err
		}
		return struct{}{}, cl.loadCycle(c)
	})
	return err
}

// loadCycle writes the ring 0 -> 1 -> ... -> cycleNodes-1 -> 0.
func (cl *Client) loadCycle(c *flow.Ctx) error {
	const batch = 1000
	for lo := 0; lo < cycleNodes; lo += batch {
		err := cl.db.Transact(c, func(tr *client.Transaction) error {
			for i := lo; i < min(lo+batch, cycleNodes); i++ {
				tr.Set(cycleKey(i), fmt.Appendf(nil, "%d", (i+1)%cycleNodes))
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("loading the cycle: %w", err)
		}
	}
	return nil
}

// CheckCycle verifies the cycle's ring.
func (cl *Client) CheckCycle(ctx context.Context) error {
	_, err := flow.Go(ctx, cl.proc, "BenchCheckCycle", func(c *flow.Ctx) (struct{}, error) {
		return struct{}{}, checkCycle(c, cl.db)
	})
	return err
}

// Run runs one phase and returns what it measured.
func (cl *Client) Run(ctx context.Context, ph Phase) (PhaseResult, error) {
	if ph.Clients <= 0 || ph.Duration <= 0 || ph.Keys <= 0 {
		return PhaseResult{}, fmt.Errorf("bench phase needs clients, a duration and keys (got %d, %v, %d)", ph.Clients, ph.Duration, ph.Keys)
	}
	limit := ph.Warmup + ph.Duration + time.Minute
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cpu := cpuDuring(os.Getpid(), ph.Warmup, ph.Duration)
	res, err := flow.Go(ctx, cl.proc, "BenchPhase", func(c *flow.Ctx) (PhaseResult, error) {
		return cl.runPhase(c, ph)
	})
	if err == nil {
		res.ClientCPU = <-cpu
	}
	return res, err
}

func (cl *Client) runPhase(c *flow.Ctx, ph Phase) (PhaseResult, error) {
	st := NewStats()
	measureFrom := c.Now().Add(ph.Warmup)
	until := measureFrom.Add(ph.Duration)
	recording := func() bool { n := c.Now(); return !n.Before(measureFrom) && n.Before(until) }
	newTxn := func(i int) *txn {
		return &txn{db: cl.db, r: rand.New(rand.NewPCG(ph.Seed, uint64(i))), keys: ph.Keys, st: st, record: recording}
	}
	var res PhaseResult
	var err error
	if ph.Rate > 0 {
		res.Skipped, err = openLoop(c, ph, until, newTxn)
	} else {
		err = closedLoop(c, ph, until, newTxn)
	}
	st.Elapsed = ph.Duration
	res.Stats = st
	return res, err
}

// closedLoop runs ph.Clients actors, each running transactions back to
// back until until.
func closedLoop(c *flow.Ctx, ph Phase, until time.Time, newTxn func(int) *txn) error {
	clients := make([]flow.Future[struct{}], ph.Clients)
	for i := range clients {
		t := newTxn(i)
		clients[i] = c.Spawn("BenchClient", func(c *flow.Ctx) error {
			for c.Now().Before(until) {
				if err := t.run(c, ph.Workload); err != nil {
					return err
				}
			}
			return nil
		}).Done()
	}
	_, err := flow.WaitAll(c, clients)
	return err
}

// openLoop starts transactions on a fixed schedule adding up to ph.Rate
// operations per second, at most ph.Clients in flight; a transaction due
// while ph.Clients are in flight is skipped (and counted). Latencies are
// those of the operations themselves, from when they were issued.
func openLoop(c *flow.Ctx, ph Phase, until time.Time, newTxn func(int) *txn) (uint64, error) {
	interval := time.Duration(float64(time.Second) * float64(ph.Workload.OpsPerTransaction()) / ph.Rate)
	if interval <= 0 {
		return 0, fmt.Errorf("open-loop rate %g is too high", ph.Rate)
	}
	idle := make([]*txn, ph.Clients)
	for i := range idle {
		idle[i] = newTxn(i)
	}
	var skipped uint64
	var failed error
	inFlight := 0
	allDone := flow.NewPromise[struct{}]()
	next := c.Now()
	for failed == nil && c.Now().Before(until) {
		for now := c.Now(); !next.After(now); next = next.Add(interval) {
			if len(idle) == 0 {
				skipped++
				continue
			}
			t := idle[len(idle)-1]
			idle = idle[:len(idle)-1]
			inFlight++
			c.Spawn("BenchOpenClient", func(c *flow.Ctx) error {
				err := t.run(c, ph.Workload)
				if err != nil && failed == nil {
					failed = err
				}
				idle = append(idle, t)
				inFlight--
				if inFlight == 0 && (failed != nil || !c.Now().Before(until)) && !allDone.IsSet() {
					allDone.Send(struct{}{})
				}
				return nil
			})
		}
		if err := c.Sleep(next.Sub(c.Now())); err != nil {
			return skipped, err
		}
	}
	if inFlight > 0 {
		if _, err := flow.Await(c, allDone.Future()); err != nil {
			return skipped, err
		}
	}
	return skipped, failed
}
