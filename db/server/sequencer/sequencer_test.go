package sequencer_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/server/sequencer"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/wire"
)

// cluster is a sequencer process and a client process in a simulation.
type cluster struct {
	s      *sim.Simulation
	seq    *wire.SequencerInterface
	client *flow.Env
}

func newCluster(t *testing.T, seed uint64, cfg sequencer.Config) *cluster {
	t.Helper()
	s := sim.New(seed, sim.Options{})
	cl := &cluster{s: s}
	s.AddProcess(s.AddMachine(flow.Locality{}), 1, func(e *flow.Env) {
		seq, err := sequencer.New(e, cfg)
		if err != nil {
			t.Fatal(err)
		}
		cl.seq = seq.Interface()
	})
	cl.client = s.AddProcess(s.AddMachine(flow.Locality{}), 1, func(*flow.Env) {}).Env()
	return cl
}

func (cl *cluster) getVersion(proxy string, num uint64) flow.Future[*wire.GetCommitVersionReply] {
	st := flow.NewRequestStream(flow.Endpoint{Addr: flow.Address(cl.seq.Address), Token: cl.seq.GetCommitVersion},
		flow.ProtoCodec[*wire.GetCommitVersionRequest](), flow.ProtoCodec[*wire.GetCommitVersionReply]())
	return st.GetReply(cl.client, &wire.GetCommitVersionRequest{ProxyId: proxy, RequestNum: num})
}

func (cl *cluster) report(v int64) flow.Future[*wire.ReportCommittedReply] {
	st := flow.NewRequestStream(flow.Endpoint{Addr: flow.Address(cl.seq.Address), Token: cl.seq.ReportCommitted},
		flow.ProtoCodec[*wire.ReportCommittedRequest](), flow.ProtoCodec[*wire.ReportCommittedReply]())
	return st.GetReply(cl.client, &wire.ReportCommittedRequest{Version: v})
}

func (cl *cluster) live() flow.Future[*wire.GetLiveCommittedVersionReply] {
	st := flow.NewRequestStream(flow.Endpoint{Addr: flow.Address(cl.seq.Address), Token: cl.seq.GetLiveCommittedVersion},
		flow.ProtoCodec[*wire.GetLiveCommittedVersionRequest](), flow.ProtoCodec[*wire.GetLiveCommittedVersionReply]())
	return st.GetReply(cl.client, &wire.GetLiveCommittedVersionRequest{})
}

// run drives body as an actor of the client process until it returns.
func (cl *cluster) run(t *testing.T, body func(c *flow.Ctx) error) {
	t.Helper()
	a := cl.client.Spawn("driver", body)
	cl.s.Run(time.Minute, func() bool { return a.Done().IsReady() })
	if !a.Done().IsReady() {
		t.Fatal("driver did not finish within a simulated minute")
	}
	if err := a.Done().Err(); err != nil {
		t.Fatal(err)
	}
}

func TestVersionsChainAcrossProxiesAndFollowTheClock(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		cl := newCluster(t, seed, sequencer.Config{ID: "seq", InitialVersion: 1000})
		var replies []*wire.GetCommitVersionReply
		cl.run(t, func(c *flow.Ctx) error {
			var fs []flow.Future[*wire.GetCommitVersionReply]
			for n := uint64(1); n <= 200; n++ {
				for _, p := range []string{"a", "b", "c"} {
					fs = append(fs, cl.getVersion(p, n))
				}
				if n%20 == 0 {
					if err := c.Sleep(time.Duration(c.Rand().IntN(3000)) * time.Microsecond); err != nil {
						return err
					}
				}
			}
			var err error
			replies, err = flow.WaitAll(c, fs)
			return err
		})
		byVersion := map[int64]*wire.GetCommitVersionReply{}
		for _, r := range replies {
			if r.Version <= r.PrevVersion {
				t.Fatalf("seed %d: version %d not above prev %d", seed, r.Version, r.PrevVersion)
			}
			byVersion[r.PrevVersion] = r
		}
		// Walk the chain from the initial version: it must visit every reply.
		v, n := int64(1000), 0
		for r := byVersion[v]; r != nil; r = byVersion[v] {
			v, n = r.Version, n+1
		}
		if n != len(replies) {
			t.Fatalf("seed %d: chain from the initial version covers %d of %d replies", seed, n, len(replies))
		}
		// Versions track the clock: at most a few ms of simulated time
		// passed, so the last version is not far past initial + elapsed µs.
		elapsed := kv.Version(cl.s.Elapsed() / time.Microsecond)
		if last := kv.Version(v); last < 1000+kv.Version(len(replies)) || last > 1000+elapsed+kv.Version(len(replies)) {
			t.Fatalf("seed %d: last version %d after %v of clock and %d requests", seed, last, cl.s.Elapsed(), len(replies))
		}
	}
}

