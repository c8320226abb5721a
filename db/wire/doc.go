// Package wire defines what Strata processes say to each other on the
// network: protocol versions and their compatibility rule, the frame format
// with its bounded sizes, and the message types (Protocol Buffers, generated
// code committed; see `make proto`).
//
// # Versions
//
// A ProtocolVersion is 0x5354 ("ST") << 48 | major << 32 | minor << 16 |
// patch. A release speaks its own minor's protocol and the previous minor's,
// so a cluster can be upgraded host by host; different majors never mix and a
// value without the magic is refused (Compatible, Negotiate).
//
// # Frames
//
// A connection carries a stream of frames. Each frame is an 8-byte header
// followed by a body:
//
//	offset  size      field
//	0       4         body length L, uint32 little-endian
//	4       4         CRC-32C (Castagnoli) of the body, uint32 little-endian
//	8       1         kind: 1 hello, 2 message, 3 ping, 4 pong
//	9       1-10      token, uvarint (encoding/binary)
//	.       1-10      reply-to, uvarint
//	.       the rest  payload, up to the end of the body
//
// A frame is therefore at least 11 bytes, and a small message costs 11 bytes
// of framing plus the varint bytes of large tokens. The whole frame, header
// included, is at most MaxFrameSize bytes (or a reader's smaller limit).
//
// Decoding is strict so that a corrupt or hostile stream is caught at the
// first bad frame: the declared length is checked against the limit before
// anything is allocated, and the read buffer then grows with the bytes that
// actually arrive, never past the limit; the checksum is verified before the body is
// looked at; the kind must be one of the four above; varints must be
// minimally encoded and fit in 64 bits. Hence every frame a FrameReader
// accepts re-encodes to exactly the bytes it was read from. A decode error
// ends the stream: the connection carrying it should be closed.
//
// What Token and ReplyTo mean depends on the kind: for FrameMessage, Token is
// the receiving endpoint and a non-zero ReplyTo the sender's endpoint for the
// answer; for FramePing, Token is a sequence number that FramePong echoes.
// The frame layer carries them without interpretation.
//
// # Messages
//
// Payloads are Protocol Buffers messages defined in messages.proto (package
// strata.wire) and generated into this package (messages.pb.go): Hello, the
// handshake, and EchoRequest/EchoReply for the self-test workload and
// transport benchmarks. MarshalHello and UnmarshalHello add validation of the
// version's magic and bounds on the handshake's strings.
package wire
