package diskqueue

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"path"
	"strconv"
	"strings"
)

// MaxPayload is the largest payload a record may carry.
const MaxPayload = 256 << 20

const (
	magicSize   = 8
	headerSize  = magicSize + 8 + 4 // magic, previous version, crc
	frameSize   = 8                 // length + crc
	versionSize = 8
	segmentExt  = ".seg"
)

// segmentMagic starts every segment file; its last two bytes are the
// format version.
var segmentMagic = [magicSize]byte{'S', 'T', 'R', 'T', 'L', 'Q', '0', '2'}

// segmentHeader returns the header of a segment whose records follow
// version prev (the last record written before the segment was started).
// After the segments before it are reclaimed, prev tells recovery where the
// reclaimed prefix ended.
func segmentHeader(prev int64) []byte {
	h := append(segmentMagic[:magicSize:magicSize], make([]byte, 8)...)
	binary.BigEndian.PutUint64(h[magicSize:], uint64(prev))
	return binary.BigEndian.AppendUint32(h, crc32.Checksum(h, castagnoli))
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// segmentName is the file name of segment seq in dir.
func segmentName(dir string, seq uint64) string {
	return path.Join(dir, fmt.Sprintf("%016x%s", seq, segmentExt))
}

// parseSegmentName returns the sequence number of a segment's base name.
func parseSegmentName(base string) (uint64, bool) {
	hex, ok := strings.CutSuffix(base, segmentExt)
	if !ok || len(hex) != 16 {
		return 0, false
	}
	seq, err := strconv.ParseUint(hex, 16, 64)
	return seq, err == nil
}

// appendRecord appends the framed record to b.
func appendRecord(b []byte, version int64, payload []byte) []byte {
	start := len(b)
	b = binary.BigEndian.AppendUint32(b, uint32(versionSize+len(payload)))
	b = append(b, 0, 0, 0, 0)
	b = binary.BigEndian.AppendUint64(b, uint64(version))
	b = append(b, payload...)
	binary.BigEndian.PutUint32(b[start+4:], recordCRC(b[start:start+4], b[start+frameSize:]))
	return b
}

func recordCRC(length, body []byte) uint32 {
	return crc32.Update(crc32.Checksum(length, castagnoli), castagnoli, body)
}

// parseSegment decodes a segment's contents. It returns the version its
// header says preceded it, the valid records,
// the length of the valid prefix of data, and, if that prefix is shorter
// than data, why the rest is not valid. Records must have versions above
// after and increasing.
func parseSegment(data []byte, after int64) (prev int64, recs []Record, valid int, problem string) {
	if len(data) < headerSize {
		return 0, nil, 0, "torn segment header"
	}
	if [magicSize]byte(data[:magicSize]) != segmentMagic {
		return 0, nil, 0, "bad segment magic"
	}
	if crc32.Checksum(data[:headerSize-4], castagnoli) != binary.BigEndian.Uint32(data[headerSize-4:]) {
		return 0, nil, 0, "segment header checksum mismatch"
	}
	prev = int64(binary.BigEndian.Uint64(data[magicSize:]))
	off := headerSize
	for off < len(data) {
		rest := data[off:]
		if len(rest) < frameSize {
			return prev, recs, off, "torn record frame"
		}
		n := int(binary.BigEndian.Uint32(rest))
		if n < versionSize || n > versionSize+MaxPayload {
			return prev, recs, off, fmt.Sprintf("bad record length %d", n)
		}
		if len(rest) < frameSize+n {
			return prev, recs, off, "torn record"
		}
		body := rest[frameSize : frameSize+n]
		if recordCRC(rest[:4], body) != binary.BigEndian.Uint32(rest[4:]) {
			return prev, recs, off, "checksum mismatch"
		}
		version := int64(binary.BigEndian.Uint64(body))
		if version <= after {
			return prev, recs, off, fmt.Sprintf("version %d not above %d", version, after)
		}
		recs = append(recs, Record{Version: version, Payload: body[versionSize:]})
		after = version
		off += frameSize + n
	}
	return prev, recs, off, ""
}
