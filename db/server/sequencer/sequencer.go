package sequencer

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/wire"
)

// Config parameterises a sequencer.
type Config struct {
	// ID names the sequencer in its interface and traces.
	ID string
	// InitialVersion is the last version of the previous generation (or 0
	// for a new database): the first commit version is above it and the
	// live committed version starts at it.
	InitialVersion kv.Version
	// RecoveryGap puts the generation's first version at least this far
	// above InitialVersion, and the clock with it: past every version the
	// previous generation may have pushed to a log that the recovery did
	// not lock. Storage servers that pulled such a version hold data of a
	// discarded branch until they hear of the recovery; they must not
	// serve it as this generation's. FDB starts a generation
	// MAX_VERSIONS_IN_FLIGHT past the recovery version for the same reason.
	RecoveryGap kv.Version
	// MaxVersionJump bounds how far one version may jump ahead of the
	// previous one; 0 means kv.MVCCWindow.
	MaxVersionJump kv.Version
	// MaxVersionsAhead bounds how far versions may run ahead of the clock;
	// 0 means DefaultMaxVersionsAhead.
	MaxVersionsAhead kv.Version
	// ReplyCacheSize is how many recent replies per proxy are kept to answer
	// retried requests; 0 means DefaultReplyCacheSize.
	ReplyCacheSize int
}

// Defaults of Config.
const (
	DefaultMaxVersionsAhead kv.Version = 100_000_000
	// DefaultRecoveryGap is FDB's MAX_VERSIONS_IN_FLIGHT: far more than
	// the versions a dying generation can push in the seconds before its
	// commit proxies notice.
	DefaultRecoveryGap    kv.Version = 100_000_000
	DefaultReplyCacheSize            = 1024
)

// ErrReplyForgotten answers a retried request too old to be in the reply
// cache: the proxy asked again long after it was answered.
var ErrReplyForgotten = errors.New("sequencer: reply to a retried request was forgotten")

// Sequencer is a running sequencer role.
type Sequencer struct {
	env       *flow.Env
	cfg       Config
	start     time.Time
	prev      kv.Version // the last version handed out
	committed kv.Version // the live committed version
	// raised is fulfilled (and replaced) whenever committed grows, to wake
	// a request held back by the in-flight bound.
	raised flow.Promise[struct{}]
	// heldLive are live committed version requests held until the
	// generation's first commit (see serveLive).
	heldLive []*flow.Request[*wire.GetLiveCommittedVersionRequest, *wire.GetLiveCommittedVersionReply]
	first    kv.Version // the generation's first version, 0 until handed out
	proxies  map[string]*proxyState

	getVersion *flow.Listener[*wire.GetCommitVersionRequest, *wire.GetCommitVersionReply]
	report     *flow.Listener[*wire.ReportCommittedRequest, *wire.ReportCommittedReply]
	live       *flow.Listener[*wire.GetLiveCommittedVersionRequest, *wire.GetLiveCommittedVersionReply]
	actors     []*flow.Actor
	metrics    metrics
}

type metrics struct {
	versions, retries, reports *flow.Counter
}

// proxyState tracks one commit proxy's numbered requests.
type proxyState struct {
	latest  uint64 // highest request number answered
	replies map[uint64]*wire.GetCommitVersionReply
	// advanced is fulfilled (and replaced) whenever latest grows, to wake
	// requests waiting for their predecessor.
	advanced flow.Promise[struct{}]
}

// New starts a sequencer on env, listening on fresh dynamic tokens.
func New(env *flow.Env, cfg Config) (*Sequencer, error) {
	if cfg.InitialVersion < 0 || cfg.RecoveryGap < 0 {
		return nil, fmt.Errorf("sequencer: initial version %d or recovery gap %d is negative", cfg.InitialVersion, cfg.RecoveryGap)
	}
	if cfg.MaxVersionJump == 0 {
		cfg.MaxVersionJump = kv.MVCCWindow
	}
	if cfg.MaxVersionsAhead == 0 {
		cfg.MaxVersionsAhead = DefaultMaxVersionsAhead
	}
	if cfg.ReplyCacheSize == 0 {
		cfg.ReplyCacheSize = DefaultReplyCacheSize
	}
	if cfg.MaxVersionJump < 1 || cfg.MaxVersionsAhead < 1 || cfg.ReplyCacheSize < 1 {
		return nil, fmt.Errorf("sequencer: limits must be positive: %+v", cfg)
	}
	m := env.Metrics()
	s := &Sequencer{
		env:        env,
		cfg:        cfg,
		start:      env.Now(),
		prev:       cfg.InitialVersion,
		committed:  cfg.InitialVersion,
		raised:     flow.NewPromise[struct{}](),
		proxies:    map[string]*proxyState{},
		getVersion: flow.Listen(env, 0, flow.ProtoCodec[*wire.GetCommitVersionRequest](), flow.ProtoCodec[*wire.GetCommitVersionReply]()),
		report:     flow.Listen(env, 0, flow.ProtoCodec[*wire.ReportCommittedRequest](), flow.ProtoCodec[*wire.ReportCommittedReply]()),
		live:       flow.Listen(env, 0, flow.ProtoCodec[*wire.GetLiveCommittedVersionRequest](), flow.ProtoCodec[*wire.GetLiveCommittedVersionReply]()),
		metrics: metrics{
			versions: m.Counter("sequencer.commit_versions"),
			retries:  m.Counter("sequencer.retried_requests"),
			reports:  m.Counter("sequencer.reports"),
		},
	}
	s.actors = append(s.actors,
		env.Spawn("Sequencer.GetCommitVersion", s.serveCommitVersions),
		env.Spawn("Sequencer.ReportCommitted", s.serveReports),
		env.Spawn("Sequencer.GetLiveCommittedVersion", s.serveLive),
	)
	env.Trace(flow.SevInfo, "SequencerStarted", flow.D("ID", cfg.ID), flow.D("InitialVersion", int64(cfg.InitialVersion)))
	return s, nil
}

