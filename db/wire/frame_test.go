package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// randomFrame returns a frame with varied kinds, varint widths and payload
// sizes, including payloads larger than the reader's initial buffer.
func randomFrame(rng *rand.Rand) Frame {
	f := Frame{
		Kind:    FrameKind(1 + rng.IntN(4)),
		Token:   randomUint(rng),
		ReplyTo: randomUint(rng),
	}
	var n int
	switch rng.IntN(10) {
	case 0:
		n = 0
	case 1:
		n = rng.IntN(3 * defaultBufferSize)
	default:
		n = rng.IntN(200)
	}
	if n > 0 {
		f.Payload = make([]byte, n)
		for i := range f.Payload {
			f.Payload[i] = byte(rng.Uint32())
		}
	}
	return f
}

func randomUint(rng *rand.Rand) uint64 {
	switch rng.IntN(4) {
	case 0:
		return 0
	case 1:
		return ^uint64(0)
	default:
		return rng.Uint64() >> rng.IntN(64)
	}
}

// readAll decodes frames until an error, copying payloads (they alias the
// reader's buffer). It returns the frames and the error that ended the stream.
func readAll(r *FrameReader) ([]Frame, error) {
	var frames []Frame
	for {
		f, err := r.Next()
		if err != nil {
			return frames, err
		}
		f.Payload = bytes.Clone(f.Payload)
		frames = append(frames, f)
	}
}

// equalBytes compares payloads as a whole; go-cmp walks slices element by
// element, which is slow for large payloads.
var equalBytes = cmp.Comparer(bytes.Equal)

func encodeAll(t testing.TB, frames ...Frame) []byte {
	t.Helper()
	var buf []byte
	for _, f := range frames {
		var err error
		if buf, err = AppendFrame(buf, f); err != nil {
			t.Fatalf("AppendFrame(%v kind, %d-byte payload): %v", f.Kind, len(f.Payload), err)
		}
	}
	return buf
}

func TestFrameRoundTripProperty(t *testing.T) {
	readers := map[string]func(io.Reader) io.Reader{
		"whole":    func(r io.Reader) io.Reader { return r },
		"one byte": iotest.OneByteReader,
		"halves":   iotest.HalfReader,
		"data+EOF": iotest.DataErrReader,
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 30 {
		frames := make([]Frame, 1+rng.IntN(40))
		for i := range frames {
			frames[i] = randomFrame(rng)
		}
		stream := encodeAll(t, frames...)
		for name, wrap := range readers {
			if name == "one byte" && len(stream) > 64<<10 {
				continue // correct but slow; the other readers cover large streams
			}
			got, err := readAll(NewFrameReader(wrap(bytes.NewReader(stream)), 0))
			if err != io.EOF {
				t.Fatalf("round %d, %s reader: stream ended with %v, want io.EOF", round, name, err)
			}
			if diff := cmp.Diff(frames, got, equalBytes); diff != "" {
				t.Fatalf("round %d, %s reader: frames differ (-sent +received):\n%s", round, name, diff)
			}
		}
	}
}

func TestFrameEncodingLayout(t *testing.T) {
	got := encodeAll(t, Frame{Kind: FrameMessage, Token: 300, ReplyTo: 0, Payload: []byte("hi")})
	body := []byte{2, 0xac, 0x02, 0x00, 'h', 'i'}
	want := binary.LittleEndian.AppendUint32(nil, uint32(len(body)))
	want = binary.LittleEndian.AppendUint32(want, crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)))
	want = append(want, body...)
	if !bytes.Equal(got, want) {
		t.Errorf("encoding = % x, want % x", got, want)
	}
	if len(got) != encodedSize(Frame{Kind: FrameMessage, Token: 300, Payload: []byte("hi")}) {
		t.Errorf("encodedSize disagrees with the encoding's %d bytes", len(got))
	}
	// The smallest frame is 11 bytes.
	if n := len(encodeAll(t, Frame{Kind: FramePing})); n != minFrameSize {
		t.Errorf("empty ping is %d bytes, want %d", n, minFrameSize)
	}
}

func TestAppendFrameAppends(t *testing.T) {
	prefix := []byte("prefix")
	got, err := AppendFrame(bytes.Clone(prefix), Frame{Kind: FramePong, Token: 7})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(got, prefix) || !bytes.Equal(got[len(prefix):], encodeAll(t, Frame{Kind: FramePong, Token: 7})) {
		t.Errorf("AppendFrame did not append the frame after existing bytes: % x", got)
	}
}

