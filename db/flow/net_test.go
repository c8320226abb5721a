package flow

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"
)

// u64Codec is a tiny codec for tests that need no generated messages.
var u64Codec = Codec[uint64]{
	Marshal: func(v uint64) ([]byte, error) { return binary.AppendUvarint(nil, v), nil },
	Unmarshal: func(b []byte) (uint64, error) {
		v, n := binary.Uvarint(b)
		if n <= 0 || n != len(b) {
			return 0, fmt.Errorf("bad uvarint %x", b)
		}
		return v, nil
	},
}

func serveDouble(e *Env) RequestStream[uint64, uint64] {
	l := Listen(e, 77, u64Codec, u64Codec)
	e.Spawn("doubler", func(c *Ctx) error {
		for {
			r, err := l.Requests().Next(c)
			if err != nil {
				return err
			}
			if r.Msg == 13 {
				r.Fail(ErrTimedOut) // an error travels with its code
				continue
			}
			if r.Msg == 99 {
				continue // never answered
			}
			r.Reply(r.Msg * 2)
		}
	})
	return l.Stream()
}

func TestRequestReplyAndRemoteErrors(t *testing.T) {
	l := NewVirtualLoop(epoch)
	envs := newTestEnvs(l, "srv:1", "cli:1")
	srv, cli := envs[0], envs[1]
	stream := serveDouble(srv)
	var got []string
	a := cli.Spawn("client", func(c *Ctx) error {
		for _, v := range []uint64{1, 21, 13} {
			r, err := Await(c, stream.GetReply(cli, v))
			got = append(got, fmt.Sprint(r, err))
		}
		bad := NewRequestStream(Endpoint{Addr: "srv:1", Token: 12345}, u64Codec, u64Codec)
		_, err := Await(c, bad.GetReply(cli, 1))
		got = append(got, fmt.Sprint(err))
		return nil
	})
	l.RunUntil(epoch.Add(time.Minute), func() bool { return a.Done().IsReady() })
	want := []string{"2 <nil>", "42 <nil>", "0 timed_out (1004)", "endpoint_not_found (1104)"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestPeerFailureFailsOutstandingRequests(t *testing.T) {
	l := NewVirtualLoop(epoch)
	envs := newTestEnvs(l, "srv:1", "cli:1")
	srv, cli := envs[0], envs[1]
	stream := serveDouble(srv)
	var err error
	var failedAt time.Duration
	a := cli.Spawn("client", func(c *Ctx) error {
		_, err = Await(c, stream.GetReply(cli, 99))
		failedAt = c.Now().Sub(epoch)
		return nil
	})
	l.RunUntil(epoch.Add(2*time.Second), nil)
	if a.Done().IsReady() {
		t.Fatalf("request to a live but silent server failed early: %v", err)
	}
	srv.Kill()
	l.RunUntil(epoch.Add(time.Minute), func() bool { return a.Done().IsReady() })
	if !errors.Is(err, ErrRequestMaybeDelivered) {
		t.Fatalf("got %v, want request_maybe_delivered", err)
	}
	if k := cli.Knobs(); failedAt > 2*time.Second+k.FailureTimeout+2*k.PingInterval {
		t.Fatalf("failure detected at %v, too late", failedAt)
	}
	if !cli.IsFailed("srv:1") {
		t.Fatal("failure monitor does not report the dead server failed")
	}
}

func TestMalformedRequestIsAnsweredNotCrashing(t *testing.T) {
	l := NewVirtualLoop(epoch)
	envs := newTestEnvs(l, "srv:1", "cli:1")
	srv, cli := envs[0], envs[1]
	stream := serveDouble(srv)
	var bad, good error
	var doubled uint64
	a := cli.Spawn("client", func(c *Ctx) error {
		// A uvarint that never ends: the server's codec rejects it.
		_, bad = Await(c, request(cli, stream.Endpoint(), []byte{0xff, 0xff, 0xff}, u64Codec.Unmarshal, true, 0))
		doubled, good = Await(c, stream.GetReply(cli, 4))
		return nil
	})
	l.RunUntil(epoch.Add(time.Minute), func() bool { return a.Done().IsReady() })
	if !errors.Is(bad, ErrMalformedRequest) {
		t.Fatalf("malformed request answered with %v, want malformed_request", bad)
	}
	if good != nil || doubled != 8 {
		t.Fatalf("the server stopped serving after a malformed request: %d, %v", doubled, good)
	}
}
