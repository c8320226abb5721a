package controller

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/server/coordinator"
	"github.com/strata-db/strata/db/status"
	"github.com/strata-db/strata/db/wire"
	"google.golang.org/protobuf/proto"
)

// generation is the running generation this controller recruited.
type generation struct {
	epoch     uint64
	rv        kv.Version
	core      *wire.DBCoreState
	logs      []*wire.TLogInterface
	sequencer *wire.SequencerInterface
	commit    []*wire.CommitProxyInterface
	grv       []*wire.GrvProxyInterface
	resolvers []*wire.ResolverInterface
	// processes host the generation's transaction roles, with the start
	// time each had when recruited (a restart ends the generation) and the
	// roles it must keep reporting.
	processes map[flow.Address]*txProcess
	// failed is fulfilled when a transaction role's process fails.
	failed    flow.Promise[string]
	recovered time.Time
	// lockKnown is the version up to which the coordinated state holds
	// the lock (see lockstate.go).
	lockKnown kv.Version
	// recruitingStorage is set while a storage server is being recruited
	// with recruitingTag: until its outcome is in the coordinated state,
	// workers must not take a server with that tag for an orphan.
	recruitingStorage bool
	recruitingTag     uint32
	// poppedTags are the dead tags (see deadTags) popped on every log of
	// the generation.
	poppedTags map[uint32]bool
	// silentSince is when each listed storage server that no shard names
	// stopped answering data distribution (see removeRetiredStorage).
	silentSince map[string]time.Time
}

// settledTags is the tag below which every storage tag went to a member
// of the coordinated state's list or to a recruitment given up on.
func (g *generation) settledTags() uint32 {
	if g.recruitingStorage {
		return min(g.recruitingTag, g.core.GetNextTag())
	}
	return g.core.GetNextTag()
}

// txProcess is a process hosting transaction roles of a generation.
type txProcess struct {
	start float64
	roles []string
}

// recoveryKnobs time a recovery.
type recoveryKnobs struct {
	// registrationGrace is how long a new controller waits for workers to
	// register before recruiting, so it places roles with the whole
	// cluster in view.
	registrationGrace time.Duration
	// lockTimeout bounds waiting for the old logs' lock replies once one
	// answered.
	lockTimeout time.Duration
	// recruitTimeout bounds one recruitment request.
	recruitTimeout time.Duration
	// retryDelay is the pause after a failed recovery attempt.
	retryDelay time.Duration
	// minRecoveryDuration is how long after locking the old logs a
	// recovery waits before its generation takes commits: longer than a
	// GRV proxy of the old generation may answer under a confirmation from
	// those logs (grvproxy.DefaultConfirmWindow), so none hands out a read
	// version older than a commit of the new one.
	minRecoveryDuration time.Duration
}

func defaultRecoveryKnobs() recoveryKnobs {
	return recoveryKnobs{
		registrationGrace: 300 * time.Millisecond,
		lockTimeout:       200 * time.Millisecond,
		recruitTimeout:    5 * time.Second,
		retryDelay:        200 * time.Millisecond,

		minRecoveryDuration: 85 * time.Millisecond,
	}
}

// errGenerationSuperseded reports that the coordinated state changed under
// a recovery or a data move (another controller, or this one's own newer
// read): the recovery starts over from a fresh read.
var errGenerationSuperseded = errors.New("controller: another controller recovered the database")

// runRecoveries recovers the database, watches the generation, and
// recovers again whenever a transaction role fails — for as long as this
// controller leads.
func (cc *Controller) runRecoveries(c *flow.Ctx) error {
	if err := c.Sleep(cc.knobs.registrationGrace); err != nil {
		return err
	}
	for {
		gen, err := cc.recoverOnce(c)
		if err != nil {
			if errors.Is(err, flow.ErrOperationCancelled) {
				return err
			}
			c.Trace(flow.SevWarn, "RecoveryFailed", flow.D("Error", err.Error()), flow.D("State", cc.recovery.Name))
			if isForwarded(err) {
				return err
			}
			if err := c.Sleep(cc.knobs.retryDelay); err != nil {
				return err
			}
			continue
		}
		cc.gen = gen
		cc.setRecoveryState(status.RecoveryFullyRecovered, "Recovery complete.")
		c.Trace(flow.SevInfo, "RecoveryComplete", flow.D("Epoch", gen.epoch), flow.D("RecoveryVersion", int64(gen.rv)))
		cc.publish(c)
		cc.genActors = append(cc.genActors, c.Spawn("Controller.DataDistribution", func(c *flow.Ctx) error {
			return cc.distribute(c, gen)
		}))
		reason, err := flow.Await(c, gen.failed.Future())
		// The generation's watchers and data distribution end with it.
		for _, a := range cc.genActors {
			a.Cancel()
		}
		cc.genActors = nil
		if err != nil {
			return err
		}
		c.Trace(flow.SevWarn, "GenerationFailed", flow.D("Epoch", gen.epoch), flow.D("Reason", reason))
	}
}

