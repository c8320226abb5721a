package client

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/strata-db/strata/db/kv"
)

// Writes are buffered in the transaction until Commit. An invalid write
// (a key or value over its limit, a key outside the legal range) is not
// applied; its error is returned by the transaction's next read or commit,
// as FDB's deferred errors.

// Set writes value to key.
func (tr *Transaction) Set(key, value []byte) {
	if !tr.checkWrite(key, value) {
		return
	}
	key, value = bytes.Clone(key), bytes.Clone(value)
	tr.writes.set(key, value)
	tr.addMutation(kv.Mutation{Type: kv.SetValue, Key: key, Param: value}, kv.SingleKeyRange(key))
}

// Clear removes key.
func (tr *Transaction) Clear(key []byte) {
	if !tr.checkWrite(key, nil) {
		return
	}
	r := kv.SingleKeyRange(bytes.Clone(key))
	tr.writes.clearRange(r)
	tr.addMutation(kv.Mutation{Type: kv.ClearRange, Key: r.Begin, Param: r.End}, r)
}

// ClearRange removes every key in [begin, end).
func (tr *Transaction) ClearRange(begin, end []byte) {
	if tr.deferred != nil {
		return
	}
	switch c := bytes.Compare(begin, end); {
	case c > 0:
		tr.deferred = fmt.Errorf("clear range [%s, %s): %w", kv.Printable(begin), kv.Printable(end), kv.ErrInvertedRange)
		return
	case c == 0:
		return
	}
	if bytes.Compare(end, tr.maxWriteKey()) > 0 {
		tr.deferred = fmt.Errorf("clear range end %s: %w", kv.Printable(end), kv.ErrKeyOutsideLegalRange)
		return
	}
	tr.touched = true
	r := kv.KeyRange{Begin: bytes.Clone(begin), End: bytes.Clone(end)}
	tr.writes.clearRange(r)
	tr.addMutation(kv.Mutation{Type: kv.ClearRange, Key: r.Begin, Param: r.End}, r)
}

// Atomic applies the atomic operation op to key with operand param
// (fdb.md §2.3). set_versionstamped_key and set_versionstamped_value take
// their key or value with a 4-byte little-endian offset of the 10-byte
// versionstamp placeholder appended.
func (tr *Transaction) Atomic(op kv.MutationType, key, param []byte) {
	switch {
	case op == kv.SetVersionstampedKey:
		tr.SetVersionstampedKey(key, param)
	case op == kv.SetVersionstampedVal:
		tr.SetVersionstampedValue(key, param)
	case op == kv.SetValue:
		tr.Set(key, param)
	case !op.IsAtomic():
		if tr.deferred == nil {
			tr.deferred = fmt.Errorf("atomic operation %s: %w", op, kv.ErrInvalidMutationType)
		}
	case tr.checkWrite(key, param):
		key, param = bytes.Clone(key), bytes.Clone(param)
		tr.writes.atomic(op, key, param)
		tr.addMutation(kv.Mutation{Type: op, Key: key, Param: param}, kv.SingleKeyRange(key))
	}
}

// Add adds param to the little-endian integer at key.
func (tr *Transaction) Add(key, param []byte) { tr.Atomic(kv.AddValue, key, param) }

// BitAnd ands param into key's value.
func (tr *Transaction) BitAnd(key, param []byte) { tr.Atomic(kv.BitAnd, key, param) }

// BitOr ors param into key's value.
func (tr *Transaction) BitOr(key, param []byte) { tr.Atomic(kv.BitOr, key, param) }

// BitXor xors param into key's value.
func (tr *Transaction) BitXor(key, param []byte) { tr.Atomic(kv.BitXor, key, param) }

// AppendIfFits appends param to key's value if the result fits a value.
func (tr *Transaction) AppendIfFits(key, param []byte) { tr.Atomic(kv.AppendIfFits, key, param) }

// Max stores the larger of key's value and param (little-endian unsigned).
func (tr *Transaction) Max(key, param []byte) { tr.Atomic(kv.Max, key, param) }

// Min stores the smaller of key's value and param (little-endian unsigned).
func (tr *Transaction) Min(key, param []byte) { tr.Atomic(kv.Min, key, param) }

// ByteMin stores the lexicographically smaller of key's value and param.
func (tr *Transaction) ByteMin(key, param []byte) { tr.Atomic(kv.ByteMin, key, param) }

// ByteMax stores the lexicographically larger of key's value and param.
func (tr *Transaction) ByteMax(key, param []byte) { tr.Atomic(kv.ByteMax, key, param) }

// CompareAndClear clears key if its value equals param.
func (tr *Transaction) CompareAndClear(key, param []byte) { tr.Atomic(kv.CompareAndClear, key, param) }

// SetVersionstampedKey sets the key made of key with the transaction's
// versionstamp written at the offset given by key's last 4 bytes
// (little-endian), which are removed.
func (tr *Transaction) SetVersionstampedKey(key, value []byte) {
	pos, ok := tr.versionstampOffset("key", key)
	if !ok || !tr.checkWrite(key[:len(key)-4], value) {
		return
	}
	key, value = bytes.Clone(key), bytes.Clone(value)
	stripped := key[:len(key)-4]
	lo := bytes.Clone(stripped)
	hi := bytes.Clone(stripped)
	for i := pos; i < pos+10; i++ {
		lo[i], hi[i] = 0x00, 0xff
	}
	r := kv.KeyRange{Begin: lo, End: kv.KeyAfter(hi)}
	tr.writes.addUnreadable(r)
	tr.addMutation(kv.Mutation{Type: kv.SetVersionstampedKey, Key: key, Param: value}, r)
}

