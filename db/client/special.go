package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/strata-db/strata/db/clusterfile"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/server/controller"
	"github.com/strata-db/strata/db/server/coordinator"
	"github.com/strata-db/strata/db/status"
	"github.com/strata-db/strata/db/wire"
)

// StatusJSONKey is FoundationDB's special key whose value is the cluster's
// status document (JSON, db/status). Reading it asks the cluster
// controller, found through the coordinators; it needs Config.Cluster.
var StatusJSONKey = []byte("\xff\xff/status/json")

// StatusTimeout bounds how long a read of StatusJSONKey waits for the
// coordinators to name a controller and for the controller to answer.
// Past it the value is a document with only the client section, saying
// what could not be reached.
const StatusTimeout = 5 * time.Second

// ClusterInfo names a cluster's coordinators for the special keys.
type ClusterInfo struct {
	File clusterfile.ClusterFile
	// Path is the cluster file's path, shown in status.
	Path string
	// CoordinatorBaseToken is the coordinators' first well-known token; 0
	// means kv.TokenCoordinatorBase.
	CoordinatorBaseToken uint64
}

// readClusterInfo reads the cluster file at path.
func readClusterInfo(path string) (*ClusterInfo, error) {
	cf, err := clusterfile.Read(path)
	if err != nil {
		return nil, err
	}
	return &ClusterInfo{File: cf, Path: path}, nil
}

func isSpecialKey(key []byte) bool { return bytes.Equal(key, StatusJSONKey) }

// specialReader is what the special keys need from a backend.
type specialReader interface {
	statusJSON(c *flow.Ctx) ([]byte, error)
}

// getSpecial reads a special key. Special keys take no read conflicts and
// are not part of the transaction's snapshot: like FoundationDB's status
// key, each read is a fresh document.
func (tr *Transaction) getSpecial(c *flow.Ctx, key []byte) ([]byte, error) {
	sr, ok := tr.db.(specialReader)
	if !ok {
		return nil, fmt.Errorf("read of %s: this database has no special keys: %w", kv.Printable(key), kv.ErrKeyOutsideLegalRange)
	}
	return do(c, tr, "StatusJSON", sr.statusJSON)
}

// specialKeys follows the cluster controller for the special keys; it
// starts with the first read.
type specialKeys struct {
	monitor *coordinator.LeaderMonitor
	follow  *flow.Actor
	leader  flow.Address
	changed flow.Promise[struct{}]
}

func (s *specialKeys) stop() {
	if s.follow != nil {
		s.follow.Cancel()
		s.follow = nil
	}
	if s.monitor != nil {
		s.monitor.Stop()
		s.monitor = nil
	}
}

// startFollowing begins following the controller and the coordinators.
func (d *Database) startFollowing() error {
	s := &d.special
	if s.follow != nil {
		return nil
	}
	if _, err := coordinator.NewLeaderElection(d.coordinatorConn()); err != nil {
		return fmt.Errorf("client: following the cluster controller: %w", err)
	}
	s.changed = flow.NewPromise[struct{}]()
	s.follow = d.env.Spawn("FollowClusterController", d.followCoordinators)
	return nil
}

// coordinatorConn is the connection to the coordinators the database
// follows now.
func (d *Database) coordinatorConn() coordinator.Conn {
	ci := d.cfg.Cluster
	base := ci.CoordinatorBaseToken
	if base == 0 {
		base = kv.TokenCoordinatorBase
	}
	return coordinator.Conn{File: ci.File, BaseToken: base}
}

// followCoordinators tracks the leader the coordinators agree on and,
// when they forward the database to new coordinators, switches to them
// and monitors those.
func (d *Database) followCoordinators(c *flow.Ctx) error {
	s := &d.special
	for {
		le, err := coordinator.NewLeaderElection(d.coordinatorConn())
		if err != nil {
			return err
		}
		mon := le.MonitorLeader(c.Env)
		s.monitor = mon
		err = d.followLeader(c, mon.Changes())
		mon.Stop()
		var fe *coordinator.ForwardedError
		switch {
		case errors.Is(err, flow.ErrOperationCancelled):
			return err
		case errors.As(err, &fe):
			d.switchCoordinators(c, fe.To)
		default:
			// A forward this client cannot follow (an invalid connection
			// string from the network): keep the coordinators it has.
			c.Trace(flow.SevWarnAlw, "ClientFollowCoordinatorsFailed", flow.D("Error", err.Error()))
			if err := c.Sleep(followRetryDelay); err != nil {
				return err
			}
		}
	}
}

// followRetryDelay is the pause before monitoring the coordinators again
// after the monitor failed.
const followRetryDelay = time.Second

// followLeader records each leader the monitor reports until it ends.
func (d *Database) followLeader(c *flow.Ctx, changes flow.FutureStream[*wire.LeaderInfo]) error {
	s := &d.special
	for {
		li, err := changes.Next(c)
		if err != nil {
			return err
		}
		addr, err := controller.LeaderAddress(li)
		if err != nil {
			continue
		}
		s.setLeader(addr)
	}
}

func (s *specialKeys) setLeader(addr flow.Address) {
	s.leader = addr
	old := s.changed
	s.changed = flow.NewPromise[struct{}]()
	old.Send(struct{}{})
}

