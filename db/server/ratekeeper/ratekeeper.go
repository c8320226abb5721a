package ratekeeper

import (
	"errors"
	"math"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/status"
	"github.com/strata-db/strata/db/wire"
)

// Config parameterises a ratekeeper.
type Config struct {
	// ID names the ratekeeper in its interface and traces.
	ID string
	// Source is sampled every Knobs.UpdateInterval. Required.
	Source Source
	// Knobs tune it; zero fields take DefaultKnobs.
	Knobs Knobs
}

// Ratekeeper is a running ratekeeper.
type Ratekeeper struct {
	env      *flow.Env
	cfg      Config
	knobs    Knobs
	listener *flow.Listener[*wire.GetRateInfoRequest, *wire.GetRateInfoReply]
	actors   []*flow.Actor

	servers  map[serverKey]*server
	order    []serverKey // servers' keys, sorted, for deterministic iteration
	replicas int
	proxies  map[string]*proxy

	// released and batchReleased count the transactions proxies released
	// (all priorities, and batch priority).
	released, batchReleased smoother
	normal, batch           Limit
	qos                     status.QoS

	updates, requests *flow.Counter
}

// proxy is a GRV proxy's last report.
type proxy struct {
	seen                  time.Time
	def, batch, immediate uint64
}

// New starts a ratekeeper on env, listening on a fresh dynamic token. Until
// its first update (one UpdateInterval) the rate is unlimited.
func New(env *flow.Env, cfg Config) (*Ratekeeper, error) {
	if cfg.Source == nil {
		return nil, errors.New("ratekeeper: Config.Source is required")
	}
	knobs, err := cfg.Knobs.withDefaults()
	if err != nil {
		return nil, err
	}
	m := env.Metrics()
	rk := &Ratekeeper{
		env:           env,
		cfg:           cfg,
		knobs:         knobs,
		listener:      flow.Listen(env, 0, flow.ProtoCodec[*wire.GetRateInfoRequest](), flow.ProtoCodec[*wire.GetRateInfoReply]()),
		servers:       map[serverKey]*server{},
		proxies:       map[string]*proxy{},
		released:      newSmoother(knobs.Smoothing),
		batchReleased: newSmoother(knobs.Smoothing),
		normal:        unlimited(),
		batch:         unlimited(),
		updates:       m.Counter("ratekeeper.updates"),
		requests:      m.Counter("ratekeeper.rate_requests"),
	}
	now := env.Now()
	rk.released.reset(0, now)
	rk.batchReleased.reset(0, now)
	rk.qos = rk.buildQoS(now, Snapshot{})
	rk.actors = append(rk.actors,
		env.Spawn("Ratekeeper.Serve", rk.serve),
		env.Spawn("Ratekeeper.Update", rk.updateLoop),
	)
	env.Trace(flow.SevInfo, "RatekeeperStarted", flow.D("ID", cfg.ID))
	return rk, nil
}

// Interface returns where the ratekeeper listens.
func (rk *Ratekeeper) Interface() *wire.RatekeeperInterface {
	return &wire.RatekeeperInterface{
		Address:     string(rk.env.Address()),
		Id:          rk.cfg.ID,
		GetRateInfo: rk.listener.Stream().Endpoint().Token,
	}
}

// Stop stops serving; proxies keep their rates for their lease and then run
// unthrottled.
func (rk *Ratekeeper) Stop() {
	for _, a := range rk.actors {
		a.Cancel()
	}
	rk.listener.Close()
}

// Limits returns the current cluster-wide limits of default and batch
// priority.
func (rk *Ratekeeper) Limits() (normal, batch Limit) { return rk.normal, rk.batch }

// QoS returns the qos section of status as of the last update.
func (rk *Ratekeeper) QoS() status.QoS { return rk.qos }

// serve answers the proxies' polls with their share of the rates.
func (rk *Ratekeeper) serve(c *flow.Ctx) error {
	for {
		r, err := rk.listener.Requests().Next(c)
		if err != nil {
			return err
		}
		rk.requests.Inc()
		n := rk.account(c.Now(), r.Msg)
		r.Reply(&wire.GetRateInfoReply{
			TransactionsPerSecond:      rk.normal.TPS / float64(n),
			BatchTransactionsPerSecond: rk.batch.TPS / float64(n),
			LeaseSeconds:               rk.knobs.Lease.Seconds(),
		})
	}
}