// SetVersionstampedValue sets key to value with the transaction's
// versionstamp written at the offset given by value's last 4 bytes
// (little-endian), which are removed. The key reads as
// accessed_unreadable until the transaction commits.
func (tr *Transaction) SetVersionstampedValue(key, value []byte) {
	if _, ok := tr.versionstampOffset("value", value); !ok || !tr.checkWrite(key, value[:len(value)-4]) {
		return
	}
	key, value = bytes.Clone(key), bytes.Clone(value)
	tr.writes.setUnreadable(key)
	tr.addMutation(kv.Mutation{Type: kv.SetVersionstampedVal, Key: key, Param: value}, kv.SingleKeyRange(key))
}

// versionstampOffset reads the placeholder offset at the end of b and
// checks that the 10-byte placeholder lies within b.
func (tr *Transaction) versionstampOffset(what string, b []byte) (int, bool) {
	if tr.deferred != nil {
		return 0, false
	}
	if len(b) < 4 {
		tr.deferred = fmt.Errorf("versionstamped %s of %d bytes has no offset: %w", what, len(b), kv.ErrVersionstampInvalid)
		return 0, false
	}
	pos := int64(binary.LittleEndian.Uint32(b[len(b)-4:]))
	if pos+10 > int64(len(b)-4) {
		tr.deferred = fmt.Errorf("versionstamp offset %d outside the %d-byte %s: %w", pos, len(b)-4, what, kv.ErrVersionstampInvalid)
		return 0, false
	}
	return int(pos), true
}

// checkWrite checks a written key and value against the limits and the
// legal range, recording the first violation as the deferred error.
func (tr *Transaction) checkWrite(key, value []byte) bool {
	if tr.deferred != nil {
		return false
	}
	switch {
	case tr.committing:
		tr.deferred = kv.ErrUsedDuringCommit
	case len(key) > keyLimit(key):
		tr.deferred = fmt.Errorf("key of %d bytes: %w", len(key), kv.ErrKeyTooLarge)
	case len(value) > kv.MaxValueSize:
		tr.deferred = fmt.Errorf("value of %d bytes: %w", len(value), kv.ErrValueTooLarge)
	case bytes.Compare(key, tr.maxWriteKey()) >= 0:
		tr.deferred = fmt.Errorf("key %s: %w", kv.Printable(key), kv.ErrKeyOutsideLegalRange)
	default:
		tr.touched = true
		return true
	}
	return false
}

// addMutation records m for the commit and its write conflict range,
// unless the option said to skip it for this write.
func (tr *Transaction) addMutation(m kv.Mutation, conflict kv.KeyRange) {
	tr.mutations = append(tr.mutations, m)
	if tr.opts.NextWriteNoWriteConflictRange {
		tr.opts.NextWriteNoWriteConflictRange = false
		return
	}
	tr.writeRanges = append(tr.writeRanges, conflict)
}

// AddReadConflictRange makes the transaction conflict with writes to r by
// transactions that commit between its read version and its commit.
func (tr *Transaction) AddReadConflictRange(r kv.KeyRange) error {
	if err := tr.checkConflictRange(r, tr.maxReadKey()); err != nil || r.Empty() {
		return err
	}
	tr.readRanges = append(tr.readRanges, cloneRange(r))
	return nil
}

// AddReadConflictKey adds a read conflict range holding only key.
func (tr *Transaction) AddReadConflictKey(key []byte) error {
	return tr.AddReadConflictRange(kv.SingleKeyRange(key))
}

// AddWriteConflictRange makes other transactions that read r conflict
// with this one, as if it had written r.
func (tr *Transaction) AddWriteConflictRange(r kv.KeyRange) error {
	if err := tr.checkConflictRange(r, tr.maxWriteKey()); err != nil || r.Empty() {
		return err
	}
	tr.touched = true
	tr.writeRanges = append(tr.writeRanges, cloneRange(r))
	return nil
}

// AddWriteConflictKey adds a write conflict range holding only key.
func (tr *Transaction) AddWriteConflictKey(key []byte) error {
	return tr.AddWriteConflictRange(kv.SingleKeyRange(key))
}

func (tr *Transaction) checkConflictRange(r kv.KeyRange, max []byte) error {
	if err := tr.usable(); err != nil {
		return err
	}
	if bytes.Compare(r.Begin, r.End) > 0 {
		return fmt.Errorf("conflict range %s: %w", r, kv.ErrInvertedRange)
	}
	if bytes.Compare(r.End, max) > 0 {
		return fmt.Errorf("conflict range %s: %w", r, kv.ErrKeyOutsideLegalRange)
	}
	return nil
}

func cloneRange(r kv.KeyRange) kv.KeyRange {
	return kv.KeyRange{Begin: bytes.Clone(r.Begin), End: bytes.Clone(r.End)}
}
