package sim_test

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/sim"
)

// pingTest is a small test whose trace depends on scheduling, latencies and
// faults, used to check that a run is decided by its seed alone.
var pingTest = sim.Test{
	Name: "ping",
	Run: func(s *sim.Simulation) error {
		var addrs []flow.Address
		var machines []*sim.Machine
		for range 4 {
			m := s.AddMachine(flow.Locality{})
			machines = append(machines, m)
			p := s.AddProcess(m, 4500, func(e *flow.Env) {
				l := flow.Listen(e, 9, bytesCodec, bytesCodec)
				e.Spawn("pong", func(c *flow.Ctx) error {
					for {
						r, err := l.Requests().Next(c)
						if err != nil {
							return err
						}
						r.Reply(append(r.Msg, byte(c.Rand().IntN(256))))
					}
				})
			})
			addrs = append(addrs, p.Addr)
		}
		for i, a := range addrs {
			e := s.Process(a).Env()
			e.Spawn("ping", func(c *flow.Ctx) error {
				for n := range 50 {
					to := addrs[(i+1+n)%len(addrs)]
					stream := flow.NewRequestStream(flow.Endpoint{Addr: to, Token: 9}, bytesCodec, bytesCodec)
					_, _ = flow.Timeout(c, stream.GetReply(c.Env, []byte{byte(n)}), 300*time.Millisecond)
					c.Trace(flow.SevDebug, "Pinged", flow.D("To", to), flow.D("N", n))
				}
				return nil
			})
		}
		stop := s.Now().Add(5 * time.Second)
		s.Controller().Spawn("clog", func(c *flow.Ctx) error {
			return s.RandomClogging(c, stop, sim.ClogOptions{Targets: addrs, MeanInterval: 200 * time.Millisecond, MaxClog: 500 * time.Millisecond})
		})
		s.Controller().Spawn("attrition", func(c *flow.Ctx) error {
			return s.Attrition(c, stop, sim.AttritionOptions{Machines: machines[1:], MeanInterval: time.Second, MaxDowntime: time.Second})
		})
		s.Run(10*time.Second, nil)
		return nil
	},
}

var bytesCodec = flow.Codec[[]byte]{
	Marshal:   func(b []byte) ([]byte, error) { return b, nil },
	Unmarshal: func(b []byte) ([]byte, error) { return append([]byte(nil), b...), nil },
}

func TestSameSeedSameTrace(t *testing.T) {
	for _, seed := range []uint64{1, 2, 42, 1 << 40} {
		var t1, t2 bytes.Buffer
		a := sim.RunTest(pingTest, seed, sim.Options{Buggify: true, TraceOut: &t1})
		b := sim.RunTest(pingTest, seed, sim.Options{Buggify: true, TraceOut: &t2})
		if a.Err != nil || b.Err != nil {
			t.Fatalf("seed %d: runs failed: %v / %v", seed, a.Err, b.Err)
		}
		if a.TraceHash != b.TraceHash || a.SimTime != b.SimTime || a.Events != b.Events {
			t.Fatalf("seed %d: two runs differ: %s vs %s", seed, a, b)
		}
		if !bytes.Equal(t1.Bytes(), t2.Bytes()) {
			t.Fatalf("seed %d: same hash but different traces", seed)
		}
	}
}

func TestDifferentSeedsDifferentTraces(t *testing.T) {
	seen := map[uint64]uint64{}
	for seed := uint64(1); seed <= 20; seed++ {
		r := sim.RunTest(pingTest, seed, sim.Options{Buggify: true})
		if other, dup := seen[r.TraceHash]; dup {
			t.Fatalf("seeds %d and %d gave the same trace hash %016x", other, seed, r.TraceHash)
		}
		seen[r.TraceHash] = seed
	}
}

