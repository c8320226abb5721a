package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"

	"github.com/strata-db/strata/db/flow"
)

// A record frames one payload in the memory engine's files:
//
//	length  uint32, little-endian, > 0
//	crc     uint32, little-endian, CRC-32C (Castagnoli) of the payload
//	payload length bytes
//
// A record that is cut short or fails its checksum marks the torn tail of
// a log: the write that produced it was never synced, so it was never
// acknowledged.
const recordHeaderSize = 8

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// appendRecord frames payload (non-empty, under 4 GiB) onto dst.
func appendRecord(dst, payload []byte) ([]byte, error) {
	if len(payload) == 0 || len(payload) > math.MaxUint32 {
		return nil, fmt.Errorf("engine: record of %d bytes cannot be framed", len(payload))
	}
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(payload)))
	dst = binary.LittleEndian.AppendUint32(dst, crc32.Checksum(payload, castagnoli))
	return append(dst, payload...), nil
}

// nextRecord decodes the record at the start of buf. ok is false if buf
// does not start with a whole, intact record.
func nextRecord(buf []byte) (payload []byte, size int, ok bool) {
	if len(buf) < recordHeaderSize {
		return nil, 0, false
	}
	n := binary.LittleEndian.Uint32(buf)
	sum := binary.LittleEndian.Uint32(buf[4:])
	if n == 0 || uint64(n) > uint64(len(buf)-recordHeaderSize) {
		return nil, 0, false
	}
	payload = buf[recordHeaderSize : recordHeaderSize+int(n)]
	if crc32.Checksum(payload, castagnoli) != sum {
		return nil, 0, false
	}
	return payload, recordHeaderSize + int(n), true
}

// readAll returns the whole contents of f.
func readAll(f flow.File) ([]byte, error) {
	size, err := f.Size()
	if err != nil {
		return nil, err
	}
	buf := make([]byte, size)
	n, err := f.ReadAt(buf, 0)
	if err != nil && !(errors.Is(err, io.EOF) && n == len(buf)) {
		return nil, err
	}
	return buf, nil
}

// scanLog calls fn for each intact record of a log's contents, in order,
// and returns the offset just past the last one: the log's valid length.
func scanLog(buf []byte, fn func(payload []byte) error) (valid int64, err error) {
	for {
		payload, size, ok := nextRecord(buf[valid:])
		if !ok {
			return valid, nil
		}
		if err := fn(payload); err != nil {
			return valid, err
		}
		valid += int64(size)
	}
}
