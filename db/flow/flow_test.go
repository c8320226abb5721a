package flow

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// loopback is a Transport that delivers within one loop after a delay.
type loopback struct {
	from  *Env
	peers map[Address]*Env
	delay time.Duration
}

func (t *loopback) Send(to Endpoint, replyTo uint64, payload []byte) {
	dst := t.peers[to.Addr]
	if dst == nil {
		return
	}
	msg := append([]byte(nil), payload...)
	from := t.from.Address()
	t.from.Loop().After(t.delay, func() {
		if dst.Alive() {
			dst.Deliver(from, to.Token, replyTo, msg)
		}
	})
}
func (t *loopback) Close() {}

func newTestEnvs(l *Loop, addrs ...Address) []*Env {
	peers := map[Address]*Env{}
	var envs []*Env
	for i, a := range addrs {
		tr := &loopback{peers: peers, delay: time.Millisecond}
		e := NewEnv(l, EnvConfig{Address: a, Seed: uint64(i + 1), Transport: tr})
		tr.from = e
		peers[a] = e
		envs = append(envs, e)
	}
	return envs
}

func TestActorsTakeTurnsInTimeOrder(t *testing.T) {
	l := NewVirtualLoop(epoch)
	e := newTestEnvs(l, "a:1")[0]
	var got []string
	for _, d := range []int{30, 10, 20} {
		e.Spawn("sleeper", func(c *Ctx) error {
			if err := c.Sleep(time.Duration(d) * time.Millisecond); err != nil {
				return err
			}
			got = append(got, c.Now().Sub(epoch).String())
			return nil
		})
	}
	l.RunUntil(epoch.Add(time.Second), nil)
	if diff := cmp.Diff([]string{"10ms", "20ms", "30ms"}, got); diff != "" {
		t.Fatalf("wake order (-want +got):\n%s", diff)
	}
}

func TestCancelWakesBlockedActor(t *testing.T) {
	l := NewVirtualLoop(epoch)
	e := newTestEnvs(l, "a:1")[0]
	never := NewPromise[int]()
	a := e.Spawn("waiter", func(c *Ctx) error {
		_, err := Await(c, never.Future())
		return err
	})
	e.Spawn("canceller", func(c *Ctx) error {
		if err := c.Sleep(time.Second); err != nil {
			return err
		}
		a.Cancel()
		return nil
	})
	l.RunUntil(epoch.Add(time.Minute), func() bool { return a.Done().IsReady() })
	if err := a.Done().Err(); !errors.Is(err, ErrOperationCancelled) {
		t.Fatalf("cancelled actor finished with %v, want operation_cancelled", err)
	}
	if got := l.Now().Sub(epoch); got != time.Second {
		t.Fatalf("cancel observed at %v, want 1s", got)
	}
}

func TestKillUnwindsActorsAndRunsDefers(t *testing.T) {
	l := NewVirtualLoop(epoch)
	e := newTestEnvs(l, "a:1")[0]
	deferred, after := 0, 0
	for range 3 {
		e.Spawn("victim", func(c *Ctx) error {
			defer func() { deferred++ }()
			_ = c.Sleep(time.Hour)
			after++ // must never run: a killed process runs no more role code
			return nil
		})
	}
	l.RunUntil(epoch.Add(time.Second), nil)
	e.Kill()
	l.RunUntil(epoch.Add(2*time.Hour), nil)
	if deferred != 3 || after != 0 {
		t.Fatalf("deferred=%d after=%d, want 3 and 0", deferred, after)
	}
	if len(e.tasks) != 0 {
		t.Fatalf("%d tasks left after kill", len(e.tasks))
	}
}

func TestSelectPicksFirstReadyInArgumentOrder(t *testing.T) {
	l := NewVirtualLoop(epoch)
	e := newTestEnvs(l, "a:1")[0]
	p1, p2 := NewPromise[int](), NewPromise[int]()
	var idx int
	a := e.Spawn("selector", func(c *Ctx) error {
		var err error
		idx, err = Select(c, p1.Future(), p2.Future())
		return err
	})
	e.Spawn("sender", func(c *Ctx) error {
		p2.Send(2)
		p1.Send(1)
		return nil
	})
	l.RunUntil(epoch.Add(time.Second), func() bool { return a.Done().IsReady() })
	if idx != 0 {
		t.Fatalf("Select returned %d, want 0 (both ready; lowest index wins)", idx)
	}
}

