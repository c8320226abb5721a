package wire

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
)

func TestHelloRoundTrip(t *testing.T) {
	want := NewHello(CurrentProtocol, "db1.example.com:4500", "3f2a9c")
	b, err := MarshalHello(want)
	if err != nil {
		t.Fatalf("MarshalHello: %v", err)
	}
	got, err := UnmarshalHello(b)
	if err != nil {
		t.Fatalf("UnmarshalHello: %v", err)
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("hello changed in a round trip (-sent +received):\n%s", diff)
	}
	if got.Protocol() != CurrentProtocol {
		t.Errorf("Protocol() = %s, want %s", got.Protocol(), CurrentProtocol)
	}
}

func TestHelloValidation(t *testing.T) {
	v := CurrentProtocol
	tests := []struct {
		name    string
		hello   *Hello
		wantErr string // empty: valid
	}{
		{"client without listen address", NewHello(v, "", "c1"), ""},
		{"IPv6 address", NewHello(v, "[2001:db8::1]:4500", "p"), ""},
		{"longest process ID", NewHello(v, "h:1", strings.Repeat("p", MaxProcessIDLen)), ""},
		{"zero version", NewHello(0, "h:1", "p"), "not a Strata protocol version"},
		{"FoundationDB version", NewHello(ProtocolVersion(0x0FDB00B073000000), "h:1", "p"), "not a Strata protocol version"},
		{"no port", NewHello(v, "db1", "p"), "listen address"},
		{"no host", NewHello(v, ":4500", "p"), "no host"},
		{"port zero", NewHello(v, "db1:0", "p"), "port"},
		{"port too big", NewHello(v, "db1:65536", "p"), "port"},
		{"named port", NewHello(v, "db1:http", "p"), "port"},
		{"address too long", NewHello(v, strings.Repeat("a", MaxListenAddressLen)+":1", "p"), "exceeds limit"},
		{"process ID too long", NewHello(v, "h:1", strings.Repeat("p", MaxProcessIDLen+1)), "exceeds limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, marshalErr := MarshalHello(tt.hello)
			// Bypass MarshalHello's check to see that the receiving side refuses too.
			raw, err := proto.Marshal(tt.hello)
			if err != nil {
				t.Fatal(err)
			}
			_, unmarshalErr := UnmarshalHello(raw)
			for side, err := range map[string]error{"MarshalHello": marshalErr, "UnmarshalHello": unmarshalErr} {
				switch {
				case tt.wantErr == "" && err != nil:
					t.Errorf("%s: unexpected error %v", side, err)
				case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
					t.Errorf("%s: error %v, want one containing %q", side, err, tt.wantErr)
				}
			}
		})
	}
}

func TestUnmarshalHelloRejectsGarbage(t *testing.T) {
	for _, b := range [][]byte{{0xff}, {0x0a, 0x05, 'a'}, {0x12, 0x02, 0xff, 0xfe}} {
		if h, err := UnmarshalHello(b); err == nil {
			t.Errorf("UnmarshalHello(% x) = %v, want an error", b, h)
		}
	}
	if _, err := MarshalHello(nil); err == nil {
		t.Error("MarshalHello(nil) succeeded, want an error")
	}
}

func TestEchoMessagesRoundTrip(t *testing.T) {
	req := &EchoRequest{Id: 1 << 40, Attempt: 3, Payload: []byte{0, 1, 2}, From: "client-7"}
	b, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	var gotReq EchoRequest
	if err := proto.Unmarshal(b, &gotReq); err != nil {
		t.Fatal(err)
	}
	reply := &EchoReply{Id: gotReq.GetId(), Attempt: gotReq.GetAttempt(), Payload: gotReq.GetPayload(), Server: "db1:4500"}
	if b, err = proto.Marshal(reply); err != nil {
		t.Fatal(err)
	}
	var gotReply EchoReply
	if err := proto.Unmarshal(b, &gotReply); err != nil {
		t.Fatal(err)
	}
	want := &EchoReply{Id: 1 << 40, Attempt: 3, Payload: []byte{0, 1, 2}, Server: "db1:4500"}
	if diff := cmp.Diff(want, &gotReply, protocmp.Transform()); diff != "" {
		t.Errorf("echo round trip (-want +got):\n%s", diff)
	}
}
