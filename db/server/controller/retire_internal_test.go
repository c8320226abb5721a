package controller

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/wire"
)

func TestDeadTags(t *testing.T) {
	core := &wire.DBCoreState{NextTag: 6, Storage: []*wire.StorageRef{{Id: "a", Tag: 0}, {Id: "b", Tag: 2}, {Id: "c", Tag: 5}}}
	for _, tc := range []struct {
		settled uint32
		want    []uint32
	}{
		{settled: 6, want: []uint32{1, 3, 4}},
		{settled: 4, want: []uint32{1, 3}}, // tag 4 still being recruited
		{settled: 0, want: nil},
	} {
		if got := deadTags(core, tc.settled); !slices.Equal(got, tc.want) {
			t.Errorf("deadTags(settled %d) = %v, want %v", tc.settled, got, tc.want)
		}
	}
}

// popLog is a transaction log that records the pops it gets.
type popLog struct {
	iface *wire.TLogInterface
	pops  map[uint32]int64
	count int
}

func bootPopLog(env *flow.Env) *popLog {
	l := &popLog{pops: map[uint32]int64{}}
	pops := flow.Listen(env, 0, flow.ProtoCodec[*wire.TLogPopRequest](), flow.ProtoCodec[*wire.TLogPopReply]())
	env.Spawn("PopLog", func(c *flow.Ctx) error {
		for {
			r, err := pops.Requests().Next(c)
			if err != nil {
				return err
			}
			l.pops[r.Msg.Tag] = max(l.pops[r.Msg.Tag], r.Msg.To)
			l.count++
			r.Reply(&wire.TLogPopReply{})
		}
	})
	l.iface = &wire.TLogInterface{Address: string(env.Address()), Id: "log-" + string(env.Address()), Pop: pops.Stream().Endpoint().Token}
	return l
}

// The dead tags — no member's, below the settled point — are popped for
// good on every log, once per generation; members' tags and the tag being
// recruited are left alone.
func TestPopDeadTags(t *testing.T) {
	s := sim.New(9, sim.Options{})
	logs := make([]*popLog, 2)
	for i := range logs {
		s.AddProcess(s.AddMachine(flow.Locality{}), 4500, func(env *flow.Env) { logs[i] = bootPopLog(env) })
	}
	ccProc := s.AddProcess(s.AddMachine(flow.Locality{}), 4500, func(*flow.Env) {})
	cc := &Controller{env: ccProc.Env(), dd: defaultDDKnobs()}
	gen := &generation{
		core: &wire.DBCoreState{NextTag: 5, Storage: []*wire.StorageRef{{Id: "a", Tag: 0}, {Id: "b", Tag: 2}}},
		logs: []*wire.TLogInterface{logs[0].iface, logs[1].iface},
		// Tag 4 is being recruited.
		recruitingStorage: true, recruitingTag: 4,
	}
	pass := func() {
		done := false
		ccProc.Env().Spawn("dd", func(c *flow.Ctx) error {
			cc.popDeadTags(c, gen)
			done = true
			return nil
		})
		if !s.Run(10*time.Second, func() bool { return done }) {
			t.Fatal("popDeadTags did not return")
		}
	}
	pass()
	for i, l := range logs {
		want := map[uint32]int64{1: math.MaxInt64, 3: math.MaxInt64}
		if len(l.pops) != len(want) || l.pops[1] != want[1] || l.pops[3] != want[3] {
			t.Fatalf("log %d got pops %v, want %v", i, l.pops, want)
		}
	}
	pass()
	if logs[0].count != 2 {
		t.Fatalf("a second pass popped again: %d pops", logs[0].count)
	}
	// The recruitment of tag 4 was given up: now it is dead too.
	gen.recruitingStorage = false
	pass()
	if logs[0].pops[4] != math.MaxInt64 || logs[0].count != 3 {
		t.Fatalf("after the recruitment was given up, log 0 got pops %v (%d)", logs[0].pops, logs[0].count)
	}
}
