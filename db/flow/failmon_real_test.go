package flow_test

import (
	"bufio"
	"bytes"
	"net"
	"testing"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/wire"
	"github.com/strata-db/strata/db/workloads"
	"google.golang.org/protobuf/proto"
)

// slowPeer is a hand-driven peer on loopback: it handshakes, never
// answers pings, and answers the first echo request with a reply frame it
// trickles out over trickle.
type slowPeer struct {
	ln      net.Listener
	payload []byte
	trickle time.Duration
	errs    chan error
}

func startSlowPeer(t *testing.T, payload []byte, trickle time.Duration) *slowPeer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &slowPeer{ln: ln, payload: payload, trickle: trickle, errs: make(chan error, 1)}
	t.Cleanup(func() { ln.Close() })
	go func() { p.errs <- p.serve() }()
	return p
}

func (p *slowPeer) serve() error {
	conn, err := p.ln.Accept()
	if err != nil {
		return err
	}
	defer conn.Close()
	r := wire.NewFrameReader(bufio.NewReader(conn), wire.MaxFrameSize)
	if _, err := r.Next(); err != nil { // the client's hello
		return err
	}
	body, err := wire.MarshalHello(wire.NewHello(wire.CurrentProtocol, p.ln.Addr().String(), "slow-peer"))
	if err != nil {
		return err
	}
	hello, err := wire.AppendFrame(nil, wire.Frame{Kind: wire.FrameHello, Payload: body})
	if err != nil {
		return err
	}
	if _, err := conn.Write(hello); err != nil {
		return err
	}
	var req wire.EchoRequest
	var replyTo uint64
	for replyTo == 0 {
		f, err := r.Next()
		if err != nil {
			return err
		}
		if f.Kind == wire.FrameMessage && f.Token != flow.TokenPing {
			if err := proto.Unmarshal(f.Payload, &req); err != nil {
				return err
			}
			replyTo = f.ReplyTo
		}
	}
	go func() { // drain the pings, which go unanswered
		for {
			if _, err := r.Next(); err != nil {
				return
			}
		}
	}()
	msg, err := proto.Marshal(&wire.EchoReply{Id: req.Id, Attempt: req.Attempt, Payload: p.payload, Server: "slow-peer"})
	if err != nil {
		return err
	}
	frame, err := wire.AppendFrame(nil, wire.Frame{Kind: wire.FrameMessage, Token: replyTo, Payload: append([]byte{0}, msg...)})
	if err != nil {
		return err
	}
	const chunks = 40
	step := (len(frame) + chunks - 1) / chunks
	for off := 0; off < len(frame); off += step {
		time.Sleep(p.trickle / chunks)
		if _, err := conn.Write(frame[off:min(off+step, len(frame))]); err != nil {
			return err
		}
	}
	time.Sleep(time.Second) // let the client read it before the close
	return nil
}

// A peer whose reply takes several failure timeouts to arrive, but whose
// bytes keep coming, is not declared failed: the request gets its reply.
// (Counting only whole messages, the client failed the request with
// request_maybe_delivered after one failure timeout.)
func TestRealPeerSendingALargeFrameSlowlyIsNotFailed(t *testing.T) {
	payload := bytes.Repeat([]byte("strata"), 200_000)
	peer := startSlowPeer(t, payload, 2*time.Second)
	client := startClient(t, flow.Knobs{FailureTimeout: 300 * time.Millisecond, PingInterval: 50 * time.Millisecond})
	addr := flow.Address(peer.ln.Addr().String())
	err := runActor(t, client, 30*time.Second, func(c *flow.Ctx) error {
		rep, err := flow.Await(c, workloads.EchoStream(addr).GetReply(c.Env, &wire.EchoRequest{Id: 7, Attempt: 1, From: "test"}))
		if err != nil {
			return err
		}
		if rep.Id != 7 || !bytes.Equal(rep.Payload, payload) {
			t.Errorf("reply %d with %d bytes, want 7 with %d", rep.Id, len(rep.Payload), len(payload))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("the slow peer's reply: %v", err)
	}
	if err := <-peer.errs; err != nil {
		t.Fatalf("slow peer: %v", err)
	}
}
