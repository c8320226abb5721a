package flow

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSubmitAndGoReachTheLoopAndHonourContexts(t *testing.T) {
	p, err := NewRealProcess(RealConfig{ListenAddress: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	stop := p.Start()
	defer stop()
	ctx := context.Background()

	v, err := Submit(ctx, p, func(e *Env) Future[int] {
		return Map(e.Delay(time.Millisecond), func(struct{}) (int, error) { return 7, nil })
	})
	if err != nil || v != 7 {
		t.Fatalf("Submit = %d, %v; want 7", v, err)
	}
	s, err := Go(ctx, p, "sleeper", func(c *Ctx) (string, error) {
		if err := c.Sleep(time.Millisecond); err != nil {
			return "", err
		}
		return "slept", nil
	})
	if err != nil || s != "slept" {
		t.Fatalf("Go = %q, %v", s, err)
	}

	// A blocked actor is cancelled when its context ends.
	cancelled := make(chan error, 1)
	short, cancel := context.WithCancel(ctx)
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	_, err = Go(short, p, "blocked", func(c *Ctx) (int, error) {
		_, err := Await(c, NewPromise[int]().Future())
		cancelled <- err
		return 0, err
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Go with a cancelled context = %v", err)
	}
	select {
	case err := <-cancelled:
		if !errors.Is(err, ErrOperationCancelled) {
			t.Fatalf("the blocked actor saw %v, want operation_cancelled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the blocked actor was not cancelled")
	}

	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := Go(ctx, p, "late", func(c *Ctx) (int, error) { return 1, nil }); !errors.Is(err, ErrProcessStopped) {
		t.Fatalf("Go after stop = %v, want ErrProcessStopped", err)
	}
}