// Interface returns where the sequencer listens.
func (s *Sequencer) Interface() *wire.SequencerInterface {
	return &wire.SequencerInterface{
		Address:                 string(s.env.Address()),
		Id:                      s.cfg.ID,
		GetCommitVersion:        s.getVersion.Stream().Endpoint().Token,
		ReportCommitted:         s.report.Stream().Endpoint().Token,
		GetLiveCommittedVersion: s.live.Stream().Endpoint().Token,
	}
}

// Stop stops serving: pending and later requests fail.
func (s *Sequencer) Stop() {
	for _, a := range s.actors {
		a.Cancel()
	}
	s.getVersion.Close()
	s.report.Close()
	s.live.Close()
	for _, r := range s.heldLive {
		r.Fail(flow.ErrBrokenPromise)
	}
	s.heldLive = nil
}

// LiveCommittedVersion returns the highest version reported committed.
func (s *Sequencer) LiveCommittedVersion() kv.Version { return s.committed }

// clockVersion is the version the clock says it is now.
func (s *Sequencer) clockVersion() kv.Version {
	return s.cfg.InitialVersion + s.cfg.RecoveryGap + kv.Version(s.env.Now().Sub(s.start)/time.Microsecond)
}

// nextVersion picks the version after prev (see the package doc).
func nextVersion(prev, clock, maxJump kv.Version) kv.Version {
	step := min(max(clock-prev, 1), maxJump)
	return prev + step
}

func (s *Sequencer) serveCommitVersions(c *flow.Ctx) error {
	for {
		r, err := s.getVersion.Requests().Next(c)
		if err != nil {
			return err
		}
		ps := s.proxy(r.Msg.GetProxyId())
		if r.Msg.GetRequestNum() > ps.latest+1 {
			// Out of order: answer once the proxy's previous request has
			// been, without holding up other proxies.
			c.Spawn("Sequencer.WaitPredecessor", func(c *flow.Ctx) error {
				for r.Msg.GetRequestNum() > ps.latest+1 {
					if _, err := flow.Await(c, ps.advanced.Future()); err != nil {
						return err
					}
				}
				return s.answer(c, ps, r)
			})
			continue
		}
		if err := s.answer(c, ps, r); err != nil {
			return err
		}
	}
}

func (s *Sequencer) proxy(id string) *proxyState {
	ps := s.proxies[id]
	if ps == nil {
		ps = &proxyState{replies: map[uint64]*wire.GetCommitVersionReply{}, advanced: flow.NewPromise[struct{}]()}
		s.proxies[id] = ps
	}
	return ps
}

// answer replies to a request whose predecessor has been answered.
func (s *Sequencer) answer(c *flow.Ctx, ps *proxyState, r *flow.Request[*wire.GetCommitVersionRequest, *wire.GetCommitVersionReply]) error {
	num := r.Msg.GetRequestNum()
	if s.answerRetry(ps, r) {
		return nil
	}
	if err := s.waitForClock(c); err != nil {
		return err
	}
	if err := s.waitInFlight(c); err != nil {
		return err
	}
	if s.answerRetry(ps, r) { // a copy of it was answered meanwhile
		return nil
	}
	v := nextVersion(s.prev, s.clockVersion(), s.cfg.MaxVersionJump)
	if s.first == 0 {
		v = max(v, s.cfg.InitialVersion+s.cfg.RecoveryGap+1) // the first version leaps the gap
		s.first = v
	} else if limit := s.inFlightLimit(); v > limit {
		v = limit // waitInFlight made sure limit > prev
	}
	rep := &wire.GetCommitVersionReply{PrevVersion: int64(s.prev), Version: int64(v), RequestNum: num}
	s.prev = v
	s.metrics.versions.Inc()
	ps.latest = num
	ps.replies[num] = rep
	delete(ps.replies, num-uint64(s.cfg.ReplyCacheSize))
	ps.advanced.Send(struct{}{})
	ps.advanced = flow.NewPromise[struct{}]()
	r.Reply(rep)
	return nil
}