// switchCoordinators makes to the database's coordinators: it opens the
// database through them from now on and persists the new connection
// string. The old ones forwarded to it, so the move is decided.
func (d *Database) switchCoordinators(c *flow.Ctx, to clusterfile.ClusterFile) {
	from := d.cfg.Cluster.File
	c.Trace(flow.SevWarnAlw, "ClientCoordinatorsChanged", flow.D("From", from.String()), flow.D("To", to.String()))
	d.cfg.Cluster.File = to
	entry := make([]flow.Address, 0, len(to.Coordinators))
	for _, a := range to.Addresses() {
		entry = append(entry, flow.Address(a))
	}
	d.entry = entry
	d.special.setLeader("")
	d.clusterFileStale = false
	if d.cfg.OnCoordinatorsChanged != nil {
		if err := d.cfg.OnCoordinatorsChanged(c, to); err != nil {
			d.clusterFileStale = true
			c.Trace(flow.SevWarnAlw, "ClientClusterFileNotUpdated", flow.D("To", to.String()), flow.D("Error", err.Error()))
		}
	}
}

// CurrentClusterFile returns the connection string the database follows
// now (the one it was opened with until the coordinators move), and
// whether it has one.
func (d *Database) CurrentClusterFile() (clusterfile.ClusterFile, bool) {
	if d.cfg.Cluster == nil {
		return clusterfile.ClusterFile{}, false
	}
	return d.cfg.Cluster.File, true
}

// statusJSON asks the cluster controller for the status document. When no
// controller is known or it does not answer within StatusTimeout, the
// document has only the client section (FoundationDB does the same).
func (d *Database) statusJSON(c *flow.Ctx) ([]byte, error) {
	if d.cfg.Cluster == nil {
		return nil, errors.New("client: reading status needs the cluster file (Config.Cluster)")
	}
	if err := d.startFollowing(); err != nil {
		return nil, err
	}
	rep, err := d.askController(c, c.Now().Add(StatusTimeout))
	if errors.Is(err, flow.ErrOperationCancelled) {
		return nil, err
	}
	if errors.Is(err, errNoController) {
		return d.clientOnlyStatus(c, "no_cluster_controller", "Unable to locate a cluster controller.")
	}
	if err != nil {
		return d.clientOnlyStatus(c, "status_incomplete_cluster", "Could not retrieve cluster status: "+err.Error())
	}
	st, err := status.Parse(rep.GetJson())
	if err != nil {
		return nil, fmt.Errorf("client: the cluster controller's status: %w", err)
	}
	st.Client.ClusterFile = status.ClusterFile{Path: d.cfg.Cluster.Path, UpToDate: !d.clusterFileStale}
	st.Client.Timestamp = c.Now().Unix()
	return json.Marshal(st)
}

var errNoController = errors.New("no cluster controller known")

// askController asks the controller the coordinators name for the status
// document until one answers or deadline passes. A controller that does
// not answer is asked again, or its successor once the coordinators name
// one: right after a controller dies they still name it for a few seconds.
func (d *Database) askController(c *flow.Ctx, deadline time.Time) (*wire.StatusReply, error) {
	s := &d.special
	err := errNoController
	for c.Now().Before(deadline) {
		if s.leader == "" {
			if _, err := flow.Select(c, s.changed.Future(), c.Delay(deadline.Sub(c.Now()))); err != nil {
				return nil, err
			}
			continue
		}
		stream := flow.NewRequestStream(flow.Endpoint{Addr: s.leader, Token: kv.TokenStatus},
			flow.ProtoCodec[*wire.StatusRequest](), flow.ProtoCodec[*wire.StatusReply]())
		var rep *wire.StatusReply
		rep, err = flow.Timeout(c, stream.GetReply(c.Env, &wire.StatusRequest{}), min(deadline.Sub(c.Now()), statusAttempt))
		if err == nil || errors.Is(err, flow.ErrOperationCancelled) {
			return rep, err
		}
		if _, err := flow.Select(c, s.changed.Future(), c.Delay(min(deadline.Sub(c.Now()), statusRetryDelay))); err != nil {
			return nil, err
		}
	}
	return nil, err
}

// statusAttempt bounds one status request; statusRetryDelay is the pause
// before asking again.
const (
	statusAttempt    = 2 * time.Second
	statusRetryDelay = 250 * time.Millisecond
)

// clientOnlyStatus is the document of a cluster whose controller could not
// be reached: the coordinators as this client's failure monitor sees them.
func (d *Database) clientOnlyStatus(c *flow.Ctx, name, description string) ([]byte, error) {
	ci := d.cfg.Cluster
	cs := status.Client{
		ClusterFile: status.ClusterFile{Path: ci.Path, UpToDate: !d.clusterFileStale},
		Timestamp:   c.Now().Unix(),
	}
	reachable := 0
	for _, a := range ci.File.Addresses() {
		ok := !c.IsFailed(flow.Address(a))
		if ok {
			reachable++
		}
		cs.Coordinators.Coordinators = append(cs.Coordinators.Coordinators, status.Coordinator{Address: a, Reachable: ok})
	}
	cs.Coordinators.QuorumReachable = reachable > len(ci.File.Coordinators)/2
	if !cs.Coordinators.QuorumReachable {
		cs.Messages = append(cs.Messages, status.Message{Name: "quorum_not_reachable", Description: "Unable to reach a quorum of coordinators."})
	}
	cs.Messages = append(cs.Messages, status.Message{Name: name, Description: description})
	return json.Marshal(&status.Status{Client: cs})
}
