package engine

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/strata-db/strata/db/kv"
)

// Operation codes of an encoded batch (the memory engine's log payload).
const (
	opSet         byte = 1
	opDelete      byte = 2
	opDeleteRange byte = 3
)

// errCorrupt marks undecodable engine data (a log record or snapshot whose
// checksum matched but whose contents do not parse).
var errCorrupt = errors.New("engine: corrupt data")

// memBatch is the memory engine's Batch: its writes already encoded as the
// log record payload, so Commit writes it as is and replay decodes it with
// the same code that applies a live commit.
type memBatch struct {
	buf []byte
	n   int
}

func (b *memBatch) Set(key, value []byte) {
	b.buf = append(b.buf, opSet)
	b.buf = appendBytes(appendBytes(b.buf, key), value)
	b.n++
}

func (b *memBatch) Delete(key []byte) {
	b.buf = append(b.buf, opDelete)
	b.buf = appendBytes(b.buf, key)
	b.n++
}

func (b *memBatch) DeleteRange(r kv.KeyRange) {
	b.buf = append(b.buf, opDeleteRange)
	b.buf = appendBytes(appendBytes(b.buf, r.Begin), r.End)
	b.n++
}

func (b *memBatch) Len() int { return b.n }

func appendBytes(dst, p []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(p)))
	return append(dst, p...)
}

// batchOp is one decoded write; for opDeleteRange, a and b are the range's
// bounds, for opSet the key and value, for opDelete the key.
type batchOp struct {
	code byte
	a, b []byte
}

// decodeBatch calls fn for each write of an encoded batch, in order. The
// slices passed alias buf.
func decodeBatch(buf []byte, fn func(op batchOp)) error {
	for len(buf) > 0 {
		op := batchOp{code: buf[0]}
		buf = buf[1:]
		var err error
		if op.a, buf, err = readBytes(buf); err != nil {
			return err
		}
		switch op.code {
		case opSet, opDeleteRange:
			if op.b, buf, err = readBytes(buf); err != nil {
				return err
			}
		case opDelete:
		default:
			return fmt.Errorf("batch operation code %d: %w", op.code, errCorrupt)
		}
		fn(op)
	}
	return nil
}

func readBytes(buf []byte) (p, rest []byte, err error) {
	n, k := binary.Uvarint(buf)
	if k <= 0 || n > uint64(len(buf)-k) {
		return nil, nil, fmt.Errorf("batch field length: %w", errCorrupt)
	}
	end := k + int(n)
	return buf[k:end:end], buf[end:], nil
}
