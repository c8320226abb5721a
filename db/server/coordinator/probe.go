package coordinator

import (
	"errors"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/wire"
)

// Reachable asks every coordinator of conn whom it nominates and reports,
// by coordinator index, which answered within timeout: the check
// FoundationDB's changeQuorum makes before it moves the coordinated state
// (coordinator_unreachable otherwise). A coordinator that answers with a
// forward counts as reachable. The request changes no durable state.
func Reachable(c *flow.Ctx, conn Conn, timeout time.Duration) ([]bool, error) {
	conn, err := conn.check()
	if err != nil {
		return nil, err
	}
	n := len(conn.File.Coordinators)
	futs := make([]flow.Future[*wire.NomineeReply], n)
	for i := range n {
		stream := flow.NewRequestStream(conn.endpoint(i, offGetLeader), flow.ProtoCodec[*wire.GetLeaderRequest](), flow.ProtoCodec[*wire.NomineeReply]())
		// No nominee has this change ID, so the long poll answers at once.
		futs[i] = stream.GetReply(c.Env, &wire.GetLeaderRequest{ClusterKey: conn.File.Key(), KnownNominee: ^uint64(0)})
	}
	out := make([]bool, n)
	deadline := c.Now().Add(timeout)
	for i, f := range futs {
		_, err := flow.Timeout(c, f, max(deadline.Sub(c.Now()), 0))
		if errors.Is(err, flow.ErrOperationCancelled) {
			return nil, err
		}
		out[i] = err == nil
	}
	return out, nil
}