func TestStreamDeliversInOrderThenCloseError(t *testing.T) {
	l := NewVirtualLoop(epoch)
	e := newTestEnvs(l, "a:1")[0]
	ps := NewPromiseStream[int]()
	var got []int
	var end error
	a := e.Spawn("reader", func(c *Ctx) error {
		for {
			v, err := ps.Stream().Next(c)
			if err != nil {
				end = err
				return nil
			}
			got = append(got, v)
		}
	})
	e.Spawn("writer", func(c *Ctx) error {
		for i := range 5 {
			ps.Send(i)
			if i%2 == 0 {
				if err := c.Sleep(time.Millisecond); err != nil {
					return err
				}
			}
		}
		ps.Close(nil)
		return nil
	})
	l.RunUntil(epoch.Add(time.Second), func() bool { return a.Done().IsReady() })
	if diff := cmp.Diff([]int{0, 1, 2, 3, 4}, got); diff != "" {
		t.Fatalf("stream order (-want +got):\n%s", diff)
	}
	if !errors.Is(end, ErrBrokenPromise) {
		t.Fatalf("end of stream = %v, want broken_promise", end)
	}
}

func TestQuorum(t *testing.T) {
	l := NewVirtualLoop(epoch)
	e := newTestEnvs(l, "a:1")[0]
	ps := make([]Promise[int], 5)
	fs := make([]Future[int], 5)
	for i := range ps {
		ps[i] = NewPromise[int]()
		fs[i] = ps[i].Future()
	}
	var idx []int
	var qerr error
	a := e.Spawn("quorum", func(c *Ctx) error {
		idx, _, qerr = WaitMajority(c, fs)
		return nil
	})
	e.Spawn("answers", func(c *Ctx) error {
		ps[4].Send(4)
		ps[0].Fail(ErrTimedOut)
		_ = c.Sleep(time.Millisecond)
		ps[2].Send(2)
		ps[1].Fail(ErrTimedOut)
		_ = c.Sleep(time.Millisecond)
		ps[3].Send(3)
		return nil
	})
	l.RunUntil(epoch.Add(time.Second), func() bool { return a.Done().IsReady() })
	if qerr != nil || !cmp.Equal(idx, []int{2, 3, 4}) {
		t.Fatalf("majority = %v, %v; want [2 3 4], nil", idx, qerr)
	}

	// Three failures out of five make a majority impossible.
	l2 := NewVirtualLoop(epoch)
	e2 := newTestEnvs(l2, "a:1")[0]
	gs := []Future[int]{Failed[int](ErrTimedOut), Failed[int](ErrTimedOut), Failed[int](ErrTimedOut), NewPromise[int]().Future(), Ready(1)}
	a2 := e2.Spawn("quorum", func(c *Ctx) error {
		_, _, qerr = WaitMajority(c, gs)
		return nil
	})
	l2.RunUntil(epoch.Add(time.Second), func() bool { return a2.Done().IsReady() })
	if !errors.Is(qerr, ErrQuorumUnreachable) {
		t.Fatalf("got %v, want quorum unreachable", qerr)
	}
}

// An actor that keeps yielding must not starve the real loop's inbox:
// posted work (network input, blocking-call results) still runs.
func TestRealLoopYieldingActorDoesNotStarveInbox(t *testing.T) {
	p, err := NewRealProcess(RealConfig{ListenAddress: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	stop := p.Start()
	defer stop()
	spinning := true
	if err := p.Do(func(e *Env) {
		e.Spawn("spinner", func(c *Ctx) error {
			for spinning {
				if err := c.Yield(); err != nil {
					return err
				}
			}
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Call(ctx, func(*Env) { spinning = false }); err != nil {
		t.Fatalf("posted work did not run while an actor yielded in a loop: %v", err)
	}
}

func TestUnlessTakesTheFirstOutcome(t *testing.T) {
	stopErr := errors.New("stopped")

	f, stop := NewPromise[int](), NewPromise[struct{}]()
	u := Unless(f.Future(), stop.Future())
	f.Send(7)
	for _, w := range stop.st.waiters {
		if !w.dead {
			t.Error("stop still holds a live waiter after the value")
		}
	}
	stop.Fail(stopErr)
	if v, err := u.Get(); v != 7 || err != nil {
		t.Errorf("value first: %v, %v; want 7", v, err)
	}

	f, stop = NewPromise[int](), NewPromise[struct{}]()
	u = Unless(f.Future(), stop.Future())
	stop.Fail(stopErr)
	f.Send(7)
	if _, err := u.Get(); !errors.Is(err, stopErr) {
		t.Errorf("stop first: %v, want its error", err)
	}

	f, stop = NewPromise[int](), NewPromise[struct{}]()
	stop.Send(struct{}{})
	if _, err := Unless(f.Future(), stop.Future()).Get(); !errors.Is(err, ErrOperationCancelled) {
		t.Errorf("stop already holding a value: %v, want operation_cancelled", err)
	}
	if _, err := Unless(Failed[int](stopErr), stop.Future()).Get(); !errors.Is(err, stopErr) {
		t.Errorf("f already failed: %v, want its error", err)
	}
}
