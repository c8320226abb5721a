package workloads

import (
	"bytes"
	"fmt"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/wire"
)

// TokenEcho is the well-known endpoint of the echo service used by the
// runtime self-test and the transport benchmark.
const TokenEcho uint64 = 100

var (
	echoRequestCodec = flow.ProtoCodec[*wire.EchoRequest]()
	echoReplyCodec   = flow.ProtoCodec[*wire.EchoReply]()
)

// EchoStream returns the client side of the echo service at addr.
func EchoStream(addr flow.Address) flow.RequestStream[*wire.EchoRequest, *wire.EchoReply] {
	return flow.NewRequestStream(flow.Endpoint{Addr: addr, Token: TokenEcho}, echoRequestCodec, echoReplyCodec)
}

// EchoObserver sees every request an echo server receives. The self-test
// uses it to prove that no request is delivered twice.
type EchoObserver interface {
	Received(server flow.Address, req *wire.EchoRequest)
}

// EchoJournal makes an echo server durable: Record runs before each reply
// (so a reply means the record is on disk).
type EchoJournal interface {
	Record(c *flow.Ctx, req *wire.EchoRequest) error
}

// ServeEcho starts the echo service on e: each request is answered with its
// id, attempt and payload, after a short delay when Buggify says so. With a
// journal, each request is recorded durably before it is answered.
func ServeEcho(e *flow.Env, obs EchoObserver, journal EchoJournal) *flow.Listener[*wire.EchoRequest, *wire.EchoReply] {
	l := flow.Listen(e, TokenEcho, echoRequestCodec, echoReplyCodec)
	e.Spawn("EchoServer", func(c *flow.Ctx) error {
		for {
			r, err := l.Requests().Next(c)
			if err != nil {
				return err
			}
			if obs != nil {
				obs.Received(c.Address(), r.Msg)
			}
			if journal != nil {
				if err := journal.Record(c, r.Msg); err != nil {
					r.Fail(err)
					continue
				}
			}
			reply := &wire.EchoReply{Id: r.Msg.Id, Attempt: r.Msg.Attempt, Payload: r.Msg.Payload, Server: string(c.Address())}
			if c.Buggify("EchoServerSlowReply") {
				c.Spawn("EchoSlowReply", func(c *flow.Ctx) error {
					if err := c.Sleep(time.Duration(c.Rand().Int64N(int64(300 * time.Millisecond)))); err != nil {
						return err
					}
					r.Reply(reply)
					return nil
				})
				continue
			}
			r.Reply(reply)
		}
	})
	return l
}

// checkEcho verifies that a reply answers exactly the request it came for.
func checkEcho(req *wire.EchoRequest, rep *wire.EchoReply, server flow.Address) error {
	if rep.Id != req.Id || rep.Attempt != req.Attempt || !bytes.Equal(rep.Payload, req.Payload) || rep.Server != string(server) {
		return fmt.Errorf("reply %d/%d from %s (payload %x) answers request %d/%d to %s (payload %x)",
			rep.Id, rep.Attempt, rep.Server, rep.Payload, req.Id, req.Attempt, server, req.Payload)
	}
	return nil
}