func TestVersionsAdvanceWithTheClock(t *testing.T) {
	cl := newCluster(t, 7, sequencer.Config{InitialVersion: 0})
	var first, second *wire.GetCommitVersionReply
	cl.run(t, func(c *flow.Ctx) error {
		var err error
		if first, err = flow.Await(c, cl.getVersion("p", 1)); err != nil {
			return err
		}
		if err := c.Sleep(2 * time.Second); err != nil {
			return err
		}
		second, err = flow.Await(c, cl.getVersion("p", 2))
		return err
	})
	if got := second.Version - first.Version; got < 1_990_000 || got > 2_010_000 {
		t.Fatalf("2s apart, versions advanced by %d, want about 2,000,000", got)
	}
}

func TestVersionJumpIsCapped(t *testing.T) {
	cl := newCluster(t, 8, sequencer.Config{MaxVersionJump: 1000})
	var first, second *wire.GetCommitVersionReply
	cl.run(t, func(c *flow.Ctx) error {
		var err error
		if first, err = flow.Await(c, cl.getVersion("p", 1)); err != nil {
			return err
		}
		if _, err := flow.Await(c, cl.report(first.Version)); err != nil {
			return err
		}
		if err := c.Sleep(time.Second); err != nil {
			return err
		}
		second, err = flow.Await(c, cl.getVersion("p", 2))
		return err
	})
	if got := second.Version - first.Version; got != 1000 {
		t.Fatalf("after 1s idle the version jumped %d, want the cap 1000", got)
	}
}

func TestVersionsDoNotRunFarAheadOfTheClock(t *testing.T) {
	// 5000 requests sent at one instant (they arrive within about 1.5ms)
	// with a cap of 5 versions ahead: the sequencer paces them over about
	// 5ms so that no version exceeds the clock's by more than 5.
	cl := newCluster(t, 9, sequencer.Config{MaxVersionsAhead: 5})
	var replies []*wire.GetCommitVersionReply
	var clockAtReply []int64
	cl.run(t, func(c *flow.Ctx) error {
		var fs []flow.Future[*wire.GetCommitVersionReply]
		for n := uint64(1); n <= 5000; n++ {
			f := cl.getVersion("p", n)
			f.OnReady(func(*wire.GetCommitVersionReply, error) {
				clockAtReply = append(clockAtReply, int64(cl.client.Now().Sub(sim.Epoch)/time.Microsecond))
			})
			fs = append(fs, f)
		}
		var err error
		replies, err = flow.WaitAll(c, fs)
		return err
	})
	for i, r := range replies {
		if r.Version > clockAtReply[i]+5 {
			t.Fatalf("version %d received at clock version %d: more than 5 ahead", r.Version, clockAtReply[i])
		}
	}
	if spread := clockAtReply[len(replies)-1] - clockAtReply[0]; spread < 4900 {
		t.Fatalf("5000 versions handed out within %dµs: not paced by the clock", spread)
	}
}