func TestAppendFrameRefuses(t *testing.T) {
	maxPayload := MaxFrameSize - headerSize - 1 - uvarintLen(1) - uvarintLen(0)
	tests := []struct {
		name  string
		frame Frame
		want  error
	}{
		{"kind 0", Frame{Kind: 0}, ErrMalformed},
		{"kind 5", Frame{Kind: 5}, ErrMalformed},
		{"one byte over the limit", Frame{Kind: FrameMessage, Token: 1, Payload: make([]byte, maxPayload+1)}, ErrFrameTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := []byte("keep")
			got, err := AppendFrame(dst, tt.frame)
			if !errors.Is(err, tt.want) {
				t.Fatalf("AppendFrame error = %v, want %v", err, tt.want)
			}
			if !bytes.Equal(got, []byte("keep")) {
				t.Errorf("AppendFrame changed dst on error: %q", got)
			}
		})
	}
	// Exactly at the limit is fine, and a reader with the default limit takes it.
	buf, err := AppendFrame(nil, Frame{Kind: FrameMessage, Token: 1, Payload: make([]byte, maxPayload)})
	if err != nil || len(buf) != MaxFrameSize {
		t.Fatalf("frame of exactly MaxFrameSize: %d bytes, error %v", len(buf), err)
	}
	if _, err := NewFrameReader(bytes.NewReader(buf), 0).Next(); err != nil {
		t.Errorf("reading a frame of exactly MaxFrameSize: %v", err)
	}
}

// frameBytes builds a frame from a raw body with a correct checksum, to test
// bodies AppendFrame would never produce.
func frameBytes(body []byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(body)))
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(body, castagnoli))
	return append(b, body...)
}

func TestFrameReaderRejects(t *testing.T) {
	good := encodeAll(t, Frame{Kind: FrameMessage, Token: 1, ReplyTo: 2, Payload: []byte("payload")})
	badSum := bytes.Clone(good)
	badSum[len(badSum)-1] ^= 0x40
	badHeaderSum := bytes.Clone(good)
	badHeaderSum[5] ^= 1
	huge := binary.LittleEndian.AppendUint32(nil, 0xffffffff)
	huge = append(huge, 0, 0, 0, 0)
	tests := []struct {
		name    string
		stream  []byte
		maxSize int
		want    error
	}{
		{"empty stream", nil, 0, io.EOF},
		{"partial header", good[:5], 0, io.ErrUnexpectedEOF},
		{"partial body", good[:len(good)-1], 0, io.ErrUnexpectedEOF},
		{"payload bit flipped", badSum, 0, ErrChecksum},
		{"checksum bit flipped", badHeaderSum, 0, ErrChecksum},
		{"4 GiB declared", huge, 0, ErrFrameTooLarge},
		{"over a small limit", good, len(good) - 1, ErrFrameTooLarge},
		{"declared body below minimum", frameBytes([]byte{1, 0}), 0, ErrMalformed},
		{"kind 0", frameBytes([]byte{0, 0, 0}), 0, ErrMalformed},
		{"kind 9", frameBytes([]byte{9, 0, 0}), 0, ErrMalformed},
		{"token truncated", frameBytes([]byte{2, 0x80, 0x80}), 0, ErrMalformed},
		{"reply-to truncated", frameBytes([]byte{2, 0x01, 0x80}), 0, ErrMalformed},
		{"token not minimal", frameBytes([]byte{2, 0x81, 0x00, 0x00}), 0, ErrMalformed},
		{"reply-to not minimal", frameBytes([]byte{2, 0x00, 0x80, 0x80, 0x00}), 0, ErrMalformed},
		{"token overflows 64 bits", frameBytes(append([]byte{2}, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00)), 0, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewFrameReader(bytes.NewReader(tt.stream), tt.maxSize)
			_, err := r.Next()
			if !errors.Is(err, tt.want) {
				t.Fatalf("Next() error = %v, want %v", err, tt.want)
			}
			if cap(r.buf) > r.maxSize {
				t.Errorf("reader buffer grew to %d bytes, over its %d-byte limit", cap(r.buf), r.maxSize)
			}
			if _, again := r.Next(); !errors.Is(again, tt.want) {
				t.Errorf("second Next() error = %v, want %v again", again, tt.want)
			}
		})
	}
}

