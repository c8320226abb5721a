package tlog_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/server/tlog"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/wire"
)

var (
	lockCodec    = flow.ProtoCodec[*wire.TLogLockRequest]()
	lockRepCodec = flow.ProtoCodec[*wire.TLogLockReply]()
)

// logProc is a simulated process running one log. cfg is what its next
// boot uses, so a test can reboot it locked, or seeding, or plain.
type logProc struct {
	p       *sim.Process
	cfg     tlog.Config
	log     *tlog.TLog
	boots   int
	bootErr error // the last boot's error
}

// iface is the running log's interface, nil while it is down or booting.
func (lp *logProc) iface() *wire.TLogInterface {
	if lp.log == nil {
		return nil
	}
	return lp.log.Interface()
}

// fleet is several simulated log processes and a client process.
type fleet struct {
	s      *sim.Simulation
	client *sim.Process
	logs   []*logProc
	err    error
}

func newFleet(seed uint64) *fleet {
	f := &fleet{s: sim.New(seed, sim.Options{Buggify: seed%2 == 1})}
	f.client = f.s.AddProcess(f.s.AddMachine(flow.Locality{}), 4500, func(*flow.Env) {})
	return f
}

// addLog starts a log process, in a zone of its own, booting with cfg.
func (f *fleet) addLog(cfg tlog.Config) *logProc {
	lp := &logProc{cfg: cfg}
	if lp.cfg.SegmentBytes == 0 {
		lp.cfg.SegmentBytes = segmentBytes
	}
	if lp.cfg.MaxPeekReplyBytes == 0 {
		lp.cfg.MaxPeekReplyBytes = peekLimit
	}
	lp.p = f.s.AddProcess(f.s.AddMachine(flow.Locality{}), 4500, func(e *flow.Env) {
		lp.log, lp.bootErr = nil, nil
		e.Spawn("boot", func(c *flow.Ctx) error {
			t, err := tlog.New(c, lp.cfg)
			if err != nil {
				lp.bootErr = err
				return err
			}
			lp.log = t
			lp.boots++
			return nil
		})
	})
	f.logs = append(f.logs, lp)
	return lp
}

// reboot kills the log's process and starts it again after delay.
func (f *fleet) reboot(lp *logProc, delay time.Duration) {
	lp.log, lp.bootErr = nil, nil
	f.s.Reboot(lp.p, delay)
}

func (f *fleet) fail(err error) {
	if f.err == nil {
		f.err = err
	}
}

// run spawns body on the client and runs the simulation until it returns.
func (f *fleet) run(name string, limit time.Duration, body func(c *flow.Ctx) error) error {
	done := false
	f.client.Env().Spawn(name, func(c *flow.Ctx) error {
		defer func() { done = true }()
		if err := body(c); err != nil {
			f.fail(fmt.Errorf("%s: %w", name, err))
		}
		return nil
	})
	if !f.s.Run(limit, func() bool { return done || f.err != nil }) {
		return fmt.Errorf("%s did not finish within %v", name, limit)
	}
	return f.err
}

// booted waits until the log's current boot finished, and returns its
// error.
func booted(c *flow.Ctx, lp *logProc) error {
	for lp.log == nil && lp.bootErr == nil {
		if err := c.Sleep(10 * time.Millisecond); err != nil {
			return err
		}
	}
	return lp.bootErr
}

// ask sends one request to the log at iface.
func ask[Req, Rep any](c *flow.Ctx, iface *wire.TLogInterface, token func(*wire.TLogInterface) uint64,
	req Req, rc flow.Codec[Req], pc flow.Codec[Rep]) (Rep, error) {
	ep := flow.Endpoint{Addr: flow.Address(iface.Address), Token: token(iface)}
	return flow.Timeout(c, flow.NewRequestStream(ep, rc, pc).GetReply(c.Env, req), requestExpiry)
}

func lockLog(c *flow.Ctx, iface *wire.TLogInterface) (*wire.TLogLockReply, error) {
	return ask(c, iface, func(i *wire.TLogInterface) uint64 { return i.Lock }, &wire.TLogLockRequest{}, lockCodec, lockRepCodec)
}

