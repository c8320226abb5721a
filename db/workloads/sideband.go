package workloads

import (
	"fmt"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/wire"
)

// Sideband checks causal consistency (FoundationDB's Sideband workload): a
// mutator commits a write and then tells a checker about it over the
// network, outside the database; the checker's next transaction must see
// that write. A read version older than an acknowledged commit fails it.
type Sideband struct {
	Prefix []byte

	Messages, Checked int
}

// TokenSideband is the checker's well-known endpoint.
const TokenSideband uint64 = 101

// NewSideband returns the workload for keys under prefix.
func NewSideband(prefix string) *Sideband { return &Sideband{Prefix: []byte(prefix)} }

func (w *Sideband) key(id uint64) []byte {
	return fmt.Appendf(append([]byte(nil), w.Prefix...), "%016x", id)
}

// ServeChecker listens for sideband messages on e and checks each one
// with a new transaction. Its actor ends with the first violation.
func (w *Sideband) ServeChecker(e *flow.Env, db DB) *flow.Actor {
	l := flow.Listen(e, TokenSideband, echoRequestCodec, echoReplyCodec)
	return e.Spawn("SidebandChecker", func(c *flow.Ctx) error {
		for {
			r, err := l.Requests().Next(c)
			if err != nil {
				return err
			}
			id := r.Msg.Id
			r.Reply(&wire.EchoReply{Id: id})
			var got []byte
			if err := db.Transact(c, func(tr Tx) error {
				v, err := tr.Get(c, w.key(id))
				got = v
				return err
			}); err != nil {
				return fmt.Errorf("sideband check: %w", err)
			}
			if got == nil {
				return fmt.Errorf("causal consistency violated: write %d was acknowledged and announced, but a later transaction does not see it", id)
			}
			w.Checked++
		}
	})
}

// RunMutator commits writes and announces each to the checker at checker
// until stop.
func (w *Sideband) RunMutator(c *flow.Ctx, db DB, checker flow.Address, stop time.Time) error {
	stream := flow.NewRequestStream(flow.Endpoint{Addr: checker, Token: TokenSideband}, echoRequestCodec, echoReplyCodec)
	for id := uint64(1); c.Now().Before(stop); id++ {
		if err := db.Transact(c, func(tr Tx) error {
			tr.Set(w.key(id), []byte("x"))
			return nil
		}); err != nil {
			return fmt.Errorf("sideband mutator: %w", err)
		}
		// The announcement may be lost with a dying process; the check only
		// needs the ones that arrive.
		_, _ = flow.Timeout(c, stream.GetReply(c.Env, &wire.EchoRequest{Id: id}), time.Second)
		w.Messages++
	}
	return nil
}
