package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/iotest"
)

// FuzzFrameReader feeds arbitrary streams to a FrameReader, with the default
// and with a small size limit. It must never panic, never size its buffer
// beyond the limit or far beyond the bytes received, end with a known error, and every frame it accepts must
// re-encode to exactly the bytes it was read from. Reading the stream one
// byte per read must give the same result.
func FuzzFrameReader(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, maxSize := range []int{0, 64} {
			whole := decodeChecked(t, bytes.NewReader(data), data, maxSize)
			oneByte := decodeChecked(t, iotest.OneByteReader(bytes.NewReader(data)), data, maxSize)
			if whole != oneByte {
				t.Fatalf("limit %d: whole reads gave %q, one-byte reads %q", maxSize, whole, oneByte)
			}
		}
	})
}

// decodeChecked reads src (whose bytes are data) to its end, checking the
// reader's invariants, and returns a summary of what it decoded.
func decodeChecked(t *testing.T, src io.Reader, data []byte, maxSize int) string {
	r := NewFrameReader(src, maxSize)
	offset, frames := 0, 0
	for {
		f, err := r.Next()
		if cap(r.buf) > r.maxSize {
			t.Fatalf("buffer of %d bytes exceeds the %d-byte limit", cap(r.buf), r.maxSize)
		}
		if cap(r.buf) > max(defaultBufferSize, 2*len(data)) {
			t.Fatalf("buffer of %d bytes for a %d-byte stream: it must grow with the bytes received", cap(r.buf), len(data))
		}
		if err != nil {
			switch {
			case err == io.EOF:
				if offset != len(data) {
					t.Fatalf("io.EOF at offset %d of %d", offset, len(data))
				}
			case err == io.ErrUnexpectedEOF, errors.Is(err, ErrFrameTooLarge), errors.Is(err, ErrChecksum), errors.Is(err, ErrMalformed):
			default:
				t.Fatalf("unexpected error kind: %v", err)
			}
			return fmt.Sprintf("%d frames, then %v", frames, err)
		}
		enc, err := AppendFrame(nil, f)
		if err != nil {
			t.Fatalf("accepted frame at offset %d does not re-encode: %v", offset, err)
		}
		if len(enc) > r.maxSize || !bytes.HasPrefix(data[offset:], enc) {
			t.Fatalf("accepted frame at offset %d re-encodes to % x, stream has % x", offset, enc, data[offset:min(len(data), offset+len(enc))])
		}
		offset += len(enc)
		frames++
	}
}

var updateSeeds = flag.Bool("update-seeds", false, "rewrite the FuzzFrameReader seed corpus in testdata")

// fuzzSeeds is the seed corpus of FuzzFrameReader, by file name.
func fuzzSeeds(t *testing.T) map[string][]byte {
	frame := func(f Frame) []byte { return encodeAll(t, f) }
	hello, err := MarshalHello(NewHello(CurrentProtocol, "db1:4500", "proc-1"))
	if err != nil {
		t.Fatal(err)
	}
	message := frame(Frame{Kind: FrameMessage, Token: 42, ReplyTo: 7, Payload: []byte("payload")})
	badChecksum := slices.Clone(message)
	badChecksum[4] ^= 0xff
	badPayload := slices.Clone(message)
	badPayload[len(badPayload)-1] ^= 1
	lengthOnly := func(n uint32) []byte {
		return binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, n), 0)
	}
	return map[string][]byte{
		"valid-hello":              frame(Frame{Kind: FrameHello, Payload: hello}),
		"valid-message":            message,
		"valid-message-no-reply":   frame(Frame{Kind: FrameMessage, Token: 1 << 40, Payload: []byte{0}}),
		"valid-ping":               frame(Frame{Kind: FramePing, Token: 1}),
		"valid-pong":               frame(Frame{Kind: FramePong, Token: 1}),
		"valid-max-varints":        frame(Frame{Kind: FrameMessage, Token: ^uint64(0), ReplyTo: ^uint64(0)}),
		"valid-batch":              encodeAll(t, Frame{Kind: FramePing, Token: 9}, Frame{Kind: FrameMessage, Token: 3, Payload: []byte("a")}, Frame{Kind: FramePong, Token: 9}),
		"valid-over-small-limit":   frame(Frame{Kind: FrameMessage, Token: 5, Payload: bytes.Repeat([]byte{'x'}, 80)}),
		"truncated-header":         message[:6],
		"truncated-body":           message[:len(message)-2],
		"truncated-second-frame":   append(frame(Frame{Kind: FramePing}), message[:10]...),
		"bad-checksum":             badChecksum,
		"bad-payload":              badPayload,
		"oversized-4GiB":           lengthOnly(0xffffffff),
		"oversized-by-one":         lengthOnly(MaxFrameSize - headerSize + 1),
		"short-body":               frameBytes([]byte{byte(FramePing), 0}),
		"bad-kind":                 frameBytes([]byte{0x7f, 0, 0}),
		"bad-varint-truncated":     frameBytes([]byte{byte(FrameMessage), 0x80, 0x80, 0x80}),
		"bad-varint-nonminimal":    frameBytes([]byte{byte(FrameMessage), 0x80, 0x00, 0x00}),
		"bad-varint-overflow":      frameBytes([]byte{byte(FrameMessage), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x00}),
		"valid-then-garbage-after": append(frame(Frame{Kind: FramePong, Token: 3}), 0xde, 0xad),
	}
}

// TestFuzzSeedCorpus checks that the committed seed corpus is the one
// fuzzSeeds describes; -update-seeds rewrites it.
func TestFuzzSeedCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzFrameReader")
	seeds := fuzzSeeds(t)
	if *updateSeeds {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, data := range seeds {
			if err := os.WriteFile(filepath.Join(dir, name), corpusFile(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, data := range seeds {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("seed %s: %v (run go test -run TestFuzzSeedCorpus -update-seeds)", name, err)
			continue
		}
		if !bytes.Equal(got, corpusFile(data)) {
			t.Errorf("seed %s differs from fuzzSeeds (run go test -run TestFuzzSeedCorpus -update-seeds)", name)
		}
	}
}

// corpusFile renders data in the format of Go's fuzzing corpus files.
func corpusFile(data []byte) []byte {
	return fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", data)
}
