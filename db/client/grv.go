package client

import (
	"fmt"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/wire"
)

// grvQueue batches the read version requests of one priority: the
// requests of one turn of the loop go together, and while
// maxGRVBatchesInFlight batches are in flight the next batch gathers
// until one returns.
type grvQueue struct {
	waiting     []grvWaiter
	running     bool
	outstanding int                    // batches sent and not answered
	returned    flow.Promise[struct{}] // set when one is answered (the batcher renews it before waiting)
}

// maxGRVBatchesInFlight bounds the read version batches of one priority in
// flight. With one, a request arriving just after a batch left waited for
// that batch's whole round trip and then its own: half-load GRV p50 was
// about twice the round trip. FoundationDB's client also keeps several in
// flight (its batcher sends on a timer, not on the previous reply).
const maxGRVBatchesInFlight = 3

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

// batchReadVersions sends the queue's requests in batches, each answered
// by an actor of its own, until none are left.
func (d *Database) batchReadVersions(c *flow.Ctx, prio Priority, q *grvQueue) error {
	for len(q.waiting) > 0 {
		// Let the transactions of this turn of the loop join the batch.
		if err := c.Yield(); err != nil {
			return err
		}
		for q.outstanding >= maxGRVBatchesInFlight {
			q.returned = flow.NewPromise[struct{}]()
			if _, err := flow.Await(c, q.returned.Future()); err != nil {
				return err
			}
		}
		batch := q.waiting
		q.waiting = nil
		q.outstanding++
		d.env.Spawn("ReadVersionBatch", func(c *flow.Ctx) error {
			defer func() {
				q.outstanding--
				q.returned.Send(struct{}{})
			}()
			d.sendReadVersionBatch(c, prio, batch)
			return nil
		})
	}
	return nil
}

// sendReadVersionBatch asks for one read version for batch and answers
// each of its requests.
func (d *Database) sendReadVersionBatch(c *flow.Ctx, prio Priority, batch []grvWaiter) {
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