func commitTo(c *flow.Ctx, iface *wire.TLogInterface, req *wire.TLogCommitRequest) error {
	_, err := ask(c, iface, func(i *wire.TLogInterface) uint64 { return i.Commit }, req, commitCodec, commitRepCodec)
	return err
}

func popAt(c *flow.Ctx, iface *wire.TLogInterface, tag uint32, to int64) error {
	_, err := ask(c, iface, func(i *wire.TLogInterface) uint64 { return i.Pop }, &wire.TLogPopRequest{Tag: tag, To: to}, popCodec, popRepCodec)
	return err
}

// tagRead is what peeking a tag from 0 through a version returned.
type tagRead struct {
	got []*wire.VersionedMutations
	// first is where the data starts: the popped point a reply reported,
	// or 0.
	first int64
	// kcv is the known committed version of the last reply.
	kcv int64
}

// readTag peeks the tag from 0 until every version through until was
// returned.
func readTag(c *flow.Ctx, iface *wire.TLogInterface, tag uint32, until int64) (tagRead, error) {
	var r tagRead
	for begin := int64(0); begin <= until; {
		rep, err := ask(c, iface, func(i *wire.TLogInterface) uint64 { return i.Peek },
			&wire.TLogPeekRequest{Tag: tag, Begin: begin}, peekCodec, peekRepCodec)
		if err != nil {
			return r, fmt.Errorf("peek of tag %d from %d: %w", tag, begin, err)
		}
		if rep.Popped != 0 {
			r.first = rep.Popped
		}
		for _, m := range rep.Messages {
			if m.Version < begin || m.Version >= rep.End {
				return r, fmt.Errorf("tag %d: peek from %d returned version %d with end %d", tag, begin, m.Version, rep.End)
			}
			r.got = append(r.got, m)
		}
		if rep.End <= begin {
			return r, fmt.Errorf("tag %d: peek from %d answered end %d: the log lacks versions through %d", tag, begin, rep.End, until)
		}
		r.kcv = rep.KnownCommittedVersion
		begin = rep.End
	}
	return r, nil
}

// between returns the tag's expected mutations at versions in [lo, hi].
func (w *workload) between(tag uint32, lo, hi int64) []*wire.VersionedMutations {
	var out []*wire.VersionedMutations
	for _, m := range w.expected[tag] {
		if m.Version >= lo && m.Version <= hi {
			out = append(out, m)
		}
	}
	return out
}

// truncate drops the workload's commits after version v.
func (w *workload) truncate(v int64) {
	w.commits = slices.DeleteFunc(w.commits, func(r *wire.TLogCommitRequest) bool { return r.Version > v })
	for tag := range w.expected {
		w.expected[tag] = w.between(tag, 0, v)
	}
}

// extend appends n commits after version v and returns them.
func (w *workload) extend(rng *rand.Rand, v int64, n int) []*wire.TLogCommitRequest {
	var out []*wire.TLogCommitRequest
	for range n {
		prev := v
		v += 1 + rng.Int64N(100)
		req := &wire.TLogCommitRequest{PrevVersion: prev, Version: v, KnownCommittedVersion: prev}
		tag := uint32(rng.IntN(numTags))
		muts := []*wire.Mutation{{Type: uint32(kv.SetValue), Key: fmt.Appendf(nil, "new/tag%d/v%d", tag, v), Param: []byte("x")}}
		req.Messages = []*wire.TaggedMutations{{Tag: tag, Mutations: muts}}
		w.expected[tag] = append(w.expected[tag], &wire.VersionedMutations{Version: v, Mutations: muts})
		out = append(out, req)
	}
	w.commits = append(w.commits, out...)
	return out
}

// pusher sends a workload's commits to one log, in order with a window of
// them in flight, each retried until answered, as a commit proxy would. It
// stops at the first tlog_stopped or once stop is set.
type pusher struct {
	acks []int // per commit: how many logs acknowledged it
	stop bool
	// pace is the longest pause between sending two commits.
	pace time.Duration
}