func isForwarded(err error) bool {
	var fe *coordinator.ForwardedError
	return errors.As(err, &fe)
}

func (cc *Controller) setRecoveryState(name, description string) {
	cc.recovery = status.RecoveryState{Name: name, Description: description}
	if name == status.RecoveryFullyRecovered {
		cc.recoveredAt = cc.env.Now()
	}
}

// recoverOnce runs the phases of a recovery (fdb.md §6.1): read the
// coordinated state, lock the old generation's logs and choose the
// recovery version, recruit the new transaction subsystem (its logs
// seeded from the old ones), write the coordinated state, and return the
// generation, which accepts commits once published.
func (cc *Controller) recoverOnce(c *flow.Ctx) (*generation, error) {
	cc.setRecoveryState(status.RecoveryReadingCoordinatedState, "Reading the coordinated state.")
	cs, err := coordinator.NewCoordinatedState(cc.cfg.Conn)
	if err != nil {
		return nil, err
	}
	raw, err := cs.Read(c)
	if err != nil {
		return nil, fmt.Errorf("reading the coordinated state: %w", err)
	}
	core := &wire.DBCoreState{}
	if err := proto.Unmarshal(raw, core); err != nil {
		return nil, fmt.Errorf("decoding the coordinated state: %w", err)
	}
	if core.GetConfiguration() == nil {
		core.Configuration = &wire.DatabaseConfiguration{RedundancyMode: "single"}
	}
	if cc.redundancy != "" {
		core.Configuration.RedundancyMode = cc.redundancy
	}
	if cc.engine != "" {
		core.Configuration.StorageEngine = cc.engine
	}
	if cc.redundancy != "" {
		cc.roles.setIn(core.Configuration)
	}
	var old *lockedLogs
	var lockedAt time.Time
	if len(core.GetLogs()) > 0 {
		cc.setRecoveryState(status.RecoveryLockingOldTxnServers, "Locking the previous generation's logs.")
		if old, err = cc.lockOldLogs(c, core); err != nil {
			return nil, err
		}
		lockedAt = c.Now()
		if err := cc.recoverLock(c, core, old); err != nil {
			return nil, err
		}
	}
	cc.setRecoveryState(status.RecoveryRecruitingTxnServers, "Recruiting the transaction subsystem.")
	gen, err := cc.recruitGeneration(c, core, old)
	if err != nil {
		return nil, err
	}
	cc.setRecoveryState(status.RecoveryWritingCoordinatedState, "Writing the coordinated state.")
	next := proto.CloneOf(gen.core)
	raw, err = deterministic.Marshal(next)
	if err != nil {
		return nil, err
	}
	if err := cs.SetExclusive(c, raw); err != nil {
		if errors.Is(err, coordinator.ErrCoordinatedStateConflict) {
			return nil, errGenerationSuperseded
		}
		return nil, fmt.Errorf("writing the coordinated state: %w", err)
	}
	if !lockedAt.IsZero() {
		if wait := lockedAt.Add(cc.knobs.minRecoveryDuration).Sub(c.Now()); wait > 0 {
			if err := c.Sleep(wait); err != nil {
				return nil, err
			}
		}
	}
	gen.recovered = c.Now()
	cc.watchGeneration(gen)
	return gen, nil
}

// lockedLogs is what locking the previous generation's logs found.
type lockedLogs struct {
	version kv.Version
	// sources are the locked logs holding every version up to version,
	// best first.
	sources []*wire.TLogInterface
	tags    []*wire.LogTagPopped
}

