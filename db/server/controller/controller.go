package controller

import (
	"errors"
	"fmt"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/server/ratekeeper"
	"github.com/strata-db/strata/db/server/recruit"
	"github.com/strata-db/strata/db/status"
	"github.com/strata-db/strata/db/wire"
)

// ErrTooManyWorkers refuses a report from a process beyond MaxWorkers.
var ErrTooManyWorkers = &flow.Error{Code: 2800, Name: "too_many_workers"}

// worker is the controller's record of one process.
type worker struct {
	report *wire.WorkerReport
	at     time.Time
	// prev and prevAt are the report before, for rates.
	prev   *wire.WorkerMetrics
	prevAt time.Time
	// failed is set by the failure monitor; failedAt is when.
	failed   bool
	failedAt time.Time
	watcher  *flow.Actor
}

// Controller is the running cluster controller of one leadership term.
type Controller struct {
	env      *flow.Env
	cfg      Config
	changeID uint64
	started  time.Time

	workers map[flow.Address]*worker
	// redundancy, engine and roles are the configuration read from the
	// database, "" and zero until read.
	redundancy, engine string
	roles              RoleCounts

	// The database's recovery: the running generation (nil before the
	// first recovery), its ServerDBInfo and the recovery phase.
	knobs       recoveryKnobs
	dd          ddKnobs
	ddStats     distributionStats
	gen         *generation
	info        *wire.ServerDBInfo
	recovery    status.RecoveryState
	recoveredAt time.Time
	genActors   []*flow.Actor
	// ratekeeper meters the generation's read versions.
	ratekeeper *ratekeeper.Ratekeeper
	// lastPlacement keeps roles where they were when still fit.
	lastPlacement *recruit.Placement
	// exclusionList is what the database's exclusion keys name;
	// exclusions the registered processes it matches, by address.
	exclusionList []kv.Exclusion
	exclusions    map[string]bool
	// maintenance is the zone under maintenance, if any.
	maintenance *kv.HealthyZone

	// coordinatorsChangeError is why the last requested coordinators
	// change failed, "" if it did not.
	coordinatorsChangeError string

	reports *flow.Listener[*wire.WorkerReport, *wire.WorkerReportReply]
	status  *flow.Listener[*wire.StatusRequest, *wire.StatusReply]
	actors  []*flow.Actor
}

func newController(env *flow.Env, cfg Config, changeID uint64) (*Controller, error) {
	cc := &Controller{
		env: env, cfg: cfg, changeID: changeID, started: env.Now(),
		workers:    map[flow.Address]*worker{},
		knobs:      defaultRecoveryKnobs(),
		dd:         defaultDDKnobs(),
		exclusions: map[string]bool{},
		reports:    flow.Listen(env, kv.TokenWorkerReport, flow.ProtoCodec[*wire.WorkerReport](), flow.ProtoCodec[*wire.WorkerReportReply]()),
		status:     flow.Listen(env, kv.TokenStatus, flow.ProtoCodec[*wire.StatusRequest](), flow.ProtoCodec[*wire.StatusReply]()),
	}
	cc.actors = append(cc.actors,
		env.Spawn("Controller.Reports", cc.serveReports),
		env.Spawn("Controller.Status", cc.serveStatus),
	)
	if cfg.Recover {
		rk, err := ratekeeper.New(env, ratekeeper.Config{ID: "ratekeeper-" + string(env.Address()),
			Source: ratekeeper.SourceFunc(cc.rateSample)})
		if err != nil {
			return nil, err
		}
		cc.ratekeeper = rk
		cc.actors = append(cc.actors, env.Spawn("Controller.Recovery", cc.runRecoveries))
	}
	if cfg.Configuration != nil {
		cc.actors = append(cc.actors, env.Spawn("Controller.Configuration", cc.readConfiguration))
	}
	if r, ok := cfg.Configuration.(CoordinatorsReader); ok && cfg.Recover {
		cc.actors = append(cc.actors, env.Spawn("Controller.Coordinators", func(c *flow.Ctx) error { return cc.watchCoordinators(c, r) }))
	}
	return cc, nil
}

// Stop closes the controller's endpoints and stops watching workers.
func (cc *Controller) Stop() {
	cc.reports.Close()
	cc.status.Close()
	for _, a := range cc.actors {
		a.Cancel()
	}
	for _, w := range cc.workers {
		w.watcher.Cancel()
	}
	for _, a := range cc.genActors {
		a.Cancel()
	}
	if cc.ratekeeper != nil {
		cc.ratekeeper.Stop()
	}
}

