package client

import (
	"fmt"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/wire"
)

// grvQueue batches the read version requests of one priority: the
// requests of one turn of the loop go together at the next turn, and while
// maxGRVBatchesInFlight batches are in flight the next batch gathers until
// one returns. Batches are sent and answered by callbacks on the loop, not
// by actors: each actor between a reply and the transaction waiting for it
// cost a turn of a busy loop.
type grvQueue struct {
	waiting     []grvWaiter
	scheduled   bool // a send is due at the next turn of the loop
	outstanding int  // batches sent and not answered
}

// canSend reports whether a batch can go now: requests wait and fewer than
// maxGRVBatchesInFlight are in flight.
func (q *grvQueue) canSend() bool {
	return len(q.waiting) > 0 && q.outstanding < maxGRVBatchesInFlight
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

// readVersion returns a future for a read version at the priority.
func (d *Database) readVersion(prio Priority, lockAware bool) flow.Future[kv.Version] {
	q := d.grv[prio]
	if q == nil {
		q = &grvQueue{}
		d.grv[prio] = q
	}
	p := flow.NewPromise[kv.Version]()
	q.waiting = append(q.waiting, grvWaiter{p: p, lockAware: lockAware})
	d.scheduleReadVersions(prio, q)
	return p.Future()
}

// scheduleReadVersions sends the waiting requests at the next turn of the
// loop (so the requests of this turn join them), unless a send is already
// due or too many batches are in flight (an answer schedules the next).
func (d *Database) scheduleReadVersions(prio Priority, q *grvQueue) {
	if q.scheduled || !q.canSend() {
		return
	}
	q.scheduled = true
	d.env.Delay(0).OnReady(func(struct{}, error) {
		q.scheduled = false
		if !q.canSend() {
			return
		}
		batch := q.waiting
		q.waiting = nil
		q.outstanding++
		d.sendReadVersionBatch(prio, batch).OnReady(func(struct{}, error) {
			q.outstanding--
			d.scheduleReadVersions(prio, q)
		})
	})
}

// sendReadVersionBatch asks for one read version for batch and answers
// each of its requests; the future is set once they are answered.
func (d *Database) sendReadVersionBatch(prio Priority, batch []grvWaiter) flow.Future[struct{}] {
	d.env.Metrics().Counter("ClientGRVRequests").Inc()
	d.env.Metrics().Counter("ClientGRVTransactions").Add(uint64(len(batch)))
	done := flow.NewPromise[struct{}]()
	d.requestReadVersionFuture(prio, len(batch)).OnReady(func(rep *wire.GetReadVersionReply, err error) {
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
		done.Send(struct{}{})
	})
	return done.Future()
}

// requestReadVersionFuture asks a GRV proxy for a read version. While the
// database knows its proxies, the request goes out at once and its reply is
// taken by a callback; otherwise, or if that proxy failed, an actor waits
// for proxies and retries (requestReadVersion).
func (d *Database) requestReadVersionFuture(prio Priority, count int) flow.Future[*wire.GetReadVersionReply] {
	retry := func() flow.Future[*wire.GetReadVersionReply] {
		p := flow.NewPromise[*wire.GetReadVersionReply]()
		d.env.Spawn("ReadVersionRetry", func(c *flow.Ctx) error {
			rep, err := d.requestReadVersion(c, prio, count)
			if err != nil {
				p.Fail(err)
			} else {
				p.Send(rep)
			}
			return nil
		})
		return p.Future()
	}
	proxy, ok := d.someGRVProxy()
	if !ok {
		return retry()
	}
	out := flow.NewPromise[*wire.GetReadVersionReply]()
	d.sendReadVersionRequest(proxy, prio, count).OnReady(func(rep *wire.GetReadVersionReply, err error) {
		switch {
		case err == nil:
			out.Send(rep)
		case isEndpointFailure(err) || errorIs(err, kv.ErrTLogStopped):
			d.env.Metrics().Counter("ClientGRVRetries").Inc()
			retry().OnReady(func(rep *wire.GetReadVersionReply, err error) {
				if err != nil {
					out.Fail(err)
				} else {
					out.Send(rep)
				}
			})
		default:
			out.Fail(fmt.Errorf("read version from %s: %w", proxy.Address, err))
		}
	})
	return out.Future()
}

// sendReadVersionRequest sends one read version request to p.
func (d *Database) sendReadVersionRequest(p *wire.GrvProxyInterface, prio Priority, count int) flow.Future[*wire.GetReadVersionReply] {
	ep := flow.Endpoint{Addr: flow.Address(p.Address), Token: p.GetReadVersion}
	req := &wire.GetReadVersionRequest{Priority: uint32(prio), TransactionCount: uint32(count)}
	return flow.NewRequestStream(ep, flow.ProtoCodec[*wire.GetReadVersionRequest](), flow.ProtoCodec[*wire.GetReadVersionReply]()).GetReply(d.env, req)
}

// requestReadVersion asks a random GRV proxy for a read version, moving to
// another proxy (after a fresh ClientDBInfo, or a pause) when one fails.
func (d *Database) requestReadVersion(c *flow.Ctx, prio Priority, count int) (*wire.GetReadVersionReply, error) {
	pause := 10 * time.Millisecond
	for {
		p, err := d.grvProxy(c)
		if err != nil {
			return nil, err
		}
		rep, err := flow.Await(c, d.sendReadVersionRequest(p, prio, count))
		if err == nil {
			return rep, nil
		}
		if !isEndpointFailure(err) && !errorIs(err, kv.ErrTLogStopped) {
			return nil, fmt.Errorf("read version from %s: %w", p.Address, err)
		}
		d.env.Metrics().Counter("ClientGRVRetries").Inc()
		if err := d.waitInfoChange(c, pause); err != nil {
			return nil, err
		}
		pause = min(2*pause, time.Second)
	}
}