// account adds a proxy's newly released transactions to the smoothed
// totals and returns how many proxies share the rate.
func (rk *Ratekeeper) account(now time.Time, req *wire.GetRateInfoRequest) int {
	p := rk.proxies[req.GetProxyId()]
	if p == nil {
		// A proxy's totals predate this ratekeeper: they are a baseline.
		p = &proxy{def: req.GetReleasedDefault(), batch: req.GetReleasedBatch(), immediate: req.GetReleasedImmediate()}
		rk.proxies[req.GetProxyId()] = p
	}
	delta := func(last *uint64, cur uint64) uint64 {
		d := cur - *last
		if cur < *last {
			d = cur // the proxy restarted
		}
		*last = cur
		return d
	}
	def := delta(&p.def, req.GetReleasedDefault())
	batch := delta(&p.batch, req.GetReleasedBatch())
	imm := delta(&p.immediate, req.GetReleasedImmediate())
	rk.released.addDelta(float64(def+batch+imm), now)
	rk.batchReleased.addDelta(float64(batch), now)
	p.seen = now
	n := 0
	for id, q := range rk.proxies {
		if now.Sub(q.seen) > rk.knobs.ProxyExpiry {
			delete(rk.proxies, id)
			continue
		}
		n++
	}
	return n
}

// updateLoop recomputes the limits every UpdateInterval.
func (rk *Ratekeeper) updateLoop(c *flow.Ctx) error {
	for {
		if err := c.Sleep(rk.knobs.UpdateInterval); err != nil {
			return err
		}
		rk.update(c.Now())
	}
}

// update samples the source and recomputes both priorities' limits.
func (rk *Ratekeeper) update(now time.Time) {
	rk.updates.Inc()
	snap := rk.cfg.Source.Sample()
	rk.observe(now, snap)
	// FoundationDB floors the measured rate at 1 so that a limit, a
	// multiple of it, can grow back from nothing.
	actual := max(1, rk.released.rate(now))
	normal := rk.compute(rk.knobs.Default, actual)
	batch := rk.compute(rk.knobs.Batch, actual)
	if normal.TPS < batch.TPS {
		batch = normal
	}
	rk.traceChange("", rk.normal, normal, actual)
	rk.traceChange("Batch", rk.batch, batch, actual)
	rk.normal, rk.batch = normal, batch
	rk.qos = rk.buildQoS(now, snap)
}

// traceChange traces when a priority's limiting reason or server changes.
func (rk *Ratekeeper) traceChange(prio string, old, cur Limit, actual float64) {
	if old.Reason == cur.Reason && old.ServerID == cur.ServerID {
		return
	}
	rk.env.Trace(flow.SevInfo, "Ratekeeper"+prio+"LimitReasonChanged", flow.D("ID", rk.cfg.ID),
		flow.D("Reason", cur.Reason.Name()), flow.D("ServerID", cur.ServerID),
		flow.D("TPSLimit", rk.reported(cur.TPS)), flow.D("ReleasedTPS", actual))
}

// reported caps an unlimited rate for display.
func (rk *Ratekeeper) reported(tps float64) float64 {
	if math.IsInf(tps, 1) || tps > rk.knobs.MaxReportedTPS {
		return rk.knobs.MaxReportedTPS
	}
	return tps
}

// limitingShare is the share of a limit the released rate must reach for
// the limit's reason to show in status.
const limitingShare = 0.8

// buildQoS fills status's qos section from the limits and the snapshot.
func (rk *Ratekeeper) buildQoS(now time.Time, snap Snapshot) status.QoS {
	released := max(0, rk.released.rate(now))
	// As FoundationDB's status: a limit the workload does not come near
	// (releasing under 80% of it) is not what limits performance.
	reason := func(l Limit) status.LimitReason {
		if released <= limitingShare*l.TPS {
			l = unlimited()
		}
		return status.LimitReason{Name: l.Reason.Name(), Description: l.Reason.Description(), ReasonServerID: l.ServerID}
	}
	q := status.QoS{
		PerformanceLimitedBy:               reason(rk.normal),
		BatchPerformanceLimitedBy:          reason(rk.batch),
		TransactionsPerSecondLimit:         rk.reported(rk.normal.TPS),
		BatchTransactionsPerSecondLimit:    rk.reported(rk.batch.TPS),
		ReleasedTransactionsPerSecond:      released,
		BatchReleasedTransactionsPerSecond: max(0, rk.batchReleased.rate(now)),
	}
	if q.PerformanceLimitedBy.Name != Workload.Name() && rk.normal.Reason.storage() {
		q.LimitingQueueBytesStorageServer = rk.normal.QueueBytes
	}
	committed := snap.CommittedVersion
	if committed == 0 {
		for _, s := range snap.Queues {
			if s.Kind == LogServer {
				committed = max(committed, s.Version)
			}
		}
	}
	var durability, data int64
	for _, s := range snap.Queues {
		switch s.Kind {
		case StorageServer:
			q.WorstQueueBytesStorageServer = max(q.WorstQueueBytesStorageServer, s.QueueBytes)
			durability = max(durability, s.Version-s.DurableVersion)
			data = max(data, committed-s.Version)
		case LogServer:
			q.WorstQueueBytesLogServer = max(q.WorstQueueBytesLogServer, s.QueueBytes)
		}
	}
	q.WorstDurabilityLagStorage = versionLag(durability)
	q.WorstDataLagStorageServer = versionLag(data)
	return q
}

func versionLag(v int64) status.Lag {
	return status.Lag{Versions: v, Seconds: float64(v) / kv.VersionsPerSecond}
}