func TestRetriedRequestGetsTheSameAnswer(t *testing.T) {
	cl := newCluster(t, 4, sequencer.Config{InitialVersion: 10, ReplyCacheSize: 4})
	var got [][2]int64
	var forgotten error
	cl.run(t, func(c *flow.Ctx) error {
		for _, n := range []uint64{1, 2, 2, 3, 1, 4, 5, 6, 3} {
			r, err := flow.Await(c, cl.getVersion("p", n))
			if err != nil {
				return err
			}
			got = append(got, [2]int64{r.PrevVersion, r.Version})
		}
		_, forgotten = flow.Await(c, cl.getVersion("p", 1)) // older than the last 4
		return nil
	})
	for i, pair := range map[int][2]int{2: {1, 2}, 4: {0, 4}, 8: {3, 8}} {
		if got[pair[0]] != got[pair[1]] {
			t.Errorf("retry at position %d answered %v, first answer was %v", i, got[pair[1]], got[pair[0]])
		}
	}
	if forgotten == nil {
		t.Error("a retry older than the reply cache was answered")
	}
}

func TestOutOfOrderRequestWaitsForItsPredecessor(t *testing.T) {
	cl := newCluster(t, 5, sequencer.Config{})
	var order []uint64
	cl.run(t, func(c *flow.Ctx) error {
		f3 := cl.getVersion("p", 3)
		f2 := cl.getVersion("p", 2)
		other := cl.getVersion("q", 1)
		if _, err := flow.Await(c, other); err != nil {
			return err
		}
		if f2.IsReady() || f3.IsReady() {
			t.Error("requests 2 and 3 answered before request 1 arrived")
		}
		f1 := cl.getVersion("p", 1)
		rs, err := flow.WaitAll(c, []flow.Future[*wire.GetCommitVersionReply]{f1, f2, f3})
		if err != nil {
			return err
		}
		for i := 1; i < len(rs); i++ {
			if rs[i].Version <= rs[i-1].Version {
				t.Errorf("request %d got version %d, not above request %d's %d", i+1, rs[i].Version, i, rs[i-1].Version)
			}
			order = append(order, rs[i].RequestNum)
		}
		return nil
	})
	if diff := cmp.Diff([]uint64{2, 3}, order); diff != "" {
		t.Fatalf("reply request numbers (-want +got):\n%s", diff)
	}
}

func TestLiveCommittedVersionIsTheMaximumReported(t *testing.T) {
	cl := newCluster(t, 6, sequencer.Config{InitialVersion: 100})
	var lives []int64
	var reportAbove error
	cl.run(t, func(c *flow.Ctx) error {
		record := func() error {
			r, err := flow.Await(c, cl.live())
			lives = append(lives, r.GetVersion())
			return err
		}
		if err := record(); err != nil {
			return err
		}
		var vs []int64
		for n := uint64(1); n <= 3; n++ {
			r, err := flow.Await(c, cl.getVersion("p", n))
			if err != nil {
				return err
			}
			vs = append(vs, r.Version)
		}
		for _, v := range []int64{vs[1], vs[0]} { // out of order: the max wins
			if _, err := flow.Await(c, cl.report(v)); err != nil {
				return err
			}
			if err := record(); err != nil {
				return err
			}
		}
		_, reportAbove = flow.Await(c, cl.report(vs[2]+1000))
		return record()
	})
	if lives[0] != 100 || lives[1] != lives[2] || lives[3] != lives[1] || lives[1] <= 100 {
		t.Fatalf("live committed versions %v: want the initial 100, then the max reported, unchanged", lives)
	}
	if reportAbove == nil {
		t.Fatal("a report above every handed-out version was accepted")
	}
}

