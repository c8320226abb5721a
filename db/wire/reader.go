package wire

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
)

const (
	// defaultBufferSize holds hundreds of small frames, so one read from a
	// socket usually yields many frames.
	defaultBufferSize = 32 << 10
	// releaseBufferSize: a buffer grown past this for a large frame is
	// dropped once drained, so a connection does not keep a frame-sized
	// buffer for the rest of its life.
	releaseBufferSize = 1 << 20
	// maxEmptyReads bounds consecutive (0, nil) reads from a misbehaving
	// reader before Next gives up with io.ErrNoProgress.
	maxEmptyReads = 100
)

// FrameReader decodes frames from a stream. It reads ahead into one buffer
// that it reuses, so decoding allocates nothing in steady state; the buffer
// never grows beyond the reader's size limit. A FrameReader is not safe for
// concurrent use.
type FrameReader struct {
	src     io.Reader
	maxSize int
	buf     []byte // buffered stream bytes are buf[start:end]
	start   int
	end     int
	offset  int64 // stream offset of buf[start], for error messages
	err     error // sticky decode error: after one, the stream is out of step
}

// NewFrameReader returns a reader of frames from r that refuses frames whose
// encoding, header included, exceeds maxSize bytes. maxSize <= 0 means
// MaxFrameSize; a positive maxSize below the smallest possible frame (11
// bytes) is raised to it.
func NewFrameReader(r io.Reader, maxSize int) *FrameReader {
	if maxSize <= 0 {
		maxSize = MaxFrameSize
	}
	return &FrameReader{src: r, maxSize: max(maxSize, minFrameSize)}
}

// Next decodes the next frame. The returned Payload aliases an internal
// buffer and is valid only until the next call to Next; an empty payload is
// nil.
//
// At a clean end of the stream between frames Next returns io.EOF; if the
// stream ends inside a frame, io.ErrUnexpectedEOF. A frame that is too large,
// fails its checksum or does not decode yields an error wrapping
// ErrFrameTooLarge, ErrChecksum or ErrMalformed that names the frame's stream
// offset; such errors are final, since the stream cannot be resynchronised,
// and every later call returns the same error. Errors from the underlying
// reader are returned unchanged and are not final: buffered bytes are kept,
// so Next may be called again, for example after a read deadline passed.
func (r *FrameReader) Next() (Frame, error) {
	if r.err != nil {
		return Frame{}, r.err
	}
	r.recycle()
	if err := r.fill(headerSize, true); err != nil {
		return Frame{}, err
	}
	header := r.buf[r.start : r.start+headerSize]
	bodyLen := binary.LittleEndian.Uint32(header)
	sum := binary.LittleEndian.Uint32(header[4:])
	if uint64(bodyLen) > uint64(r.maxSize-headerSize) {
		return Frame{}, r.fail(fmt.Errorf("declared size %d bytes exceeds limit %d: %w",
			uint64(bodyLen)+headerSize, r.maxSize, ErrFrameTooLarge))
	}
	if bodyLen < minBodySize {
		return Frame{}, r.fail(fmt.Errorf("declared body of %d bytes is shorter than the minimum %d: %w",
			bodyLen, minBodySize, ErrMalformed))
	}
	size := headerSize + int(bodyLen)
	if err := r.fill(size, false); err != nil {
		return Frame{}, err
	}
	body := r.buf[r.start+headerSize : r.start+size]
	if got := crc32.Checksum(body, castagnoli); got != sum {
		return Frame{}, r.fail(fmt.Errorf("body checksum %#08x, header says %#08x: %w", got, sum, ErrChecksum))
	}
	f, err := decodeBody(body)
	if err != nil {
		return Frame{}, r.fail(err)
	}
	r.start += size
	r.offset += int64(size)
	return f, nil
}

// fail records a decode error of the frame at the current offset as final.
func (r *FrameReader) fail(err error) error {
	r.err = fmt.Errorf("frame at stream offset %d: %w", r.offset, err)
	return r.err
}

// recycle rewinds an empty buffer, dropping it if a large frame grew it. The
// previous frame's payload may be overwritten from here on.
func (r *FrameReader) recycle() {
	if r.start != r.end {
		return
	}
	r.start, r.end = 0, 0
	if len(r.buf) > releaseBufferSize {
		r.buf = nil
	}
}

// fill makes at least n bytes (n <= r.maxSize) available in buf[start:end],
// reading as much as the source offers per read. The buffer grows with the
// bytes that actually arrive, not with the length a header declares, so a
// peer cannot make the reader reserve memory it never sends. atBoundary says
// whether the buffer starting empty would be a clean end of stream.
func (r *FrameReader) fill(n int, atBoundary bool) error {
	empty := 0
	for r.end-r.start < n {
		if r.end == len(r.buf) {
			r.makeRoom(n)
		}
		nr, err := r.src.Read(r.buf[r.end:])
		r.end += nr
		if r.end-r.start >= n {
			return nil // a trailing error will come again on the next read
		}
		switch {
		case err == io.EOF && atBoundary && r.end == r.start:
			return io.EOF
		case err == io.EOF:
			return io.ErrUnexpectedEOF
		case err != nil:
			return err
		case nr == 0:
			if empty++; empty >= maxEmptyReads {
				return io.ErrNoProgress
			}
		default:
			empty = 0
		}
	}
	return nil
}

// makeRoom frees space after buf[end] on the way to holding n bytes from
// buf[start]: it moves the buffered bytes to the front if the buffer could
// hold n, and otherwise doubles the buffer, up to n (at least
// defaultBufferSize) and never past maxSize.
func (r *FrameReader) makeRoom(n int) {
	if len(r.buf) >= n {
		r.end = copy(r.buf, r.buf[r.start:r.end])
		r.start = 0
		return
	}
	size := min(max(2*len(r.buf), defaultBufferSize), max(n, defaultBufferSize), r.maxSize)
	grown := make([]byte, size)
	r.end = copy(grown, r.buf[r.start:r.end])
	r.start = 0
	r.buf = grown
}

// FrameBuffered reports whether a whole frame is already buffered, so that
// the next call to Next will not read from the stream. A transport uses it to
// decode every frame that arrived in one read before handing them on as a
// batch.
func (r *FrameReader) FrameBuffered() bool {
	if r.err != nil || r.end-r.start < headerSize {
		return false
	}
	bodyLen := binary.LittleEndian.Uint32(r.buf[r.start:])
	return uint64(r.end-r.start) >= uint64(bodyLen)+headerSize
}
