package wire

import (
	"fmt"
	"net"
	"strconv"

	"google.golang.org/protobuf/proto"
)

const (
	// MaxListenAddressLen bounds Hello.listen_address: a DNS name of at most
	// 253 bytes, brackets, a colon and a port fit with room to spare.
	MaxListenAddressLen = 300
	// MaxProcessIDLen bounds Hello.process_id.
	MaxProcessIDLen = 128
)

// NewHello returns the handshake a process sends: its protocol version, the
// address it listens on (empty if it does not listen) and its process ID.
func NewHello(version ProtocolVersion, listenAddress, processID string) *Hello {
	return &Hello{ProtocolVersion: uint64(version), ListenAddress: listenAddress, ProcessId: processID}
}

// Protocol returns the sender's protocol version.
func (h *Hello) Protocol() ProtocolVersion { return ProtocolVersion(h.GetProtocolVersion()) }

// MarshalHello validates h (see UnmarshalHello) and encodes it for a
// FrameHello payload.
func MarshalHello(h *Hello) ([]byte, error) {
	if err := validateHello(h); err != nil {
		return nil, fmt.Errorf("marshal hello: %w", err)
	}
	b, err := proto.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("marshal hello: %w", err)
	}
	return b, nil
}

// UnmarshalHello decodes a FrameHello payload and validates it: the protocol
// version carries Strata's magic, the listen address is empty or host:port
// with a numeric port, and both strings are within their length bounds.
// Whether the version is compatible is the caller's decision (Negotiate).
func UnmarshalHello(b []byte) (*Hello, error) {
	h := new(Hello)
	if err := proto.Unmarshal(b, h); err != nil {
		return nil, fmt.Errorf("unmarshal hello: %w", err)
	}
	if err := validateHello(h); err != nil {
		return nil, fmt.Errorf("unmarshal hello: %w", err)
	}
	return h, nil
}

func validateHello(h *Hello) error {
	if h == nil {
		return fmt.Errorf("nil hello")
	}
	if v := h.Protocol(); !v.Valid() {
		return fmt.Errorf("protocol version %#016x is not a Strata protocol version", uint64(v))
	}
	if n := len(h.GetListenAddress()); n > MaxListenAddressLen {
		return fmt.Errorf("listen address of %d bytes exceeds limit %d", n, MaxListenAddressLen)
	}
	if n := len(h.GetProcessId()); n > MaxProcessIDLen {
		return fmt.Errorf("process ID of %d bytes exceeds limit %d", n, MaxProcessIDLen)
	}
	if addr := h.GetListenAddress(); addr != "" {
		if err := checkHostPort(addr); err != nil {
			return fmt.Errorf("listen address %q: %w", addr, err)
		}
	}
	return nil
}

func checkHostPort(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "" {
		return fmt.Errorf("no host")
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
		return fmt.Errorf("port %q is not a number in 1-65535", port)
	}
	return nil
}