// A new generation's first version leaps the recovery gap at once, chained
// to the recovery version, and later versions follow the clock from there.
func TestFirstVersionLeapsTheRecoveryGap(t *testing.T) {
	const rv, gap = 5_000_000, 100_000_000
	cl := newCluster(t, 9, sequencer.Config{InitialVersion: rv, RecoveryGap: gap})
	var first, second *wire.GetCommitVersionReply
	cl.run(t, func(c *flow.Ctx) error {
		var err error
		if first, err = flow.Await(c, cl.getVersion("p", 1)); err != nil {
			return err
		}
		if _, err := flow.Await(c, cl.report(first.Version)); err != nil {
			return err
		}
		if err := c.Sleep(time.Second); err != nil {
			return err
		}
		second, err = flow.Await(c, cl.getVersion("p", 2))
		return err
	})
	if first.PrevVersion != rv || first.Version <= rv+gap || first.Version > rv+gap+10_000 {
		t.Fatalf("first reply %v, want prev %d and a version just above %d", first, rv, rv+gap)
	}
	if got := second.Version - first.Version; got < 990_000 || got > 1_010_000 {
		t.Fatalf("1s apart, versions advanced by %d, want about 1,000,000", got)
	}
}

// With a recovery gap, nothing follows the first version until it is
// committed, and no version is handed out more than the gap above the
// live committed version, however far the clock runs: what a dying
// generation pushed to any log stays below the next one's first version.
func TestVersionsStayWithinTheGapAboveCommitted(t *testing.T) {
	const rv, gap = 5_000_000, 10_000_000
	cl := newCluster(t, 10, sequencer.Config{InitialVersion: rv, RecoveryGap: gap})
	cl.run(t, func(c *flow.Ctx) error {
		first, err := flow.Await(c, cl.getVersion("p", 1))
		if err != nil {
			return err
		}
		second := cl.getVersion("p", 2)
		if err := c.Sleep(time.Second); err != nil {
			return err
		}
		if second.IsReady() {
			t.Errorf("a second version before the first was committed")
		}
		if _, err := flow.Await(c, cl.report(first.Version)); err != nil {
			return err
		}
		if _, err := flow.Await(c, second); err != nil {
			return err
		}
		// The clock runs 30 s (30,000,000 versions) on; nothing more is
		// committed. Versions climb to the bound and stop there.
		if err := c.Sleep(30 * time.Second); err != nil {
			return err
		}
		bound := first.Version + gap
		for num := uint64(3); num < 20; num++ {
			f := cl.getVersion("p", num)
			if err := c.Sleep(time.Second); err != nil {
				return err
			}
			if !f.IsReady() {
				return nil // held at the bound
			}
			rep, err := f.Get()
			if err != nil {
				return err
			}
			if rep.Version > bound {
				t.Errorf("version %d with %d committed, above the bound %d", rep.Version, first.Version, bound)
				return nil
			}
		}
		t.Errorf("versions never stopped at the in-flight bound %d", bound)
		return nil
	})
}

// With a recovery gap, a live committed version request waits for the
// generation's first commit: a read version from before the leap would be
// too old for every commit of the generation.
func TestLiveCommittedVersionWaitsForTheFirstCommit(t *testing.T) {
	const rv, gap = 5_000_000, 100_000_000
	cl := newCluster(t, 11, sequencer.Config{InitialVersion: rv, RecoveryGap: gap})
	var got int64
	cl.run(t, func(c *flow.Ctx) error {
		live := cl.live()
		if err := c.Sleep(time.Second); err != nil {
			return err
		}
		if live.IsReady() {
			return fmt.Errorf("a live committed version request was answered before any commit")
		}
		first, err := flow.Await(c, cl.getVersion("p", 1))
		if err != nil {
			return err
		}
		if _, err := flow.Await(c, cl.report(first.Version)); err != nil {
			return err
		}
		r, err := flow.Await(c, live)
		if err != nil {
			return err
		}
		if got = r.GetVersion(); got != first.Version {
			return fmt.Errorf("held request answered %d, want the first commit %d", got, first.Version)
		}
		return nil
	})
}
