package wire

import (
	"bytes"
	"testing"
)

// BenchmarkFrameRoundTrip64 encodes one frame with a 64-byte payload and
// decodes it again, reusing the encode buffer and the reader.
func BenchmarkFrameRoundTrip64(b *testing.B) {
	frame := Frame{Kind: FrameMessage, Token: 1 << 20, ReplyTo: 1 << 21, Payload: make([]byte, 64)}
	var buf []byte
	src := bytes.NewReader(nil)
	r := NewFrameReader(src, 0)
	b.SetBytes(int64(encodedSize(frame)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = AppendFrame(buf[:0], frame); err != nil {
			b.Fatal(err)
		}
		src.Reset(buf)
		if _, err := r.Next(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFrameStream1000 encodes 1,000 frames with 64-byte payloads into
// one buffer, as a batching writer would, and decodes them from one stream.
// ns/op is per batch of 1,000 frames.
func BenchmarkFrameStream1000(b *testing.B) {
	const frames = 1000
	payload := make([]byte, 64)
	var buf []byte
	src := bytes.NewReader(nil)
	r := NewFrameReader(src, 0)
	batch := func() {
		buf = buf[:0]
		for i := range frames {
			var err error
			if buf, err = AppendFrame(buf, Frame{Kind: FrameMessage, Token: uint64(i), ReplyTo: 1 << 21, Payload: payload}); err != nil {
				b.Fatal(err)
			}
		}
		src.Reset(buf)
		for range frames {
			if _, err := r.Next(); err != nil {
				b.Fatal(err)
			}
		}
	}
	batch() // sizes the buffers, so the loop measures the steady state
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		batch()
	}
}
