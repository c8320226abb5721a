package coordinator

import (
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/wire"
)

// LeaderMonitor follows who leads the cluster, for clients and servers
// that do not stand for election (FoundationDB's monitorLeader).
type LeaderMonitor struct {
	conn     Conn
	nominees []*wire.LeaderInfo
	last     uint64
	out      flow.PromiseStream[*wire.LeaderInfo]
	actors   []*flow.Actor
}

// MonitorLeader long-polls every coordinator for its nominee and sends on
// Changes() the leader whenever a majority of coordinators agree on a
// different one. The stream closes with a *ForwardedError when the
// coordinators moved (follow it: rewrite the cluster file and monitor the
// new ones), or with flow.ErrOperationCancelled after Stop.
func (le *LeaderElection) MonitorLeader(env *flow.Env) *LeaderMonitor {
	m := &LeaderMonitor{
		conn:     le.conn,
		nominees: make([]*wire.LeaderInfo, len(le.conn.File.Coordinators)),
		out:      flow.NewPromiseStream[*wire.LeaderInfo](),
	}
	for i := range le.conn.File.Coordinators {
		m.actors = append(m.actors, env.Spawn("MonitorLeader.Poll", func(c *flow.Ctx) error { return m.poll(c, i) }))
	}
	return m
}

// Changes returns the stream of leaders, each different from the one
// before.
func (m *LeaderMonitor) Changes() flow.FutureStream[*wire.LeaderInfo] { return m.out.Stream() }

// Stop ends the monitor.
func (m *LeaderMonitor) Stop() { m.close(flow.ErrOperationCancelled) }

func (m *LeaderMonitor) close(err error) {
	for _, a := range m.actors {
		a.Cancel()
	}
	m.out.Close(err)
}

func (m *LeaderMonitor) poll(c *flow.Ctx, i int) error {
	stream := flow.NewRequestStream(m.conn.endpoint(i, offGetLeader), flow.ProtoCodec[*wire.GetLeaderRequest](), flow.ProtoCodec[*wire.NomineeReply]())
	for {
		req := &wire.GetLeaderRequest{ClusterKey: m.conn.File.Key(), KnownNominee: m.nominees[i].GetChangeId()}
		rep, err := flow.Await(c, stream.GetReply(c.Env, req))
		if err != nil {
			if err := c.Sleep(m.conn.Timing.RetryDelay); err != nil {
				return err
			}
			continue
		}
		if to := rep.GetForwardedTo(); to != "" {
			m.close(forwarded(to))
			return nil
		}
		m.nominees[i] = rep.GetNominee()
		m.publish()
	}
}

// publish sends the majority's nominee if it changed.
func (m *LeaderMonitor) publish() {
	votes := map[uint64]int{}
	for _, n := range m.nominees {
		if id := n.GetChangeId(); id != 0 {
			votes[id]++
			if votes[id] > len(m.nominees)/2 && id != m.last {
				m.last = id
				m.out.Send(n)
				return
			}
		}
	}
}
