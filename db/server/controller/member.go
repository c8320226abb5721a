package controller

import (
	"errors"
	"fmt"

	"github.com/strata-db/strata/db/clusterfile"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/server/coordinator"
	"github.com/strata-db/strata/db/wire"
	"google.golang.org/protobuf/proto"
)

// Member is one server process's part in the cluster: candidate for
// controller, and worker reporting to whoever leads.
type Member struct {
	env      *flow.Env
	cfg      Config
	election *coordinator.LeaderElection

	leader        flow.Address // "" until the coordinators agree on one
	leaderChanged flow.Promise[struct{}]
	controller    *Controller // set while this process leads
	actors        []*flow.Actor

	// connChanged is fulfilled (and replaced) when the member follows the
	// coordinators to a new connection string.
	connChanged flow.Promise[struct{}]
	// onConnChange, if set, persists a new connection string (the
	// process's cluster file); written is the last one it persisted.
	onConnChange func(c *flow.Ctx, cf clusterfile.ClusterFile) error
	written      string
}

// Start makes env's process a member of cfg.Conn's cluster: it campaigns
// for controller and reports to the leader until Stop.
func Start(env *flow.Env, cfg Config) (*Member, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	le, err := coordinator.NewLeaderElection(cfg.Conn)
	if err != nil {
		return nil, fmt.Errorf("controller: %w", err)
	}
	m := &Member{env: env, cfg: cfg, election: le, leaderChanged: flow.NewPromise[struct{}](),
		connChanged: flow.NewPromise[struct{}](), written: cfg.Conn.File.String()}
	m.actors = append(m.actors,
		env.Spawn("Controller.Campaign", m.campaign),
		env.Spawn("Controller.Follow", m.follow),
		env.Spawn("Controller.Report", m.report),
		env.Spawn("Controller.PersistConnection", m.persistConnection),
	)
	return m, nil
}

// Stop ends the member's actors and, if it leads, its controller.
func (m *Member) Stop() {
	for _, a := range m.actors {
		a.Cancel()
	}
	if m.controller != nil {
		m.controller.Stop()
		m.controller = nil
	}
}

// Leader returns the address of the controller the member follows ("" if
// none yet).
func (m *Member) Leader() flow.Address { return m.leader }

// Controller returns the controller this process runs, or nil when
// another process leads.
func (m *Member) Controller() *Controller { return m.controller }

// Conn returns the coordinators the member follows now: the ones it
// started with, or those they forwarded it to.
func (m *Member) Conn() coordinator.Conn { return m.cfg.Conn }

// OnConnectionChange sets fn to persist each new connection string the
// member follows (FoundationDB rewrites the cluster file): it runs on the
// member's actor, one call at a time, latest string last. Set it right
// after Start.
func (m *Member) OnConnectionChange(fn func(c *flow.Ctx, cf clusterfile.ClusterFile) error) {
	m.onConnChange = fn
}

// campaign runs for controller; each term runs a Controller until the
// lease is lost, then a new candidacy begins.
func (m *Member) campaign(c *flow.Ctx) error {
	payload, err := proto.Marshal(&wire.ControllerInfo{Address: string(m.env.Address())})
	if err != nil {
		return fmt.Errorf("controller: encoding the candidacy: %w", err)
	}
	for {
		info := &wire.LeaderInfo{ChangeId: c.Rand().Uint64() | 1, Priority: Priority(m.cfg.Class), Info: payload}
		if err := m.term(c, info); err != nil {
			if errors.Is(err, flow.ErrOperationCancelled) {
				return err
			}
			// The coordinators moved: campaign at the new ones at once.
			if m.followForward(err) {
				continue
			}
			// A failed start: try again later.
			c.Trace(flow.SevWarn, "ControllerCampaignFailed", flow.D("Error", err))
			if err := c.Sleep(m.cfg.ReportInterval); err != nil {
				return err
			}
		}
	}
}

// term is one candidacy: wait to lead, lead until the lease is lost.
func (m *Member) term(c *flow.Ctx, info *wire.LeaderInfo) error {
	cp := m.election.Campaign(c.Env, info)
	defer cp.Stop()
	// A move of the coordinators seen by the follower ends the candidacy
	// at the old ones.
	moved := m.connChanged.Future()
	if _, err := flow.Select(c, cp.Leader(), moved); err != nil {
		return err
	}
	if !cp.Leader().IsReady() {
		return nil
	}
	if _, err := cp.Leader().Get(); err != nil {
		return err
	}
	cc, err := newController(c.Env, m.cfg, info.GetChangeId())
	if err != nil {
		return err
	}
	m.controller = cc
	defer func() {
		cc.Stop()
		if m.controller == cc {
			m.controller = nil
		}
	}()
	c.Trace(flow.SevInfo, "ClusterControllerStarted", flow.D("ChangeID", info.GetChangeId()))
	if _, err := flow.Select(c, cp.Lost(), moved); err != nil {
		return err
	}
	if !cp.Lost().IsReady() {
		c.Trace(flow.SevWarn, "ClusterControllerStopped", flow.D("ChangeID", info.GetChangeId()), flow.D("Error", "the coordinators moved"))
		return nil
	}
	_, err = cp.Lost().Get()
	c.Trace(flow.SevWarn, "ClusterControllerStopped", flow.D("ChangeID", info.GetChangeId()), flow.D("Error", err))
	return err
}

