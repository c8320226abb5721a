package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/bits"
	"slices"
)

// FrameKind says what a frame carries.
type FrameKind uint8

const (
	// FrameHello carries a marshalled Hello; it is the first frame each side
	// sends on a connection.
	FrameHello FrameKind = 1
	// FrameMessage carries a message for endpoint Token; ReplyTo != 0 names
	// the sender's endpoint for the reply.
	FrameMessage FrameKind = 2
	// FramePing is a liveness probe; Token carries a sequence number that
	// the pong echoes.
	FramePing FrameKind = 3
	// FramePong answers a FramePing.
	FramePong FrameKind = 4
)

// valid reports whether k is a kind this protocol defines.
func (k FrameKind) valid() bool { return k >= FrameHello && k <= FramePong }

func (k FrameKind) String() string {
	switch k {
	case FrameHello:
		return "hello"
	case FrameMessage:
		return "message"
	case FramePing:
		return "ping"
	case FramePong:
		return "pong"
	}
	return fmt.Sprintf("FrameKind(%d)", uint8(k))
}

// Frame is one unit of the wire protocol. Token and ReplyTo mean what Kind
// says; the frame layer only carries them.
type Frame struct {
	Kind    FrameKind
	Token   uint64
	ReplyTo uint64
	Payload []byte
}

// MaxFrameSize bounds one encoded frame, header included. AppendFrame refuses
// to produce larger frames and decoders refuse them before allocating.
const MaxFrameSize = 16 << 20

const (
	// headerSize is the fixed prefix: uint32 body length, uint32 CRC-32C.
	headerSize = 8
	// minBodySize is a kind byte and two one-byte uvarints.
	minBodySize = 3
	// minFrameSize is the smallest well-formed frame.
	minFrameSize = headerSize + minBodySize
)

var (
	// ErrFrameTooLarge reports a frame over the size limit.
	ErrFrameTooLarge = errors.New("wire: frame too large")
	// ErrChecksum reports a frame whose body does not match its CRC-32C.
	ErrChecksum = errors.New("wire: frame checksum mismatch")
	// ErrMalformed reports a frame whose body does not decode.
	ErrMalformed = errors.New("wire: malformed frame")
)

// castagnoli is read-only after initialisation; crc32 uses the CPU's CRC32
// instruction for this polynomial where there is one.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// uvarintLen is the number of bytes binary.AppendUvarint writes for x.
func uvarintLen(x uint64) int { return (bits.Len64(x|1) + 6) / 7 }

// encodedSize is the size of f's encoding, header included.
func encodedSize(f Frame) int {
	return headerSize + 1 + uvarintLen(f.Token) + uvarintLen(f.ReplyTo) + len(f.Payload)
}

// AppendFrame appends f's encoding to dst and returns the extended slice, so
// that many frames can be batched into one write. It refuses unknown kinds
// (ErrMalformed) and frames over MaxFrameSize (ErrFrameTooLarge), leaving dst
// unchanged.
func AppendFrame(dst []byte, f Frame) ([]byte, error) {
	if !f.Kind.valid() {
		return dst, fmt.Errorf("encode frame: unknown kind %d: %w", uint8(f.Kind), ErrMalformed)
	}
	size := encodedSize(f)
	if size > MaxFrameSize {
		return dst, fmt.Errorf("encode %s frame: %d bytes with a %d-byte payload, limit %d: %w",
			f.Kind, size, len(f.Payload), MaxFrameSize, ErrFrameTooLarge)
	}
	start := len(dst)
	dst = slices.Grow(dst, size)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(size-headerSize))
	dst = append(dst, 0, 0, 0, 0) // checksum, filled in below
	dst = append(dst, byte(f.Kind))
	dst = binary.AppendUvarint(dst, f.Token)
	dst = binary.AppendUvarint(dst, f.ReplyTo)
	dst = append(dst, f.Payload...)
	body := dst[start+headerSize:]
	binary.LittleEndian.PutUint32(dst[start+4:], crc32.Checksum(body, castagnoli))
	return dst, nil
}

// decodeBody decodes a frame body whose checksum has been verified. The
// returned payload aliases body. It accepts only the canonical encoding
// (minimal uvarints), so every accepted frame re-encodes to the same bytes.
func decodeBody(body []byte) (Frame, error) {
	if len(body) < minBodySize {
		return Frame{}, fmt.Errorf("body of %d bytes is shorter than the minimum %d: %w", len(body), minBodySize, ErrMalformed)
	}
	f := Frame{Kind: FrameKind(body[0])}
	if !f.Kind.valid() {
		return Frame{}, fmt.Errorf("unknown kind %d: %w", body[0], ErrMalformed)
	}
	rest := body[1:]
	var err error
	if f.Token, rest, err = decodeUvarint(rest); err != nil {
		return Frame{}, fmt.Errorf("token: %w", err)
	}
	if f.ReplyTo, rest, err = decodeUvarint(rest); err != nil {
		return Frame{}, fmt.Errorf("reply-to: %w", err)
	}
	if len(rest) > 0 {
		f.Payload = rest
	}
	return f, nil
}

// decodeUvarint reads one minimally encoded uvarint from the front of b.
func decodeUvarint(b []byte) (uint64, []byte, error) {
	x, n := binary.Uvarint(b)
	switch {
	case n == 0:
		return 0, nil, fmt.Errorf("truncated uvarint: %w", ErrMalformed)
	case n < 0:
		return 0, nil, fmt.Errorf("uvarint overflows 64 bits: %w", ErrMalformed)
	case n > 1 && b[n-1] == 0:
		// A zero final group means a shorter encoding exists.
		return 0, nil, fmt.Errorf("non-minimal uvarint of %d bytes: %w", n, ErrMalformed)
	}
	return x, b[n:], nil
}
