package tlog_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/server/tlog"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/wire"
)

const (
	numTags       = 4
	peekLimit     = 3000
	segmentBytes  = 8 << 10
	requestExpiry = 3 * time.Second
)

var (
	commitCodec    = flow.ProtoCodec[*wire.TLogCommitRequest]()
	commitRepCodec = flow.ProtoCodec[*wire.TLogCommitReply]()
	peekCodec      = flow.ProtoCodec[*wire.TLogPeekRequest]()
	peekRepCodec   = flow.ProtoCodec[*wire.TLogPeekReply]()
	popCodec       = flow.ProtoCodec[*wire.TLogPopRequest]()
	popRepCodec    = flow.ProtoCodec[*wire.TLogPopReply]()
)

// workload is a chain of commits with mutations for several tags, and what
// each tag must read back.
type workload struct {
	commits  []*wire.TLogCommitRequest
	expected map[uint32][]*wire.VersionedMutations
}

func newWorkload(rng *rand.Rand, n int) *workload {
	w := &workload{expected: map[uint32][]*wire.VersionedMutations{}}
	var v int64
	for range n {
		prev := v
		v += 1 + rng.Int64N(1000)
		req := &wire.TLogCommitRequest{PrevVersion: prev, Version: v, KnownCommittedVersion: prev}
		for tag := range uint32(numTags) {
			if rng.IntN(2) == 0 {
				continue
			}
			var muts []*wire.Mutation
			for i := range 1 + rng.IntN(3) {
				muts = append(muts, &wire.Mutation{
					Type:  uint32(kv.SetValue),
					Key:   fmt.Appendf(nil, "tag%d/v%d/%d", tag, v, i),
					Param: make([]byte, rng.IntN(1500)),
				})
			}
			req.Messages = append(req.Messages, &wire.TaggedMutations{Tag: tag, Mutations: muts})
			w.expected[tag] = append(w.expected[tag], &wire.VersionedMutations{Version: v, Mutations: muts})
		}
		w.commits = append(w.commits, req)
	}
	return w
}

func (w *workload) lastVersion() int64 { return w.commits[len(w.commits)-1].Version }

// from returns the tag's expected mutations at versions >= v.
func (w *workload) from(tag uint32, v int64) []*wire.VersionedMutations {
	var out []*wire.VersionedMutations
	for _, m := range w.expected[tag] {
		if m.Version >= v {
			out = append(out, m)
		}
	}
	return out
}

// cluster is a simulated log process and a client process.
type cluster struct {
	s      *sim.Simulation
	logP   *sim.Process
	client *sim.Process
	log    *tlog.TLog
	iface  *wire.TLogInterface
	boots  int
	err    error
}

func newCluster(seed uint64) *cluster {
	// Odd seeds also randomise the runtime's knobs and enable Buggify.
	cl := &cluster{s: sim.New(seed, sim.Options{Buggify: seed%2 == 1})}
	cl.logP = cl.s.AddProcess(cl.s.AddMachine(flow.Locality{}), 4500, func(e *flow.Env) {
		e.Spawn("boot", func(c *flow.Ctx) error {
			t, err := tlog.New(c, tlog.Config{ID: "log0", SegmentBytes: segmentBytes, MaxPeekReplyBytes: peekLimit})
			if err != nil {
				cl.fail(fmt.Errorf("boot %d: %w", cl.boots+1, err))
				return err
			}
			cl.log, cl.iface = t, t.Interface()
			cl.boots++
			return nil
		})
	})
	cl.client = cl.s.AddProcess(cl.s.AddMachine(flow.Locality{}), 4500, func(*flow.Env) {})
	return cl
}

func (cl *cluster) fail(err error) {
	if cl.err == nil {
		cl.err = err
	}
}

// reboot kills the log process and starts it again after delay.
func (cl *cluster) reboot(delay time.Duration) {
	cl.log, cl.iface = nil, nil
	cl.s.Reboot(cl.logP, delay)
}

// run spawns body on the client and runs the simulation until it returns
// (or fails).
func (cl *cluster) run(name string, limit time.Duration, body func(c *flow.Ctx) error) error {
	done := false
	cl.client.Env().Spawn(name, func(c *flow.Ctx) error {
		defer func() { done = true }()
		if err := body(c); err != nil {
			cl.fail(fmt.Errorf("%s: %w", name, err))
		}
		return nil
	})
	if !cl.s.Run(limit, func() bool { return done || cl.err != nil }) {
		return fmt.Errorf("%s did not finish within %v", name, limit)
	}
	return cl.err
}