// lockOldLogs locks every reachable log of the previous generation and
// chooses the recovery version: the largest durable end among them. Every
// acknowledged commit was durable on every log, so it is at or below each
// locked log's end; the log with the largest end holds every version up to
// it (commits reach a log in version order). One locked log suffices;
// the others are waited for briefly, to recover as much as was durable.
func (cc *Controller) lockOldLogs(c *flow.Ctx, core *wire.DBCoreState) (*lockedLogs, error) {
	type locked struct {
		iface *wire.TLogInterface
		reply *wire.TLogLockReply
	}
	for {
		ifaces := cc.currentLogInterfaces(core.GetLogs())
		if len(ifaces) == 0 {
			cc.setRecoveryState(status.RecoveryLockingOldTxnServers, "Waiting for a log of the previous generation to come back.")
			if err := c.Sleep(cc.knobs.retryDelay); err != nil {
				return nil, err
			}
			continue
		}
		futures := make([]flow.Future[*wire.TLogLockReply], len(ifaces))
		for i, l := range ifaces {
			s := flow.NewRequestStream(endpoint(l.GetAddress(), l.GetLock()),
				flow.ProtoCodec[*wire.TLogLockRequest](), flow.ProtoCodec[*wire.TLogLockReply]())
			futures[i] = s.GetReply(c.Env, &wire.TLogLockRequest{})
		}
		var got []locked
		// Wait for the first lock, then the rest for a short while.
		if err := awaitFirstSuccess(c, futures, cc.knobs.recruitTimeout); err != nil {
			return nil, err
		}
		if err := awaitUntil(c, futures, cc.knobs.lockTimeout); err != nil {
			return nil, err
		}
		for i, f := range futures {
			if f.IsReady() && f.Err() == nil {
				rep, _ := f.Get()
				got = append(got, locked{iface: ifaces[i], reply: rep})
			}
		}
		if len(got) == 0 {
			cc.setRecoveryState(status.RecoveryLockingOldTxnServers, "No log of the previous generation could be locked.")
			if err := c.Sleep(cc.knobs.retryDelay); err != nil {
				return nil, err
			}
			continue
		}
		slices.SortStableFunc(got, func(a, b locked) int { return cmpInt64(b.reply.GetEnd(), a.reply.GetEnd()) })
		out := &lockedLogs{version: kv.Version(got[0].reply.GetEnd())}
		for _, l := range got {
			if l.reply.GetEnd() == got[0].reply.GetEnd() {
				out.sources = append(out.sources, l.iface)
			}
		}
		for _, t := range got[0].reply.GetTags() {
			if t.GetTag() == kv.TxsTag {
				continue // recoverLock reads it; the next generation starts without it
			}
			out.tags = append(out.tags, &wire.LogTagPopped{Tag: t.GetTag(), Popped: t.GetPopped()})
		}
		c.Trace(flow.SevInfo, "RecoveryLockedLogs", flow.D("Locked", len(got)), flow.D("Of", len(core.GetLogs())),
			flow.D("RecoveryVersion", int64(out.version)))
		return out, nil
	}
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// currentLogInterfaces maps the coordinated state's log IDs to the
// interfaces their workers last reported.
func (cc *Controller) currentLogInterfaces(refs []*wire.LogRef) []*wire.TLogInterface {
	want := map[string]bool{}
	for _, r := range refs {
		want[r.GetId()] = true
	}
	var out []*wire.TLogInterface
	for _, addr := range slices.Sorted(mapsKeys(cc.workers)) {
		w := cc.workers[addr]
		if w.failed {
			continue
		}
		for _, l := range w.report.GetLogs() {
			if want[l.GetId()] {
				out = append(out, l.GetIface())
			}
		}
	}
	return out
}

// watchGeneration fulfils gen.failed when a process hosting one of its
// transaction roles fails or restarts.
func (cc *Controller) watchGeneration(gen *generation) {
	for _, addr := range slices.Sorted(maps.Keys(gen.processes)) {
		cc.genActors = append(cc.genActors, cc.env.Spawn("Controller.WatchGeneration", func(c *flow.Ctx) error {
			if err := c.WaitFailure(c, addr); err != nil {
				return err
			}
			if !gen.failed.IsSet() {
				gen.failed.Send("process " + string(addr) + " failed")
			}
			return nil
		}))
	}
}

// checkGeneration is called with every report: a process of the current
// generation that restarted, or no longer hosts its roles, ends it.
func (cc *Controller) checkGeneration(addr flow.Address, rep *wire.WorkerReport) {
	gen := cc.gen
	if gen == nil || gen.failed.IsSet() {
		return
	}
	p, ok := gen.processes[addr]
	if !ok {
		return
	}
	if rep.GetStartTime() != p.start {
		gen.failed.Send("process " + string(addr) + " restarted")
		return
	}
	if rep.GetGeneration() == gen.epoch {
		for _, r := range p.roles {
			if !slices.Contains(rep.GetRoles(), r) {
				gen.failed.Send("process " + string(addr) + " lost its " + r)
				return
			}
		}
	}
	if rep.GetGeneration() > gen.epoch {
		gen.failed.Send("process " + string(addr) + " follows a newer generation")
	}
}

// checkConfiguration ends the generation when the database's configuration
// changed: the next recovery recruits for the new one.
func (cc *Controller) checkConfiguration() {
	gen := cc.gen
	if gen == nil || gen.failed.IsSet() || cc.redundancy == "" {
		return
	}
	if gen.core.GetConfiguration().GetRedundancyMode() != cc.redundancy {
		gen.failed.Send("configuration changed to " + cc.redundancy)
		return
	}
	if !cc.roles.in(gen.core.GetConfiguration()) {
		gen.failed.Send("configuration changed the role counts")
		return
	}
	// An excluded process hosting a transaction role: the next generation
	// is recruited without it, if the other processes can host it.
	for _, addr := range slices.Sorted(maps.Keys(gen.processes)) {
		if cc.exclusions[string(addr)] && cc.canAvoidExcluded(gen.core) {
			gen.failed.Send("process " + string(addr) + " was excluded")
			return
		}
	}
}