// answerRetry answers a request that was answered before, from the reply
// cache, and reports whether it was one.
func (s *Sequencer) answerRetry(ps *proxyState, r *flow.Request[*wire.GetCommitVersionRequest, *wire.GetCommitVersionReply]) bool {
	num := r.Msg.GetRequestNum()
	if num > ps.latest {
		return false
	}
	s.metrics.retries.Inc()
	if rep, ok := ps.replies[num]; ok {
		r.Reply(rep)
	} else {
		r.Fail(fmt.Errorf("proxy %q request %d: %w", r.Msg.GetProxyId(), num, ErrReplyForgotten))
	}
	return true
}

// waitForClock holds the next version back while it would run more than
// MaxVersionsAhead ahead of the clock.
func (s *Sequencer) waitForClock(c *flow.Ctx) error {
	for {
		ahead := s.prev + 1 - s.clockVersion()
		if ahead <= s.cfg.MaxVersionsAhead {
			return nil
		}
		wait := time.Duration(ahead-s.cfg.MaxVersionsAhead) * time.Second / kv.VersionsPerSecond
		if err := c.Sleep(wait); err != nil {
			return err
		}
	}
}

// inFlightLimit is the highest version that may be handed out now, when
// RecoveryGap is set: at most RecoveryGap above the live committed version,
// and nothing after the first version until it is committed. Every version
// a log holds is then less than RecoveryGap above a version committed on
// every log, so a recovery's recovery version, which is at or above each
// committed version, plus the gap is above every version of this
// generation on any log, even on logs the recovery did not lock. This is
// what makes RecoveryGap a guarantee rather than a guess about how far a
// dying generation's logs may run ahead (FDB: MAX_VERSIONS_IN_FLIGHT, and
// the recovery transaction committing before any other).
func (s *Sequencer) inFlightLimit() kv.Version {
	if s.cfg.RecoveryGap == 0 {
		return math.MaxInt64
	}
	if s.committed < s.first {
		return s.first
	}
	return s.committed + s.cfg.RecoveryGap
}

// waitInFlight holds the next version back until the in-flight bound
// (inFlightLimit) leaves room for it.
func (s *Sequencer) waitInFlight(c *flow.Ctx) error {
	for s.first != 0 && s.inFlightLimit() <= s.prev {
		if _, err := flow.Await(c, s.raised.Future()); err != nil {
			return err
		}
	}
	return nil
}

func (s *Sequencer) serveReports(c *flow.Ctx) error {
	for {
		r, err := s.report.Requests().Next(c)
		if err != nil {
			return err
		}
		s.metrics.reports.Inc()
		v := kv.Version(r.Msg.GetVersion())
		if v > s.prev {
			// A proxy cannot have committed a version never handed out.
			s.env.Trace(flow.SevError, "SequencerReportAboveVersion", flow.D("Reported", int64(v)), flow.D("Latest", int64(s.prev)))
			r.Fail(fmt.Errorf("sequencer: reported committed version %d above the latest version %d", v, s.prev))
			continue
		}
		if v > s.committed {
			s.committed = v
			s.answerHeldLive()
			raised := s.raised
			s.raised = flow.NewPromise[struct{}]()
			raised.Send(struct{}{})
		}
		r.Reply(&wire.ReportCommittedReply{})
	}
}

// serveLive answers live committed version requests. Until the
// generation's first commit (its first version leaps RecoveryGap) it holds
// them: a read version below that leap is too old for every commit of the
// generation, so a transaction reading at it could never commit (FDB's
// proxies likewise give out no read version before the recovery
// transaction commits).
func (s *Sequencer) serveLive(c *flow.Ctx) error {
	for {
		r, err := s.live.Requests().Next(c)
		if err != nil {
			return err
		}
		if s.cfg.RecoveryGap == 0 || s.committed > s.cfg.InitialVersion {
			r.Reply(&wire.GetLiveCommittedVersionReply{Version: int64(s.committed)})
			continue
		}
		s.heldLive = append(s.heldLive, r)
	}
}

// answerHeldLive answers the live committed version requests held until
// the first commit.
func (s *Sequencer) answerHeldLive() {
	for _, r := range s.heldLive {
		r.Reply(&wire.GetLiveCommittedVersionReply{Version: int64(s.committed)})
	}
	s.heldLive = nil
}