func TestFrameReaderErrorNamesOffset(t *testing.T) {
	stream := encodeAll(t, Frame{Kind: FramePing, Token: 1}, Frame{Kind: FramePing, Token: 2})
	stream[len(stream)-1] ^= 1 // corrupt the second frame's reply-to
	r := NewFrameReader(bytes.NewReader(stream), 0)
	if _, err := r.Next(); err != nil {
		t.Fatalf("first frame: %v", err)
	}
	_, err := r.Next()
	const want = "frame at stream offset 11: "
	if err == nil || !bytes.HasPrefix([]byte(err.Error()), []byte(want)) {
		t.Errorf("error %q does not start with %q", err, want)
	}
}

// flakyReader returns an error once, after delivering part of its data.
type flakyReader struct {
	data   []byte
	failAt int
	failed bool
}

var errTemporary = errors.New("read deadline exceeded")

func (r *flakyReader) Read(p []byte) (int, error) {
	if !r.failed && r.failAt < len(r.data) {
		n := copy(p, r.data[:r.failAt])
		r.data = r.data[n:]
		r.failAt -= n
		if r.failAt == 0 {
			r.failed = true
			return n, errTemporary
		}
		return n, nil
	}
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestFrameReaderRetriesAfterSourceError(t *testing.T) {
	frames := []Frame{{Kind: FrameMessage, Token: 5, Payload: []byte("first")}, {Kind: FrameMessage, Token: 6, Payload: []byte("second")}}
	stream := encodeAll(t, frames...)
	r := NewFrameReader(&flakyReader{data: stream, failAt: len(stream) - 3}, 0)
	var got []Frame
	for {
		f, err := r.Next()
		if errors.Is(err, errTemporary) {
			continue // the source's error is not final; the buffered bytes are kept
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		f.Payload = bytes.Clone(f.Payload)
		got = append(got, f)
	}
	if diff := cmp.Diff(frames, got, equalBytes); diff != "" {
		t.Errorf("frames differ after a source error (-sent +received):\n%s", diff)
	}
}

// emptyReader returns (0, nil) forever.
type emptyReader struct{}

func (emptyReader) Read([]byte) (int, error) { return 0, nil }

func TestFrameReaderNoProgress(t *testing.T) {
	if _, err := NewFrameReader(emptyReader{}, 0).Next(); err != io.ErrNoProgress {
		t.Errorf("Next() on a reader that never returns data: %v, want io.ErrNoProgress", err)
	}
}

func TestFrameReaderBufferFollowsReceivedBytes(t *testing.T) {
	// A header declaring the largest allowed frame, and then little else.
	stream := binary.LittleEndian.AppendUint32(nil, MaxFrameSize-headerSize)
	stream = append(stream, make([]byte, 4+100<<10)...)
	r := NewFrameReader(bytes.NewReader(stream), 0)
	if _, err := r.Next(); err != io.ErrUnexpectedEOF {
		t.Fatalf("Next() error = %v, want io.ErrUnexpectedEOF", err)
	}
	if cap(r.buf) > 2*len(stream) {
		t.Errorf("reader reserved %d bytes for a frame of which %d arrived", cap(r.buf), len(stream))
	}
}

func TestFrameReaderReleasesLargeBuffer(t *testing.T) {
	big := Frame{Kind: FrameMessage, Token: 1, Payload: make([]byte, 2*releaseBufferSize)}
	small := Frame{Kind: FrameMessage, Token: 2, Payload: []byte("small")}
	r := NewFrameReader(bytes.NewReader(encodeAll(t, big, small)), 0)
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if len(r.buf) > releaseBufferSize {
		t.Errorf("after a large frame was drained the buffer is still %d bytes", len(r.buf))
	}
}

func TestFrameRoundTripDoesNotAllocate(t *testing.T) {
	frame := Frame{Kind: FrameMessage, Token: 1234, ReplyTo: 5678, Payload: make([]byte, 64)}
	var buf []byte
	src := bytes.NewReader(nil)
	r := NewFrameReader(src, 0)
	roundTrip := func() {
		var err error
		if buf, err = AppendFrame(buf[:0], frame); err != nil {
			t.Fatal(err)
		}
		src.Reset(buf)
		if _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
	}
	roundTrip() // sizes the buffers
	if allocs := testing.AllocsPerRun(100, roundTrip); allocs != 0 {
		t.Errorf("encoding and decoding a frame allocates %v times in steady state, want 0", allocs)
	}
}

func TestFrameKindString(t *testing.T) {
	for kind, want := range map[FrameKind]string{FrameHello: "hello", FrameMessage: "message", FramePing: "ping", FramePong: "pong", 0: "FrameKind(0)", 200: "FrameKind(200)"} {
		if got := kind.String(); got != want {
			t.Errorf("FrameKind(%d).String() = %q, want %q", uint8(kind), got, want)
		}
	}
}