// follow tracks the leader the coordinators agree on.
func (m *Member) follow(c *flow.Ctx) error {
	for {
		mon := m.election.MonitorLeader(c.Env)
		err := m.followOne(c, mon)
		mon.Stop()
		if errors.Is(err, flow.ErrOperationCancelled) {
			return err
		}
		if errors.Is(err, errFollowingMoved) || m.followForward(err) {
			continue
		}
		c.Trace(flow.SevWarn, "ControllerMonitorFailed", flow.D("Error", err))
		if err := c.Sleep(m.cfg.ReportInterval); err != nil {
			return err
		}
	}
}

// errFollowingMoved ends following coordinators the member moved away
// from.
var errFollowingMoved = errors.New("controller: following the coordinators' new connection string")

func (m *Member) followOne(c *flow.Ctx, mon *coordinator.LeaderMonitor) error {
	changes := mon.Changes()
	moved := m.connChanged.Future()
	for {
		if _, err := flow.Select(c, changes, moved); err != nil {
			return err
		}
		if moved.IsReady() {
			return errFollowingMoved
		}
		li, err := changes.Next(c)
		if err != nil {
			return err
		}
		addr, err := LeaderAddress(li)
		if err != nil {
			c.Trace(flow.SevWarnAlw, "ControllerLeaderInvalid", flow.D("Error", err))
			continue
		}
		m.leader = addr
		old := m.leaderChanged
		m.leaderChanged = flow.NewPromise[struct{}]()
		old.Send(struct{}{})
	}
}

// followForward switches the member to the coordinators err forwards it
// to, if it is a *coordinator.ForwardedError, and reports whether it was.
// Both the campaign and the follower may see the same forward; the second
// finds the member already there.
func (m *Member) followForward(err error) bool {
	var fe *coordinator.ForwardedError
	if !errors.As(err, &fe) {
		return false
	}
	if fe.To.Key() == m.cfg.Conn.File.Key() {
		return true
	}
	conn := m.cfg.Conn
	conn.File = fe.To
	le, lerr := coordinator.NewLeaderElection(conn)
	if lerr != nil {
		// The old coordinators vouch for the string, but it does not
		// make a connection: stay, and let the operator see why.
		m.env.Trace(flow.SevError, "CoordinatorsForwardInvalid", flow.D("To", fe.To.String()), flow.D("Error", lerr.Error()))
		return false
	}
	m.env.Trace(flow.SevWarnAlw, "CoordinatorsChangedFollowed", flow.D("From", m.cfg.Conn.File.String()), flow.D("To", fe.To.String()))
	m.cfg.Conn, m.election = conn, le
	m.leader = ""
	old := m.connChanged
	m.connChanged = flow.NewPromise[struct{}]()
	old.Send(struct{}{})
	return true
}

// persistConnection hands every new connection string the member follows
// to onConnChange, in order, the latest last.
func (m *Member) persistConnection(c *flow.Ctx) error {
	for {
		for m.cfg.Conn.File.String() == m.written {
			if _, err := flow.Await(c, m.connChanged.Future()); err != nil {
				return err
			}
		}
		cf := m.cfg.Conn.File
		if m.onConnChange != nil {
			if err := m.onConnChange(c, cf); err != nil {
				if errors.Is(err, flow.ErrOperationCancelled) {
					return err
				}
				// As FoundationDB: the process runs on with the new
				// coordinators; only its file is stale.
				c.Trace(flow.SevWarnAlw, "ClusterFileNotUpdated", flow.D("To", cf.String()), flow.D("Error", err.Error()))
			}
		}
		m.written = cf.String()
	}
}

// LeaderAddress decodes the controller's address from its LeaderInfo.
func LeaderAddress(li *wire.LeaderInfo) (flow.Address, error) {
	var ci wire.ControllerInfo
	if err := proto.Unmarshal(li.GetInfo(), &ci); err != nil {
		return "", fmt.Errorf("controller: leader info: %w", err)
	}
	if ci.GetAddress() == "" {
		return "", errors.New("controller: leader info without an address")
	}
	return flow.Address(ci.GetAddress()), nil
}

// report sends the process's report to the leader every interval, and at
// once when the leader changes (re-registering with a new controller).
func (m *Member) report(c *flow.Ctx) error {
	for {
		next := c.Delay(m.cfg.ReportInterval)
		changed := m.leaderChanged.Future()
		if m.leader != "" {
			stream := flow.NewRequestStream(flow.Endpoint{Addr: m.leader, Token: kv.TokenWorkerReport},
				flow.ProtoCodec[*wire.WorkerReport](), flow.ProtoCodec[*wire.WorkerReportReply]())
			// A lost report is replaced by the next one; the failure is
			// the controller's to detect, not the worker's. A report to a
			// dead controller is abandoned when a new one is named.
			if _, err := flow.Select(c, stream.GetReply(c.Env, m.cfg.Report()), next, changed); err != nil {
				return err
			}
		}
		if _, err := flow.Select(c, next, changed); err != nil {
			return err
		}
	}
}