func (p *pusher) push(c *flow.Ctx, lp *logProc, w *workload) error {
	const window = 6
	refused := false
	var inflight []*flow.Actor
	for i, req := range w.commits {
		if refused || p.stop {
			break
		}
		if len(inflight) == window {
			if _, err := flow.Await(c, inflight[0].Done()); err != nil {
				return err
			}
			inflight = inflight[1:]
		}
		if p.pace > 0 {
			if err := c.Sleep(time.Duration(c.Rand().Int64N(int64(p.pace)))); err != nil {
				return err
			}
		}
		inflight = append(inflight, c.Spawn("push", func(c *flow.Ctx) error {
			for !refused && !p.stop {
				iface := lp.iface()
				if iface != nil {
					err := commitTo(c, iface, req)
					if err == nil {
						p.acks[i]++
						return nil
					}
					if errors.Is(err, tlog.ErrTLogStopped) {
						refused = true
						return nil
					}
				}
				if err := c.Sleep(20 * time.Millisecond); err != nil {
					return err
				}
			}
			return nil
		}))
	}
	for _, a := range inflight {
		if _, err := flow.Await(c, a.Done()); err != nil {
			return err
		}
	}
	return nil
}

// oldGeneration is the outcome of running a generation of logs to its
// end: the locks' replies and the recovery they call for.
type oldGeneration struct {
	locks []*wire.TLogLockReply
	rv    int64
	// tags are the popped points to seed from: per tag, the lowest of the
	// locked logs'.
	tags []*wire.TLogTagState
	// maxPop is per tag the highest pop sent to any log.
	maxPop map[uint32]int64
	// acked is the highest version every log acknowledged.
	acked int64
}

// runGeneration commits w to the logs while one of them (the last) dies or
// is cut off, pops some tags, then locks the others one after the other
// with commits still arriving, so their ends differ.
func runGeneration(f *fleet, w *workload, logs []*logProc) (*oldGeneration, error) {
	g := &oldGeneration{maxPop: map[uint32]int64{}}
	p := &pusher{acks: make([]int, len(w.commits)), pace: 4 * time.Millisecond}
	lost, locked := logs[len(logs)-1], logs[:len(logs)-1]
	rng := f.s.Rand()
	err := f.run("old-generation", 5*time.Minute, func(c *flow.Ctx) error {
		for _, lp := range logs {
			if err := booted(c, lp); err != nil {
				return err
			}
		}
		var pushers []*flow.Actor
		for _, lp := range logs {
			pushers = append(pushers, c.Spawn("pusher", func(c *flow.Ctx) error { return p.push(c, lp, w) }))
		}
		if err := c.Sleep(time.Duration(50+rng.IntN(350)) * time.Millisecond); err != nil {
			return err
		}
		if err := popSome(c, logs, w, p, g); err != nil {
			return err
		}
		if rng.IntN(2) == 0 {
			f.s.Kill(lost.p)
		} else {
			f.s.ClogProcess(lost.p.Addr, time.Minute)
		}
		for _, lp := range locked {
			if err := c.Sleep(time.Duration(rng.IntN(150)) * time.Millisecond); err != nil {
				return err
			}
			rep, err := lockLog(c, lp.iface())
			if err != nil {
				return fmt.Errorf("locking %s: %w", lp.cfg.ID, err)
			}
			g.locks = append(g.locks, rep)
		}
		p.stop = true
		for _, a := range pushers {
			if _, err := flow.Await(c, a.Done()); err != nil {
				return err
			}
		}
		return checkLocked(c, locked, w, g)
	})
	if err != nil {
		return nil, err
	}
	for i, n := range p.acks {
		if n == len(logs) {
			g.acked = w.commits[i].Version
		}
	}
	g.tags = mergeTags(g.locks)
	for _, rep := range g.locks {
		g.rv = max(g.rv, rep.End)
		if rep.End < g.acked {
			return nil, fmt.Errorf("a log locked at end %d, below the acknowledged version %d", rep.End, g.acked)
		}
	}
	return g, nil
}

// popSome pops a few tags on every log to an acknowledged version, as a
// storage server that made it durable would.
func popSome(c *flow.Ctx, logs []*logProc, w *workload, p *pusher, g *oldGeneration) error {
	acked := int64(0)
	for i, n := range p.acks {
		if n < len(logs) {
			break
		}
		acked = w.commits[i].Version
	}
	if acked == 0 {
		return nil
	}
	for tag := range uint32(numTags) {
		if c.Rand().IntN(2) == 0 {
			continue
		}
		to := 1 + c.Rand().Int64N(acked)
		for _, lp := range logs {
			if err := popAt(c, lp.iface(), tag, to); err != nil {
				return fmt.Errorf("popping tag %d on %s: %w", tag, lp.cfg.ID, err)
			}
		}
		g.maxPop[tag] = to
	}
	return nil
}

