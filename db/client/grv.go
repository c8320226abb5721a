package client

import (
	"fmt"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/wire"
)

// grvQueue batches the read version requests of one priority: the
// requests of one turn of the loop go together, and up to
// maxGRVBatchesInFlight batches are in flight at once. (With one, a request
// arriving while a batch is out waits for that batch's whole round trip
// before its own even starts: on average half a round trip more.)
type grvQueue struct {
	waiting  []grvWaiter
	running  bool
	inFlight int
	// returned is fulfilled (and replaced) when a batch returns.
	returned flow.Promise[struct{}]
}

// maxGRVBatchesInFlight bounds the read version batches one client has in
// flight per priority; more requests queue for the next batch.
const maxGRVBatchesInFlight = 4

type grvWaiter struct {
	p         flow.Promise[kv.Version]
	lockAware bool
}

func (d *Database) readVersion(c *flow.Ctx, prio Priority, lockAware bool) (kv.Version, error) {
	q := d.grv[prio]
	if q == nil {
		q = &grvQueue{returned: flow.NewPromise[struct{}]()}
		d.grv[prio] = q
	}
	p := flow.NewPromise[kv.Version]()
	q.waiting = append(q.waiting, grvWaiter{p: p, lockAware: lockAware})
	if !q.running {
		q.running = true
		d.env.Spawn("ReadVersionBatcher", func(c *flow.Ctx) error {
			defer func() { q.running = false }()
			return d.batchReadVersions(c, prio, q)
		})
	}
	return flow.Await(c, p.Future())
}

// batchReadVersions starts the queue's batches until none are left
// waiting, each on an actor of its own.
func (d *Database) batchReadVersions(c *flow.Ctx, prio Priority, q *grvQueue) error {
	for len(q.waiting) > 0 {
		// Let the transactions of this turn of the loop join the batch.
		if err := c.Yield(); err != nil {
			return err
		}
		for q.inFlight >= maxGRVBatchesInFlight {
			if _, err := flow.Await(c, q.returned.Future()); err != nil {
				return err
			}
		}
		batch := q.waiting
		q.waiting = nil
		q.inFlight++
		d.env.Spawn("ReadVersionBatch", func(c *flow.Ctx) error {
			d.readVersionBatch(c, prio, batch)
			q.inFlight--
			q.returned.Send(struct{}{})
			q.returned = flow.NewPromise[struct{}]()
			return nil
		})
	}
	return nil
}

// readVersionBatch asks for one read version for batch and answers it.
func (d *Database) readVersionBatch(c *flow.Ctx, prio Priority, batch []grvWaiter) {
	d.env.Metrics().Counter("ClientGRVRequests").Inc()
	d.env.Metrics().Counter("ClientGRVTransactions").Add(uint64(len(batch)))
	rep, err := d.requestReadVersion(c, prio, len(batch))
	for _, w := range batch {
		switch {
		case err != nil:
			w.p.Fail(err)
		case rep.Locked && !w.lockAware:
			w.p.Fail(kv.ErrDatabaseLocked)
		default:
			w.p.Send(kv.Version(rep.Version))
		}
	}
}

// errGenerationEnded is what a GRV proxy answers once a recovery locked
// its generation's logs (tlog_stopped): the client asks the next
// generation's proxies instead.
var errGenerationEnded = &flow.Error{Code: 1011, Name: "tlog_stopped"}

// requestReadVersion asks a random GRV proxy for a read version, moving to
// another proxy (after a fresh ClientDBInfo, or a pause) when one fails.
func (d *Database) requestReadVersion(c *flow.Ctx, prio Priority, count int) (*wire.GetReadVersionReply, error) {
	codecReq, codecRep := flow.ProtoCodec[*wire.GetReadVersionRequest](), flow.ProtoCodec[*wire.GetReadVersionReply]()
	pause := 10 * time.Millisecond
	for {
		p, err := d.grvProxy(c)
		if err != nil {
			return nil, err
		}
		ep := flow.Endpoint{Addr: flow.Address(p.Address), Token: p.GetReadVersion}
		req := &wire.GetReadVersionRequest{Priority: uint32(prio), TransactionCount: uint32(count)}
		rep, err := flow.Await(c, flow.NewRequestStream(ep, codecReq, codecRep).GetReply(d.env, req))
		if err == nil {
			return rep, nil
		}
		if !isEndpointFailure(err) && !errorIs(err, errGenerationEnded) {
			return nil, fmt.Errorf("read version from %s: %w", ep.Addr, err)
		}
		d.env.Metrics().Counter("ClientGRVRetries").Inc()
		if err := d.waitInfoChange(c, pause); err != nil {
			return nil, err
		}
		pause = min(2*pause, time.Second)
	}
}