// call sends a request to the log's current interface until it is
// answered, riding out reboots.
func call[Req, Rep any](c *flow.Ctx, cl *cluster, token func(*wire.TLogInterface) uint64,
	req Req, rc flow.Codec[Req], pc flow.Codec[Rep]) (Rep, error) {
	for {
		if iface := cl.iface; iface != nil {
			ep := flow.Endpoint{Addr: flow.Address(iface.Address), Token: token(iface)}
			rep, err := flow.Timeout(c, flow.NewRequestStream(ep, rc, pc).GetReply(c.Env, req), requestExpiry)
			if err == nil {
				return rep, nil
			}
		}
		if err := c.Sleep(50 * time.Millisecond); err != nil {
			var zero Rep
			return zero, err
		}
	}
}

func commit(c *flow.Ctx, cl *cluster, req *wire.TLogCommitRequest) error {
	rep, err := call(c, cl, func(i *wire.TLogInterface) uint64 { return i.Commit }, req, commitCodec, commitRepCodec)
	if err != nil {
		return err
	}
	if rep.DurableVersion < req.Version {
		return fmt.Errorf("commit of version %d acknowledged with durable version %d", req.Version, rep.DurableVersion)
	}
	return nil
}

// commitAll sends the workload's commits in windows of 8, each window in a
// random order and with some commits sent twice, until all are
// acknowledged.
func commitAll(c *flow.Ctx, cl *cluster, w *workload) error {
	const window = 8
	for i := 0; i < len(w.commits); i += window {
		batch := w.commits[i:min(i+window, len(w.commits))]
		var done []flow.Future[struct{}]
		for _, k := range c.Rand().Perm(len(batch)) {
			sends := 1 + c.Rand().IntN(4)/3 // one in four is duplicated
			for range sends {
				req := batch[k]
				a := c.Spawn("commit", func(c *flow.Ctx) error { return commit(c, cl, req) })
				done = append(done, a.Done())
			}
		}
		for _, d := range done {
			if _, err := flow.Await(c, d); err != nil {
				return err
			}
		}
		if err := c.Sleep(time.Duration(c.Rand().IntN(30)) * time.Millisecond); err != nil {
			return err
		}
	}
	return nil
}

// peekRange reads the tag from begin until every version up to until was
// returned, checking each reply's order and size bound. It returns the
// mutations read and the last popped point a reply reported.
func peekRange(c *flow.Ctx, cl *cluster, tag uint32, begin, until int64) ([]*wire.VersionedMutations, int64, error) {
	var got []*wire.VersionedMutations
	var popped int64
	for begin <= until {
		rep, err := call(c, cl, func(i *wire.TLogInterface) uint64 { return i.Peek },
			&wire.TLogPeekRequest{Tag: tag, Begin: begin}, peekCodec, peekRepCodec)
		if err != nil {
			return nil, 0, err
		}
		if rep.Popped != 0 {
			popped = rep.Popped
		}
		size := 0
		for _, m := range rep.Messages {
			if m.Version < begin || m.Version >= rep.End {
				return nil, 0, fmt.Errorf("tag %d: peek from %d returned version %d with end %d", tag, begin, m.Version, rep.End)
			}
			if n := len(got); n > 0 && got[n-1].Version >= m.Version {
				return nil, 0, fmt.Errorf("tag %d: version %d after %d", tag, m.Version, got[n-1].Version)
			}
			for _, mu := range m.Mutations {
				size += len(mu.Key) + len(mu.Param) + 8
			}
			got = append(got, m)
		}
		if len(rep.Messages) > 1 && size > peekLimit {
			return nil, 0, fmt.Errorf("tag %d: a reply of %d versions holds %d bytes, above the limit %d", tag, len(rep.Messages), size, peekLimit)
		}
		if rep.End < begin {
			return nil, 0, fmt.Errorf("tag %d: peek from %d answered end %d", tag, begin, rep.End)
		}
		begin = rep.End
	}
	return got, popped, nil
}

// checkTags peeks every tag from begin and compares with the workload.
func checkTags(c *flow.Ctx, cl *cluster, w *workload, phase string) error {
	for tag := range uint32(numTags) {
		got, popped, err := peekRange(c, cl, tag, 0, w.lastVersion())
		if err != nil {
			return err
		}
		if popped != 0 {
			return fmt.Errorf("%s: tag %d reported popped %d with nothing popped", phase, tag, popped)
		}
		if d := diffReads(w.expected[tag], got); d != "" {
			return fmt.Errorf("%s: tag %d read (-want +got):\n%s", phase, tag, d)
		}
	}
	return nil
}