// checkLocked checks that locked logs refuse commits and answer locks the
// same way again.
func checkLocked(c *flow.Ctx, locked []*logProc, w *workload, g *oldGeneration) error {
	for i, lp := range locked {
		next := &wire.TLogCommitRequest{PrevVersion: g.locks[i].End, Version: g.locks[i].End + 1}
		if err := commitTo(c, lp.iface(), next); !errors.Is(err, tlog.ErrTLogStopped) {
			return fmt.Errorf("commit to locked %s: got %v, want tlog_stopped", lp.cfg.ID, err)
		}
		again, err := lockLog(c, lp.iface())
		if err != nil {
			return err
		}
		if again.End != g.locks[i].End || again.KnownCommittedVersion != g.locks[i].KnownCommittedVersion {
			return fmt.Errorf("second lock of %s: end %d kcv %d, first said %d and %d", lp.cfg.ID,
				again.End, again.KnownCommittedVersion, g.locks[i].End, g.locks[i].KnownCommittedVersion)
		}
	}
	return nil
}

// mergeTags is every tag of the locks' replies with its lowest popped point.
func mergeTags(reps []*wire.TLogLockReply) []*wire.TLogTagState {
	popped := map[uint32]int64{}
	for _, rep := range reps {
		for _, ts := range rep.Tags {
			if p, ok := popped[ts.Tag]; !ok || ts.Popped < p {
				popped[ts.Tag] = ts.Popped
			}
		}
	}
	var out []*wire.TLogTagState
	for tag, p := range popped {
		out = append(out, &wire.TLogTagState{Tag: tag, Popped: p})
	}
	slices.SortFunc(out, func(a, b *wire.TLogTagState) int { return int(a.Tag) - int(b.Tag) })
	return out
}

// checkSeeded peeks every tag from the new log and compares with the
// workload's prefix through until (its data through the recovery version
// and whatever was committed to it since).
func checkSeeded(c *flow.Ctx, iface *wire.TLogInterface, w *workload, g *oldGeneration, until int64, phase string) error {
	for tag := range uint32(numTags) {
		r, err := readTag(c, iface, tag, until)
		if err != nil {
			return fmt.Errorf("%s: %w", phase, err)
		}
		// A tag never popped may start at 1: versions are positive.
		if limit := g.maxPop[tag]; r.first > max(limit, 1) {
			return fmt.Errorf("%s: tag %d starts at %d, above its highest pop %d", phase, tag, r.first, limit)
		}
		if d := diffReads(w.between(tag, r.first, until), r.got); d != "" {
			return fmt.Errorf("%s: tag %d read (-want +got):\n%s", phase, tag, d)
		}
		if r.kcv < g.rv {
			return fmt.Errorf("%s: tag %d peek reported known committed version %d, below the recovery version %d", phase, tag, r.kcv, g.rv)
		}
	}
	return nil
}