func TestPanicInActorFailsRunWithSeed(t *testing.T) {
	boom := sim.Test{Name: "boom", Run: func(s *sim.Simulation) error {
		m := s.AddMachine(flow.Locality{})
		s.AddProcess(m, 1, func(e *flow.Env) {
			e.Spawn("bad", func(c *flow.Ctx) error {
				_ = c.Sleep(time.Second)
				var m map[string]int
				m["x"] = 1 // a bug in role code
				return nil
			})
		})
		s.Run(time.Minute, nil)
		return nil
	}}
	r := sim.RunTest(boom, 7, sim.Options{})
	if r.Err == nil {
		t.Fatal("a panicking actor did not fail the run")
	}
	if got, want := r.ReproduceCommand(), "strata sim --test boom --seed 7 --buggify=off"; got != want {
		t.Fatalf("reproduce command %q, want %q", got, want)
	}
}

func TestNetworkKeepsOrderAndHoldsClogged(t *testing.T) {
	s := sim.New(3, sim.Options{})
	var got []byte
	var at []time.Duration
	mb := s.AddMachine(flow.Locality{})
	b := s.AddProcess(mb, 1, func(e *flow.Env) {
		l := flow.Listen(e, 5, bytesCodec, bytesCodec)
		e.Spawn("sink", func(c *flow.Ctx) error {
			for {
				r, err := l.Requests().Next(c)
				if err != nil {
					return err
				}
				got = append(got, r.Msg...)
				at = append(at, s.Elapsed())
			}
		})
	})
	ma := s.AddMachine(flow.Locality{})
	a := s.AddProcess(ma, 1, func(e *flow.Env) {})
	s.ClogLink(a.Addr, b.Addr, 2*time.Second)
	stream := flow.NewRequestStream(flow.Endpoint{Addr: b.Addr, Token: 5}, bytesCodec, bytesCodec)
	a.Env().Spawn("source", func(c *flow.Ctx) error {
		for i := range 100 {
			stream.GetReply(c.Env, []byte{byte(i)})
			if i%10 == 0 {
				_ = c.Sleep(time.Millisecond)
			}
		}
		return nil
	})
	s.Run(5*time.Second, nil)
	if len(got) != 100 {
		t.Fatalf("delivered %d of 100 messages", len(got))
	}
	for i, v := range got {
		if int(v) != i {
			t.Fatalf("message %d arrived in position %d: link reordered", v, i)
		}
	}
	if at[0] < 2*time.Second {
		t.Fatalf("first message arrived at %v, during the 2s clog", at[0])
	}
}

func TestDiskLosesOrTearsOnlyUnsyncedWrites(t *testing.T) {
	for seed := uint64(1); seed <= 50; seed++ {
		s := sim.New(seed, sim.Options{})
		m := s.AddMachine(flow.Locality{})
		synced := bytes.Repeat([]byte{'s'}, 100)
		unsynced := bytes.Repeat([]byte{'u'}, 100)
		var writeErr error
		p := s.AddProcess(m, 1, func(e *flow.Env) {
			if e.Files() == nil {
				return
			}
			f, err := e.Files().Open("log", true)
			if err != nil {
				writeErr = err
				return
			}
			e.Spawn("writer", func(c *flow.Ctx) error {
				if _, err := f.Size(); err != nil {
					return err
				}
				if n, _ := f.Size(); n > 0 {
					return nil // second boot: leave the file for the check
				}
				if _, err := f.WriteAt(synced, 0); err != nil {
					writeErr = err
					return err
				}
				if err := f.Sync(c); err != nil {
					writeErr = err
					return err
				}
				_, writeErr = f.WriteAt(unsynced, 100)
				return c.Sleep(time.Hour)
			})
		})
		s.Run(time.Second, nil)
		if writeErr != nil {
			t.Fatal(writeErr)
		}
		s.Kill(p)
		s.Restart(p)
		f, err := p.Env().Files().Open("log", false)
		if err != nil {
			t.Fatalf("seed %d: synced file gone after crash: %v", seed, err)
		}
		buf := make([]byte, 300)
		n, err := f.ReadAt(buf, 0)
		if err != nil && !errors.Is(err, io.EOF) {
			t.Fatal(err)
		}
		if n < 100 || !bytes.Equal(buf[:100], synced) {
			t.Fatalf("seed %d: synced bytes damaged by crash: %q", seed, buf[:n])
		}
		if rest := buf[100:n]; !bytes.Equal(rest, unsynced[:len(rest)]) {
			t.Fatalf("seed %d: unsynced tail is not a prefix of what was written: %q", seed, rest)
		}
	}
}