func (cc *Controller) serveReports(c *flow.Ctx) error {
	for {
		r, err := cc.reports.Requests().Next(c)
		if err != nil {
			return err
		}
		if err := cc.register(r.Msg); err != nil {
			r.Fail(err)
			continue
		}
		r.Reply(&wire.WorkerReportReply{ControllerChangeId: cc.changeID})
	}
}

// register records a report; a process's first report starts watching it.
func (cc *Controller) register(rep *wire.WorkerReport) error {
	addr := flow.Address(rep.GetAddress())
	if addr == "" {
		return errors.New("controller: report without an address")
	}
	now := cc.env.Now()
	w := cc.workers[addr]
	if w == nil {
		if len(cc.workers) >= MaxWorkers {
			return ErrTooManyWorkers
		}
		w = &worker{}
		cc.workers[addr] = w
		w.watcher = cc.env.Spawn("Controller.WatchWorker", func(c *flow.Ctx) error { return cc.watch(c, addr, w) })
		cc.env.Trace(flow.SevInfo, "WorkerRegistered", flow.D("Worker", addr), flow.D("Class", rep.GetClassType()))
	}
	if w.report != nil && w.report.GetStartTime() == rep.GetStartTime() {
		w.prev, w.prevAt = w.report.GetMetrics(), w.at
	} else {
		w.prev = nil // a new incarnation's counters start over
	}
	w.report, w.at = rep, now
	cc.checkGeneration(addr, rep)
	if cc.info != nil && rep.GetServerDbInfoId() != cc.info.GetId() {
		cc.sendInfo(addr)
	}
	if w.failed {
		w.failed = false
		cc.env.Trace(flow.SevInfo, "WorkerRecovered", flow.D("Worker", addr))
	}
	return nil
}

// watch marks w failed whenever the failure monitor declares it so, and
// clears the mark when it is heard from again.
func (cc *Controller) watch(c *flow.Ctx, addr flow.Address, w *worker) error {
	for {
		if err := c.WaitFailure(c, addr); err != nil {
			return err
		}
		if !w.failed {
			w.failed, w.failedAt = true, c.Now()
			c.Trace(flow.SevWarn, "WorkerFailed", flow.D("Worker", addr))
		}
		if err := c.WaitAvailable(c, addr); err != nil {
			return err
		}
	}
}

func (cc *Controller) serveStatus(c *flow.Ctx) error {
	for {
		r, err := cc.status.Requests().Next(c)
		if err != nil {
			return err
		}
		doc, err := cc.StatusJSON()
		if err != nil {
			r.Fail(err)
			continue
		}
		r.Reply(&wire.StatusReply{Json: doc})
	}
}

func (cc *Controller) readConfiguration(c *flow.Ctx) error {
	for {
		p := flow.NewPromise[Settings]()
		reader := c.Spawn("Controller.ReadConfiguration", func(c *flow.Ctx) error {
			st, err := cc.cfg.Configuration.ReadConfiguration(c)
			if err != nil {
				p.Fail(err)
				return nil
			}
			p.Send(st)
			return nil
		})
		got, err := flow.Timeout(c, p.Future(), cc.cfg.ConfigurationInterval)
		reader.Cancel()
		switch {
		case errors.Is(err, flow.ErrOperationCancelled):
			return err
		case err != nil:
			c.Trace(flow.SevInfo, "ControllerConfigurationUnread", flow.D("Error", fmt.Sprint(err)))
		default:
			cc.redundancy, cc.engine, cc.roles = got.RedundancyMode, got.StorageEngine, got.Roles
			cc.exclusionList, cc.maintenance = got.Exclusions, got.Maintenance
			cc.exclusions = cc.excludedAddresses()
			cc.checkConfiguration()
		}
		if err := c.Sleep(cc.cfg.ConfigurationInterval); err != nil {
			return err
		}
	}
}

// excludedAddresses resolves the exclusions against the registered
// processes.
func (cc *Controller) excludedAddresses() map[string]bool {
	out := map[string]bool{}
	for addr, w := range cc.workers {
		for _, e := range cc.exclusionList {
			if e.Matches(string(addr), w.report.GetLocality()) {
				out[string(addr)] = true
			}
		}
	}
	return out
}