// runRecoverySeed runs a generation of three logs to its end (one lost,
// two locked), seeds a new log from them at the recovery version while a
// source may be rebooted, checks the new log serves exactly the old
// prefix, then commits on, reboots it, and checks again.
func runRecoverySeed(seed uint64) error {
	f := newFleet(seed)
	w := newWorkload(f.s.Rand(), 250)
	var old []*logProc
	for i := range 3 {
		old = append(old, f.addLog(tlog.Config{ID: fmt.Sprintf("old%d", i)}))
	}
	g, err := runGeneration(f, w, old)
	if err != nil {
		return err
	}
	from := []*wire.TLogInterface{old[0].iface(), old[1].iface(), old[2].iface()}
	if old[2].iface() == nil {
		from[2] = &wire.TLogInterface{Address: string(old[2].p.Addr), Id: "old2", Lock: 1, Peek: 2}
	}
	f.s.Rand().Shuffle(len(from), func(i, j int) { from[i], from[j] = from[j], from[i] })
	rec := &tlog.Recovery{From: from, Tags: g.tags, Version: g.rv, RequestTimeout: time.Second}
	seeded := f.addLog(tlog.Config{ID: "new", Recover: rec})
	err = f.run("seed", 5*time.Minute, func(c *flow.Ctx) error {
		if f.s.Rand().IntN(2) == 0 {
			// Reboot a source mid-seeding: the copy moves to another source,
			// or fails and is retried with the sources' new interfaces.
			lp := old[f.s.Rand().IntN(2)]
			lp.cfg.Locked = true
			if err := c.Sleep(time.Duration(f.s.Rand().IntN(20)) * time.Millisecond); err != nil {
				return err
			}
			f.reboot(lp, 50*time.Millisecond)
		}
		err := booted(c, seeded)
		if errors.Is(err, tlog.ErrNoSeedSource) {
			for _, lp := range old[:2] {
				if err := booted(c, lp); err != nil {
					return err
				}
			}
			rec.From = []*wire.TLogInterface{old[0].iface(), old[1].iface()}
			f.reboot(seeded, 10*time.Millisecond)
			err = booted(c, seeded)
		}
		if err != nil {
			return err
		}
		if v := seeded.log.Version(); v != g.rv {
			return fmt.Errorf("seeded log at version %d, want %d", v, g.rv)
		}
		return checkSeeded(c, seeded.iface(), w, g, g.rv, "after seeding")
	})
	if err != nil {
		return err
	}
	return continueNewGeneration(f, seeded, w, g)
}

// continueNewGeneration commits after the recovery version on the seeded
// log, checks old and new data, reboots it with the same config (it must
// not seed again) and checks once more.
func continueNewGeneration(f *fleet, seeded *logProc, w *workload, g *oldGeneration) error {
	// The new generation's commits follow the recovery version.
	w.truncate(g.rv)
	newCommits := w.extend(f.s.Rand(), g.rv, 30)
	return f.run("new-generation", 5*time.Minute, func(c *flow.Ctx) error {
		for _, req := range newCommits {
			if err := commitTo(c, seeded.iface(), req); err != nil {
				return fmt.Errorf("committing %d on the seeded log: %w", req.Version, err)
			}
		}
		last := w.lastVersion()
		if err := checkSeeded(c, seeded.iface(), w, g, last, "after new commits"); err != nil {
			return err
		}
		f.reboot(seeded, 10*time.Millisecond)
		if err := booted(c, seeded); err != nil {
			return err
		}
		if v := seeded.log.Version(); v != last {
			return fmt.Errorf("after reboot the seeded log is at version %d, want %d", v, last)
		}
		return checkSeeded(c, seeded.iface(), w, g, last, "after reboot")
	})
}

func TestSeedNewGenerationFromLockedLogs(t *testing.T) {
	for seed := uint64(1); seed <= 16; seed++ {
		if err := runRecoverySeed(seed); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
	}
}

