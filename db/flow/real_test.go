package flow_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/wire"
	"github.com/strata-db/strata/db/workloads"
	"github.com/strata-db/strata/test/testserver"
)

// The test binary doubles as a real echo server process: with
// STRATA_FLOW_ECHO_SERVER=addr set it serves the echo workload on addr
// until killed.
func TestMain(m *testing.M) {
	if addr := os.Getenv("STRATA_FLOW_ECHO_SERVER"); addr != "" {
		if err := runEchoServer(addr); err != nil {
			fmt.Fprintln(os.Stderr, "echo server:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runEchoServer(addr string) error {
	p, err := flow.NewRealProcess(flow.RealConfig{ListenAddress: addr, ProcessID: "echo"})
	if err != nil {
		return err
	}
	if err := p.Do(func(e *flow.Env) { workloads.ServeEcho(e, nil, nil) }); err != nil {
		return err
	}
	return p.Run(context.Background())
}

// startEchoServer runs the echo server as a child process on addr.
func startEchoServer(t testing.TB, addr string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "STRATA_FLOW_ECHO_SERVER="+addr)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting echo server: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

func freeLoopbackAddr(t testing.TB) string {
	t.Helper()
	return testserver.FreeAddress(t)
}

// startClient runs a real process for the test's actors.
func startClient(t testing.TB, knobs flow.Knobs) *flow.RealProcess {
	t.Helper()
	p, err := flow.NewRealProcess(flow.RealConfig{ListenAddress: "127.0.0.1:0", ProcessID: "client", Knobs: knobs})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("client process: %v", err)
		}
	})
	return p
}

// runActor runs body as an actor of p and waits for it to finish.
func runActor(t testing.TB, p *flow.RealProcess, timeout time.Duration, body func(c *flow.Ctx) error) error {
	t.Helper()
	result := make(chan error, 1)
	err := p.Do(func(e *flow.Env) {
		e.Spawn("test", body).Done().OnReady(func(_ struct{}, err error) { result <- err })
	})
	if err != nil {
		return err
	}
	select {
	case err := <-result:
		return err
	case <-time.After(timeout):
		return fmt.Errorf("actor still running after %v", timeout)
	}
}

// echoUntilOK retries an echo request until one succeeds.
func echoUntilOK(c *flow.Ctx, server flow.Address, id uint64) error {
	var last error
	for attempt := uint32(1); attempt <= 200; attempt++ {
		req := &wire.EchoRequest{Id: id, Attempt: attempt, Payload: []byte("ping"), From: "test"}
		rep, err := flow.Timeout(c, workloads.EchoStream(server).GetReply(c.Env, req), time.Second)
		if err == nil {
			if rep.Id != id || rep.Attempt != attempt || string(rep.Payload) != "ping" {
				return fmt.Errorf("reply %v does not answer request %v", rep, req)
			}
			return nil
		}
		last = err
		if err := c.Sleep(25 * time.Millisecond); err != nil {
			return err
		}
	}
	return fmt.Errorf("no reply after 200 attempts: %w", last)
}

func TestRealProcessesSurvivePeerKillAndReconnect(t *testing.T) {
	addr := testserver.FreeAddress(t)
	server := flow.Address(addr)
	child := startEchoServer(t, addr)
	client := startClient(t, flow.Knobs{PingInterval: 50 * time.Millisecond, FailureTimeout: 300 * time.Millisecond})

	if err := runActor(t, client, 20*time.Second, func(c *flow.Ctx) error {
		return echoUntilOK(c, server, 1)
	}); err != nil {
		t.Fatalf("exchanging requests with the live server: %v", err)
	}

	// A request the server will never answer: it dies first.
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	if err := runActor(t, client, 20*time.Second, func(c *flow.Ctx) error {
		req := &wire.EchoRequest{Id: 2, Attempt: 1, From: "test"}
		_, err := flow.Timeout(c, workloads.EchoStream(server).GetReply(c.Env, req), 10*time.Second)
		if !errors.Is(err, flow.ErrRequestMaybeDelivered) {
			return fmt.Errorf("request to a killed server ended with %v, want request_maybe_delivered", err)
		}
		if err := c.WaitFailure(c, server); err != nil {
			return err
		}
		if !c.IsFailed(server) {
			return errors.New("failure monitor does not report the killed server failed")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// The server comes back on the same address: the client reconnects.
	startEchoServer(t, addr)
	if err := runActor(t, client, 20*time.Second, func(c *flow.Ctx) error {
		if err := echoUntilOK(c, server, 3); err != nil {
			return err
		}
		if err := c.WaitAvailable(c, server); err != nil {
			return err
		}
		if c.IsFailed(server) {
			return errors.New("server still reported failed after it answered")
		}
		return nil
	}); err != nil {
		t.Fatalf("after the server returned: %v", err)
	}
}

// Frames queued in one round are written by the loop at the round's end
// without blocking, and what the socket does not take is left to the
// peer's writer goroutine. Messages far larger than a socket's buffer, and
// many queued together, must still arrive whole and in order, both ways.
func TestRealLargeAndQueuedMessagesArriveIntact(t *testing.T) {
	addr := testserver.FreeAddress(t)
	server := flow.Address(addr)
	startEchoServer(t, addr)
	// Tens of megabytes share one connection with the pings, and under the
	// race detector on a loaded machine a ping can wait behind them for
	// longer than the default second: this test is about framing, not
	// failure detection, so the failure timeout is generous.
	client := startClient(t, flow.Knobs{FailureTimeout: 30 * time.Second})
	err := runActor(t, client, 60*time.Second, func(c *flow.Ctx) error {
		if err := echoUntilOK(c, server, 0); err != nil {
			return err
		}
		sizes := []int{1, 100, 64 << 10, 1 << 20, 6 << 20, 10, 3 << 20, 5}
		var replies []flow.Future[*wire.EchoReply]
		var sent []*wire.EchoRequest
		for round := range 3 {
			for i, n := range sizes {
				payload := make([]byte, n)
				for j := range payload {
					payload[j] = byte(j*7 + i + round)
				}
				req := &wire.EchoRequest{Id: uint64(round*100 + i + 1), Attempt: 1, Payload: payload, From: "test"}
				sent = append(sent, req)
				replies = append(replies, workloads.EchoStream(server).GetReply(c.Env, req))
			}
			if err := c.Yield(); err != nil { // the next batch goes in a later round
				return err
			}
		}
		for i, f := range replies {
			rep, err := flow.Await(c, f)
			if err != nil {
				return fmt.Errorf("request %d (%d bytes): %w", sent[i].Id, len(sent[i].Payload), err)
			}
			if rep.Id != sent[i].Id || string(rep.Payload) != string(sent[i].Payload) {
				return fmt.Errorf("reply %d (%d bytes) does not echo request %d (%d bytes)",
					rep.Id, len(rep.Payload), sent[i].Id, len(sent[i].Payload))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
