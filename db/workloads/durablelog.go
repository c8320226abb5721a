package workloads

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/strata-db/strata/db/flow"
)

// recordLog is a tiny append-only log of checksummed records in one file:
// each record is a uint32 length, a CRC-32C of the payload, then the payload.
// Opening it keeps the longest valid prefix and truncates the rest, which is
// what a crash may have torn. The self-test uses it to check that the
// simulated disks keep every synced write and lose only unsynced ones.
type recordLog struct {
	f    flow.File
	size int64
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// openRecordLog opens (creating) name and returns the records that survived.
func openRecordLog(fs flow.FS, name string) (*recordLog, [][]byte, error) {
	f, err := fs.Open(name, true)
	if err != nil {
		return nil, nil, err
	}
	size, err := f.Size()
	if err != nil {
		return nil, nil, err
	}
	data := make([]byte, size)
	if _, err := f.ReadAt(data, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("reading %s: %w", name, err)
	}
	var records [][]byte
	off := 0
	for off+8 <= len(data) {
		n := int(binary.LittleEndian.Uint32(data[off:]))
		sum := binary.LittleEndian.Uint32(data[off+4:])
		if n > len(data)-off-8 || crc32.Checksum(data[off+8:off+8+n], castagnoli) != sum {
			break
		}
		records = append(records, data[off+8:off+8+n])
		off += 8 + n
	}
	if int64(off) != size {
		if err := f.Truncate(int64(off)); err != nil {
			return nil, nil, err
		}
	}
	return &recordLog{f: f, size: int64(off)}, records, nil
}

// append writes one record and makes it durable before returning.
func (l *recordLog) append(c *flow.Ctx, payload []byte) error {
	rec := make([]byte, 8+len(payload))
	binary.LittleEndian.PutUint32(rec, uint32(len(payload)))
	binary.LittleEndian.PutUint32(rec[4:], crc32.Checksum(payload, castagnoli))
	copy(rec[8:], payload)
	if _, err := l.f.WriteAt(rec, l.size); err != nil {
		return err
	}
	l.size += int64(len(rec))
	return l.f.Sync(c)
}