// A lock fails the commits waiting and every later one with tlog_stopped,
// answers the same end every time, and leaves peeks and pops working.
func TestLockRefusesCommitsAndIsIdempotent(t *testing.T) {
	f := newFleet(3)
	lp := f.addLog(tlog.Config{ID: "log"})
	w := newWorkload(f.s.Rand(), 3)
	err := f.run("lock", time.Minute, func(c *flow.Ctx) error {
		if err := booted(c, lp); err != nil {
			return err
		}
		iface := lp.iface()
		if err := commitTo(c, iface, w.commits[0]); err != nil {
			return err
		}
		// The third commit waits for the second, which never comes.
		ep := flow.Endpoint{Addr: flow.Address(iface.Address), Token: iface.Commit}
		waiting := flow.NewRequestStream(ep, commitCodec, commitRepCodec).GetReply(c.Env, w.commits[2])
		if err := c.Sleep(50 * time.Millisecond); err != nil {
			return err
		}
		first, err := lockLog(c, iface)
		if err != nil {
			return err
		}
		v0 := w.commits[0].Version
		if first.End != v0 || first.KnownCommittedVersion != w.commits[0].KnownCommittedVersion {
			return fmt.Errorf("lock answered end %d kcv %d; want %d and %d", first.End, first.KnownCommittedVersion,
				v0, w.commits[0].KnownCommittedVersion)
		}
		if !lp.log.Locked() {
			return errors.New("the log does not say it is locked")
		}
		if _, err := flow.Await(c, waiting); !errors.Is(err, tlog.ErrTLogStopped) {
			return fmt.Errorf("waiting commit after the lock: got %v, want tlog_stopped", err)
		}
		for _, req := range w.commits[:2] { // a duplicate and the next one
			if err := commitTo(c, iface, req); !errors.Is(err, tlog.ErrTLogStopped) {
				return fmt.Errorf("commit of %d after the lock: got %v, want tlog_stopped", req.Version, err)
			}
		}
		var tags []uint32
		for tag := range uint32(numTags) {
			r, err := readTag(c, iface, tag, v0)
			if err != nil {
				return err
			}
			if d := diffReads(w.between(tag, 0, v0), r.got); d != "" {
				return fmt.Errorf("tag %d after the lock (-want +got):\n%s", tag, d)
			}
			if len(r.got) > 0 {
				tags = append(tags, tag)
			}
		}
		if err := popAt(c, iface, 77, v0); err != nil {
			return err
		}
		again, err := lockLog(c, iface)
		if err != nil {
			return err
		}
		if again.End != first.End || again.KnownCommittedVersion != first.KnownCommittedVersion {
			return fmt.Errorf("second lock: %v; first: %v", again, first)
		}
		var got []string
		for _, ts := range again.Tags {
			got = append(got, fmt.Sprintf("%d:%d", ts.Tag, ts.Popped))
		}
		var want []string
		for _, tag := range tags {
			want = append(want, fmt.Sprintf("%d:0", tag))
		}
		want = append(want, fmt.Sprintf("77:%d", v0-1))
		if strings.Join(got, " ") != strings.Join(want, " ") {
			return fmt.Errorf("lock listed tags %v, want %v", got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A log reopened with Config.Locked serves its data and locks but refuses
// commits; reopened unlocked it takes the next commit.
func TestLockedReopen(t *testing.T) {
	f := newFleet(4)
	lp := f.addLog(tlog.Config{ID: "log"})
	w := newWorkload(f.s.Rand(), 40)
	err := f.run("locked-reopen", time.Minute, func(c *flow.Ctx) error {
		if err := booted(c, lp); err != nil {
			return err
		}
		for _, req := range w.commits[:30] {
			if err := commitTo(c, lp.iface(), req); err != nil {
				return err
			}
		}
		end := w.commits[29].Version
		lp.cfg.Locked = true
		f.reboot(lp, 10*time.Millisecond)
		if err := booted(c, lp); err != nil {
			return err
		}
		if err := commitTo(c, lp.iface(), w.commits[30]); !errors.Is(err, tlog.ErrTLogStopped) {
			return fmt.Errorf("commit to a log reopened locked: got %v, want tlog_stopped", err)
		}
		rep, err := lockLog(c, lp.iface())
		if err != nil {
			return err
		}
		if rep.End != end || rep.KnownCommittedVersion != w.commits[29].KnownCommittedVersion {
			return fmt.Errorf("lock of the reopened log: end %d kcv %d; want %d and %d", rep.End,
				rep.KnownCommittedVersion, end, w.commits[29].KnownCommittedVersion)
		}
		for tag := range uint32(numTags) {
			r, err := readTag(c, lp.iface(), tag, end)
			if err != nil {
				return err
			}
			if d := diffReads(w.between(tag, 0, end), r.got); d != "" {
				return fmt.Errorf("tag %d of the locked reopen (-want +got):\n%s", tag, d)
			}
			if r.kcv != w.commits[29].KnownCommittedVersion {
				return fmt.Errorf("tag %d: peek known committed version %d, want %d", tag, r.kcv, w.commits[29].KnownCommittedVersion)
			}
		}
		lp.cfg.Locked = false
		f.reboot(lp, 10*time.Millisecond)
		if err := booted(c, lp); err != nil {
			return err
		}
		return commitTo(c, lp.iface(), w.commits[30])
	})
	if err != nil {
		t.Fatal(err)
	}
}

// runSeedCrash kills a log in the middle of its seeding: reopened without
// Recover it refuses to start (ErrIncomplete); reopened with it, it seeds
// again and serves exactly the old data. It reports whether the kill came
// mid-seeding and left an incomplete log.
func runSeedCrash(seed uint64) (bool, error) {
	f := newFleet(seed)
	w := newWorkload(f.s.Rand(), 200)
	src := f.addLog(tlog.Config{ID: "old", MaxPeekReplyBytes: 1500})
	var g *oldGeneration
	err := f.run("old", 5*time.Minute, func(c *flow.Ctx) error {
		if err := booted(c, src); err != nil {
			return err
		}
		if err := (&pusher{acks: make([]int, len(w.commits))}).push(c, src, w); err != nil {
			return err
		}
		rep, err := lockLog(c, src.iface())
		g = &oldGeneration{locks: []*wire.TLogLockReply{rep}, rv: rep.End, tags: rep.Tags, maxPop: map[uint32]int64{}}
		return err
	})
	if err != nil {
		return false, err
	}
	rec := &tlog.Recovery{From: []*wire.TLogInterface{src.iface()}, Tags: g.tags, Version: g.rv}
	seeded := f.addLog(tlog.Config{ID: "new", SegmentBytes: 4 << 10, Recover: rec})
	midSeed, incomplete := false, false
	err = f.run("crash-and-reseed", 5*time.Minute, func(c *flow.Ctx) error {
		var err error
		if midSeed, err = killWhenCopying(c, f, seeded.p, seeded, 100*time.Millisecond); err != nil {
			return err
		}
		seeded.log, seeded.bootErr = nil, nil
		if !midSeed {
			return nil
		}
		seeded.cfg.Recover = nil
		f.reboot(seeded, 10*time.Millisecond)
		if err := booted(c, seeded); err == nil {
			// The crash came after the seeding was marked complete, as
			// New was about to return: the log must be whole.
			return checkSeeded(c, seeded.iface(), w, g, g.rv, "reopened after a crash at the end of seeding")
		} else if !errors.Is(err, tlog.ErrIncomplete) {
			return fmt.Errorf("reopening a log whose seeding crashed: got %v, want ErrIncomplete", err)
		}
		incomplete = true
		seeded.cfg.Recover = rec
		f.reboot(seeded, 10*time.Millisecond)
		if err := booted(c, seeded); err != nil {
			return err
		}
		return checkSeeded(c, seeded.iface(), w, g, g.rv, "after seeding again")
	})
	return midSeed && incomplete, err
}

func TestCrashDuringSeedingThenSeedAgain(t *testing.T) {
	crashes := 0
	for seed := uint64(1); seed <= 12; seed++ {
		mid, err := runSeedCrash(seed)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if mid {
			crashes++
		}
	}
	if crashes < 6 {
		t.Fatalf("only %d of 12 runs crashed the log mid-seeding", crashes)
	}
}

// Seeding gives up with ErrNoSeedSource when no source reaches the
// recovery version, and refuses a directory holding an unseeded log.
func TestSeedingRefusals(t *testing.T) {
	f := newFleet(5)
	src := f.addLog(tlog.Config{ID: "old"})
	w := newWorkload(f.s.Rand(), 5)
	err := f.run("refusals", time.Minute, func(c *flow.Ctx) error {
		if err := booted(c, src); err != nil {
			return err
		}
		for _, req := range w.commits {
			if err := commitTo(c, src.iface(), req); err != nil {
				return err
			}
		}
		rep, err := lockLog(c, src.iface())
		if err != nil {
			return err
		}
		behind := &tlog.Recovery{From: []*wire.TLogInterface{src.iface()}, Tags: rep.Tags, Version: rep.End + 10,
			RequestTimeout: time.Second}
		lp := f.addLog(tlog.Config{ID: "new", Recover: behind})
		if err := booted(c, lp); !errors.Is(err, tlog.ErrNoSeedSource) {
			return fmt.Errorf("seeding beyond every source: got %v, want ErrNoSeedSource", err)
		}
		src.cfg.Recover = &tlog.Recovery{From: []*wire.TLogInterface{src.iface()}, Tags: rep.Tags, Version: rep.End}
		f.reboot(src, 10*time.Millisecond)
		if err := booted(c, src); !errors.Is(err, tlog.ErrNotSeeded) {
			return fmt.Errorf("seeding over an unseeded log: got %v, want ErrNotSeeded", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Destroy deletes the log's files: the directory reopens as an empty log.
func TestDestroyRemovesFiles(t *testing.T) {
	f := newFleet(6)
	lp := f.addLog(tlog.Config{ID: "log", Dir: "tlog-7"})
	w := newWorkload(f.s.Rand(), 20)
	err := f.run("destroy", time.Minute, func(c *flow.Ctx) error {
		if err := booted(c, lp); err != nil {
			return err
		}
		for _, req := range w.commits {
			if err := commitTo(c, lp.iface(), req); err != nil {
				return err
			}
		}
		iface := lp.iface()
		log := lp.log
		destroy := lp.p.Env().Spawn("destroy", func(c *flow.Ctx) error { return log.Destroy(c) })
		if _, err := flow.Await(c, destroy.Done()); err != nil {
			return err
		}
		if names, err := lp.p.Env().Files().List("tlog-7"); err != nil || len(names) != 0 {
			return fmt.Errorf("after Destroy the directory holds %v (%v)", names, err)
		}
		if err := commitTo(c, iface, w.commits[0]); err == nil {
			return errors.New("a destroyed log took a commit")
		}
		f.reboot(lp, 10*time.Millisecond)
		if err := booted(c, lp); err != nil {
			return err
		}
		if v := lp.log.Version(); v != 0 {
			return fmt.Errorf("the destroyed log reopened at version %d", v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// killWhenCopying kills the process of a log being seeded once its copy
// started writing segments, after up to maxDelay more, and reports whether
// that was before the seeding finished.
func killWhenCopying(c *flow.Ctx, f *fleet, victim *sim.Process, seeded *logProc, maxDelay time.Duration) (bool, error) {
	for seeded.log == nil && seeded.bootErr == nil {
		names, err := seeded.p.Env().Files().List(seeded.cfg.Dir)
		if err != nil {
			return false, err
		}
		if slices.ContainsFunc(names, func(n string) bool { return strings.HasSuffix(n, ".seg") }) {
			if err := c.Sleep(time.Duration(c.Rand().Int64N(int64(maxDelay)))); err != nil {
				return false, err
			}
			if seeded.log != nil || seeded.bootErr != nil {
				return false, nil
			}
			f.s.Kill(victim)
			return true, nil
		}
		if err := c.Sleep(100 * time.Microsecond); err != nil {
			return false, err
		}
	}
	return false, nil
}

// When a source dies in the middle of a seeding, the tags it served are
// read from the other source.
func TestSeedFailsOverToAnotherSource(t *testing.T) {
	failovers := 0
	for seed := uint64(1); seed <= 6; seed++ {
		f := newFleet(seed)
		w := newWorkload(f.s.Rand(), 200)
		old := []*logProc{f.addLog(tlog.Config{ID: "old0", MaxPeekReplyBytes: 1500}),
			f.addLog(tlog.Config{ID: "old1", MaxPeekReplyBytes: 1500})}
		var g *oldGeneration
		err := f.run("old", 5*time.Minute, func(c *flow.Ctx) error {
			p := &pusher{acks: make([]int, len(w.commits))}
			for _, lp := range old {
				if err := booted(c, lp); err != nil {
					return err
				}
				if err := p.push(c, lp, w); err != nil {
					return err
				}
			}
			g = &oldGeneration{maxPop: map[uint32]int64{}}
			for _, lp := range old {
				rep, err := lockLog(c, lp.iface())
				if err != nil {
					return err
				}
				g.locks = append(g.locks, rep)
			}
			g.rv, g.tags = g.locks[0].End, mergeTags(g.locks)
			return nil
		})
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		rec := &tlog.Recovery{From: []*wire.TLogInterface{old[0].iface(), old[1].iface()}, Tags: g.tags,
			Version: g.rv, RequestTimeout: time.Second}
		seeded := f.addLog(tlog.Config{ID: "new", SegmentBytes: 4 << 10, Recover: rec})
		err = f.run("seed", 5*time.Minute, func(c *flow.Ctx) error {
			killed, err := killWhenCopying(c, f, old[0].p, seeded, 50*time.Millisecond)
			if err != nil {
				return err
			}
			if killed {
				failovers++
			}
			if err := booted(c, seeded); err != nil {
				return err
			}
			return checkSeeded(c, seeded.iface(), w, g, g.rv, "after seeding")
		})
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
	}
	if failovers < 3 {
		t.Fatalf("a source died mid-seeding in only %d of 6 runs", failovers)
	}
}