func pop(c *flow.Ctx, cl *cluster, tag uint32, to int64) error {
	_, err := call(c, cl, func(i *wire.TLogInterface) uint64 { return i.Pop },
		&wire.TLogPopRequest{Tag: tag, To: to}, popCodec, popRepCodec)
	return err
}

// runLogSeed commits a workload while peekers tail every tag and the log is
// rebooted at random, then checks that everything acknowledged survives a
// last reboot, and that pops reclaim.
func runLogSeed(seed uint64) error {
	cl := newCluster(seed)
	w := newWorkload(cl.s.Rand(), 150)
	committed := false
	cl.s.Controller().Spawn("chaos", func(c *flow.Ctx) error {
		for range 4 {
			if err := c.Sleep(time.Duration(50+cl.s.Rand().IntN(250)) * time.Millisecond); err != nil || committed {
				return err
			}
			cl.reboot(time.Duration(cl.s.Rand().IntN(200)) * time.Millisecond)
		}
		return nil
	})
	stop := cl.s.Now().Add(2 * time.Second)
	cl.s.Controller().Spawn("clog", func(c *flow.Ctx) error {
		return cl.s.RandomClogging(c, stop, sim.ClogOptions{Targets: []flow.Address{cl.logP.Addr, cl.client.Addr},
			MeanInterval: 100 * time.Millisecond, MaxClog: 300 * time.Millisecond})
	})
	err := cl.run("commit-and-tail", 5*time.Minute, func(c *flow.Ctx) error {
		var tails []flow.Future[struct{}]
		for tag := range uint32(numTags) {
			a := c.Spawn(fmt.Sprintf("tail%d", tag), func(c *flow.Ctx) error {
				got, _, err := peekRange(c, cl, tag, 0, w.lastVersion())
				if err != nil {
					return err
				}
				if d := diffReads(w.expected[tag], got); d != "" {
					return fmt.Errorf("tailing tag %d read (-want +got):\n%s", tag, d)
				}
				return nil
			})
			tails = append(tails, a.Done())
		}
		if err := commitAll(c, cl, w); err != nil {
			return err
		}
		committed = true
		for _, f := range tails {
			if _, err := flow.Await(c, f); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if cl.boots < 2 {
		return fmt.Errorf("the log booted %d times; the test needs reboots", cl.boots)
	}

	cl.reboot(10 * time.Millisecond)
	if err := cl.run("read-after-reboot", time.Minute, func(c *flow.Ctx) error {
		if err := checkTags(c, cl, w, "after reboot"); err != nil {
			return err
		}
		if got := cl.log.Version(); got != w.lastVersion() {
			return fmt.Errorf("after reboot the log is at version %d, want %d", got, w.lastVersion())
		}
		return nil
	}); err != nil {
		return err
	}
	return checkPops(cl, w)
}

// checkPops pops every tag to the middle of the workload and checks that
// segments are reclaimed and that peeks below the popped point say so.
func checkPops(cl *cluster, w *workload) error {
	mid := w.commits[len(w.commits)/2].Version
	before := cl.log.Stats()
	return cl.run("pop", time.Minute, func(c *flow.Ctx) error {
		for tag := range uint32(numTags) {
			if err := pop(c, cl, tag, mid); err != nil {
				return err
			}
		}
		after := cl.log.Stats()
		m := cl.logP.Env().Metrics()
		if m.Counter("tlog.pops").Value() < numTags || m.Counter("tlog.queue_bytes_reclaimed").Value() == 0 {
			return fmt.Errorf("after popping every tag: tlog.pops %d, tlog.queue_bytes_reclaimed %d",
				m.Counter("tlog.pops").Value(), m.Counter("tlog.queue_bytes_reclaimed").Value())
		}
		if after.QueueSegments >= before.QueueSegments || after.QueueBytes >= before.QueueBytes ||
			after.MemoryBytes >= before.MemoryBytes {
			return fmt.Errorf("popping every tag to %d: stats %+v before, %+v after", mid, before, after)
		}
		for tag := range uint32(numTags) {
			got, popped, err := peekRange(c, cl, tag, 0, w.lastVersion())
			if err != nil {
				return err
			}
			if popped != mid {
				return fmt.Errorf("peek of tag %d from 0 after pop to %d reported popped %d", tag, mid, popped)
			}
			if d := diffReads(w.from(tag, mid), got); d != "" {
				return fmt.Errorf("tag %d after pop (-want +got):\n%s", tag, d)
			}
		}
		// After a restart the popped data stays gone: a peek below the
		// reclaimed prefix says so, and nothing at or above the popped
		// point is lost.
		cl.reboot(10 * time.Millisecond)
		for tag := range uint32(numTags) {
			got, popped, err := peekRange(c, cl, tag, 0, w.lastVersion())
			if err != nil {
				return err
			}
			if popped == 0 || popped > mid {
				return fmt.Errorf("after reboot, peek of tag %d from 0 reported popped %d; want in (0, %d]", tag, popped, mid)
			}
			if d := diffReads(w.from(tag, popped), got); d != "" {
				return fmt.Errorf("tag %d after pop and reboot (-want +got):\n%s", tag, d)
			}
		}
		return checkMinPopped(c, cl, w)
	})
}

// checkMinPopped pops every tag but one to the end: the log names the one
// left as holding its queue back, and nothing once it too is popped.
func checkMinPopped(c *flow.Ctx, cl *cluster, w *workload) error {
	held := uint32(numTags - 1)
	if len(w.from(held, 0)) == 0 {
		return nil // the workload never pushed it
	}
	end := w.lastVersion() + 1
	for tag := range held {
		if err := pop(c, cl, tag, end); err != nil {
			return err
		}
	}
	if st := cl.log.Stats(); !st.HoldsQueue || st.MinPoppedTag != held || st.MinPoppedVersion >= end {
		return fmt.Errorf("only tag %d unpopped: stats say tag %d at %d holds the queue (%v)",
			held, st.MinPoppedTag, st.MinPoppedVersion, st.HoldsQueue)
	}
	if err := pop(c, cl, held, end); err != nil {
		return err
	}
	if st := cl.log.Stats(); st.HoldsQueue || st.MinPoppedVersion != st.DurableVersion+1 {
		return fmt.Errorf("every tag popped to the end: stats say tag %d at %d holds the queue (%v)",
			st.MinPoppedTag, st.MinPoppedVersion, st.HoldsQueue)
	}
	return nil
}

func TestLogSurvivesRebootsAndServesEveryTag(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		if err := runLogSeed(seed); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
	}
}

// diffReads compares what a tag read with what it should have; on a
// difference it shows versions, keys and value sizes (full protobuf diffs
// of the values are slow and unreadable).
func diffReads(want, got []*wire.VersionedMutations) string {
	if len(want) == len(got) {
		same := true
		for i := range want {
			same = same && proto.Equal(want[i], got[i])
		}
		if same {
			return ""
		}
	}
	return cmp.Diff(summarize(want), summarize(got))
}

func summarize(vms []*wire.VersionedMutations) []string {
	var out []string
	for _, vm := range vms {
		for _, m := range vm.Mutations {
			out = append(out, fmt.Sprintf("v%d %s (%d bytes, type %d)", vm.Version, m.Key, len(m.Param), m.Type))
		}
	}
	return out
}

// A peek of versions the log already has answers at once, even with no
// mutations for its tag, saying where to continue (so the peeker's version
// advances); a peek beyond the log's version waits about PeekTimeout and
// answers empty; a peek waiting when the tag's data becomes durable answers
// at once with it.
func TestPeekLongPolls(t *testing.T) {
	cl := newCluster(7)
	w := handWorkload()
	err := cl.run("long-poll", time.Minute, func(c *flow.Ctx) error {
		if err := commit(c, cl, w.commits[0]); err != nil {
			return err
		}
		first := w.commits[0].Version
		peekTag99 := func(begin int64) (*wire.TLogPeekReply, time.Duration, error) {
			start := c.Now()
			rep, err := call(c, cl, func(i *wire.TLogInterface) uint64 { return i.Peek },
				&wire.TLogPeekRequest{Tag: 99, Begin: begin}, peekCodec, peekRepCodec)
			return rep, c.Now().Sub(start), err
		}
		rep, waited, err := peekTag99(0)
		if err != nil {
			return err
		}
		if len(rep.Messages) != 0 || rep.End != first+1 || waited > 100*time.Millisecond {
			return fmt.Errorf("peek of known versions answered %d messages, end %d after %v; want none, end %d at once",
				len(rep.Messages), rep.End, waited, first+1)
		}
		rep, waited, err = peekTag99(first + 1)
		if err != nil {
			return err
		}
		if len(rep.Messages) != 0 || rep.End != first+1 || waited < 900*time.Millisecond || waited > 1500*time.Millisecond {
			return fmt.Errorf("peek beyond the log answered %d messages, end %d after %v; want none, end %d after about 1s",
				len(rep.Messages), rep.End, waited, first+1)
		}
		next, tag := w.commits[1], uint32(1)
		peek := flow.NewRequestStream(flow.Endpoint{Addr: flow.Address(cl.iface.Address), Token: cl.iface.Peek}, peekCodec, peekRepCodec).
			GetReply(c.Env, &wire.TLogPeekRequest{Tag: tag, Begin: first + 1})
		if err := c.Sleep(100 * time.Millisecond); err != nil {
			return err
		}
		if peek.IsReady() {
			return fmt.Errorf("peek answered before any new data: %v", peek.Err())
		}
		start := c.Now()
		if err := commit(c, cl, next); err != nil {
			return err
		}
		rep, err = flow.Await(c, peek)
		if err != nil {
			return err
		}
		if waited := c.Now().Sub(start); waited > 100*time.Millisecond {
			return fmt.Errorf("waiting peek answered %v after the commit", waited)
		}
		if d := diffReads(w.from(tag, first+1), rep.Messages); d != "" {
			return fmt.Errorf("waiting peek read (-want +got):\n%s", d)
		}
		m := cl.logP.Env().Metrics()
		if n := m.Counter("tlog.commits").Value(); n != 2 {
			return fmt.Errorf("tlog.commits is %d after two commits", n)
		}
		if n := m.Histogram("tlog.commit_latency").Count(); n != 2 {
			return fmt.Errorf("tlog.commit_latency counted %d commits, want 2", n)
		}
		if n := m.Histogram("tlog.fsync_latency").Count(); n < 1 || n > 2 {
			return fmt.Errorf("tlog.fsync_latency counted %d syncs for two commits", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A stopped log fails commits and peeks with tlog_stopped, including those
// already waiting.
func TestStopFailsWaitingRequests(t *testing.T) {
	cl := newCluster(8)
	w := newWorkload(cl.s.Rand(), 3)
	err := cl.run("stop", time.Minute, func(c *flow.Ctx) error {
		ep := func(token uint64) flow.Endpoint {
			return flow.Endpoint{Addr: flow.Address(cl.iface.Address), Token: token}
		}
		// The second commit waits for the first, which never comes.
		waiting := flow.NewRequestStream(ep(cl.iface.Commit), commitCodec, commitRepCodec).GetReply(c.Env, w.commits[1])
		peek := flow.NewRequestStream(ep(cl.iface.Peek), peekCodec, peekRepCodec).
			GetReply(c.Env, &wire.TLogPeekRequest{Tag: 0, Begin: 1}) // beyond the log: waits
		if err := c.Sleep(50 * time.Millisecond); err != nil {
			return err
		}
		cl.log.Stop()
		if _, err := flow.Await(c, waiting); !errors.Is(err, tlog.ErrTLogStopped) {
			return fmt.Errorf("waiting commit after Stop: got %v, want tlog_stopped", err)
		}
		if _, err := flow.Await(c, peek); !errors.Is(err, tlog.ErrTLogStopped) {
			return fmt.Errorf("waiting peek after Stop: got %v, want tlog_stopped", err)
		}
		later := flow.NewRequestStream(ep(cl.iface.Commit), commitCodec, commitRepCodec).GetReply(c.Env, w.commits[0])
		if _, err := flow.Await(c, later); err == nil {
			return fmt.Errorf("a commit after Stop succeeded")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// handWorkload is two commits, each writing one mutation to tag 1.
func handWorkload() *workload {
	w := &workload{expected: map[uint32][]*wire.VersionedMutations{}}
	for _, v := range []int64{100, 200} {
		muts := []*wire.Mutation{{Type: uint32(kv.SetValue), Key: fmt.Appendf(nil, "k%d", v), Param: []byte("v")}}
		w.commits = append(w.commits, &wire.TLogCommitRequest{PrevVersion: v - 100, Version: v,
			Messages: []*wire.TaggedMutations{{Tag: 1, Mutations: muts}}})
		w.expected[1] = append(w.expected[1], &wire.VersionedMutations{Version: v, Mutations: muts})
	}
	return w
}
