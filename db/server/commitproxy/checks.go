package commitproxy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/wire"
)

// errShardValue reports a \xff/keyServers/ mutation the proxy cannot apply
// to its shard map.
var errShardValue = errors.New("commitproxy: keyServers mutation is not a set of a shard location or a clear")

// versionstampSize is the size of a versionstamp: 8-byte big-endian commit
// version and 2-byte big-endian batch index.
const versionstampSize = 10

// checkTransaction applies the limits a transaction must meet before it is
// batched, returning the FoundationDB error the client gets, and its size
// (FDB's: mutations' keys and params plus conflict ranges' bounds).
func checkTransaction(req *wire.CommitTransactionRequest) (int, error) {
	if req.GetReadVersion() < 0 {
		return 0, fmt.Errorf("commitproxy: read version %d is negative: %w", req.GetReadVersion(), kv.ErrInvalidMutationType)
	}
	size := 0
	for _, mu := range req.GetMutations() {
		if err := checkMutation(mu); err != nil {
			return 0, err
		}
		size += len(mu.GetKey()) + len(mu.GetParam())
	}
	for _, ranges := range [][]*wire.KeyRange{req.GetReadConflictRanges(), req.GetWriteConflictRanges()} {
		for _, r := range ranges {
			if bytes.Compare(r.GetBegin(), r.GetEnd()) > 0 {
				return 0, fmt.Errorf("commitproxy: conflict range %s: %w", kv.KeyRange{Begin: r.GetBegin(), End: r.GetEnd()}, kv.ErrInvertedRange)
			}
			size += len(r.GetBegin()) + len(r.GetEnd())
		}
	}
	if size > kv.MaxTransactionSize {
		return 0, fmt.Errorf("commitproxy: transaction of %d bytes: %w", size, kv.ErrTransactionTooLarge)
	}
	return size, nil
}

func checkMutation(mu *wire.Mutation) error {
	t := kv.MutationType(mu.GetType())
	if mu.GetType() > 255 || !t.Valid() {
		return fmt.Errorf("commitproxy: mutation type %d: %w", mu.GetType(), kv.ErrInvalidMutationType)
	}
	key, param := mu.GetKey(), mu.GetParam()
	switch t {
	case kv.ClearRange:
		if bytes.Compare(key, param) > 0 {
			return fmt.Errorf("commitproxy: clear of %s: %w", kv.KeyRange{Begin: key, End: param}, kv.ErrInvertedRange)
		}
		if bytes.Compare(param, kv.AllKeys.End) > 0 {
			return fmt.Errorf("commitproxy: clear up to %s: %w", kv.Printable(param), kv.ErrKeyOutsideLegalRange)
		}
		return checkKeySize(key, param)
	case kv.SetVersionstampedKey:
		k, _, err := versionstampOffset(key)
		if err != nil {
			return err
		}
		key = k
	case kv.SetVersionstampedVal:
		p, _, err := versionstampOffset(param)
		if err != nil {
			return err
		}
		param = p
	}
	if bytes.Compare(key, kv.AllKeys.End) >= 0 {
		return fmt.Errorf("commitproxy: write to %s: %w", kv.Printable(key), kv.ErrKeyOutsideLegalRange)
	}
	if err := checkKeySize(key); err != nil {
		return err
	}
	if len(param) > kv.MaxValueSize {
		return fmt.Errorf("commitproxy: value of %d bytes: %w", len(param), kv.ErrValueTooLarge)
	}
	return nil
}

// checkKeySize applies the key limit: MaxKeySize, or MaxSystemKeySize for
// keys in the system keyspace.
func checkKeySize(keys ...[]byte) error {
	for _, k := range keys {
		limit := kv.MaxKeySize
		if bytes.HasPrefix(k, kv.SystemPrefix) {
			limit = kv.MaxSystemKeySize
		}
		if len(k) > limit {
			return fmt.Errorf("commitproxy: key of %d bytes: %w", len(k), kv.ErrKeyTooLarge)
		}
	}
	return nil
}

// versionstampOffset splits b into its body and the little-endian 4-byte
// offset at its end, checking the versionstamp fits in the body.
func versionstampOffset(b []byte) ([]byte, int, error) {
	if len(b) < 4 {
		return nil, 0, fmt.Errorf("commitproxy: versionstamped operand of %d bytes has no offset: %w", len(b), kv.ErrVersionstampInvalid)
	}
	body := b[:len(b)-4]
	off := int64(binary.LittleEndian.Uint32(b[len(b)-4:]))
	if off+versionstampSize > int64(len(body)) {
		return nil, 0, fmt.Errorf("commitproxy: versionstamp at offset %d does not fit in %d bytes: %w", off, len(body), kv.ErrVersionstampInvalid)
	}
	return body, int(off), nil
}

// Versionstamp returns the 10-byte versionstamp of a transaction committed
// at version with batch index index.
func Versionstamp(version kv.Version, index uint16) []byte {
	out := make([]byte, versionstampSize)
	binary.BigEndian.PutUint64(out, uint64(version))
	binary.BigEndian.PutUint16(out[8:], index)
	return out
}

// substituteVersionstamp returns mu with its versionstamp written in and
// turned into a plain set; other mutations are returned as they are.
func substituteVersionstamp(mu *wire.Mutation, stamp []byte) (*wire.Mutation, error) {
	switch kv.MutationType(mu.GetType()) {
	case kv.SetVersionstampedKey:
		body, off, err := versionstampOffset(mu.GetKey())
		if err != nil {
			return nil, err
		}
		key := bytes.Clone(body)
		copy(key[off:], stamp)
		return &wire.Mutation{Type: uint32(kv.SetValue), Key: key, Param: mu.GetParam()}, nil
	case kv.SetVersionstampedVal:
		body, off, err := versionstampOffset(mu.GetParam())
		if err != nil {
			return nil, err
		}
		val := bytes.Clone(body)
		copy(val[off:], stamp)
		return &wire.Mutation{Type: uint32(kv.SetValue), Key: mu.GetKey(), Param: val}, nil
	}
	return mu, nil
}

// clipRanges returns the parts of ranges inside r, dropping empty ones.
func clipRanges(ranges []*wire.KeyRange, r kv.KeyRange) []*wire.KeyRange {
	var out []*wire.KeyRange
	for _, x := range ranges {
		b, e := maxKey(x.GetBegin(), r.Begin), minKey(x.GetEnd(), r.End)
		if bytes.Compare(b, e) < 0 {
			out = append(out, &wire.KeyRange{Begin: b, End: e})
		}
	}
	return out
}

// lockState is the proxy's view of kv.DBLockedKey: the lock's value while
// the database is locked, nil while it is not. It starts from
// Config.Locked and follows the committed mutations of the key, in commit
// order, so a lock takes effect from the next transaction of the same
// batch on.
type lockState struct{ value []byte }

// errLockWrite refuses a write of kv.DBLockedKey by a transaction that is
// not lock_aware. Not database_locked: that error is retryable, and a
// retry loop would spin on a transaction that can never pass.
var errLockWrite = fmt.Errorf("commitproxy: writing %s needs the lock_aware option: %w", kv.Printable(kv.DBLockedKey), kv.ErrInvalidMutationType)

// checkLockWrites refuses, at intake, a transaction that writes
// kv.DBLockedKey without lock_aware, or that changes it by an atomic
// operation (the proxy could not tell the resulting lock state).
func checkLockWrites(req *wire.CommitTransactionRequest) error {
	for _, mu := range req.GetMutations() {
		if !touchesLock(mu) {
			continue
		}
		if !req.GetLockAware() {
			return errLockWrite
		}
		switch kv.MutationType(mu.GetType()) {
		case kv.SetValue, kv.ClearRange, kv.SetVersionstampedVal:
		default:
			return fmt.Errorf("commitproxy: atomic operation %d on %s: %w", mu.GetType(), kv.Printable(kv.DBLockedKey), kv.ErrInvalidMutationType)
		}
	}
	return nil
}

// touchesLock reports whether mu writes kv.DBLockedKey.
func touchesLock(mu *wire.Mutation) bool {
	if kv.MutationType(mu.GetType()) == kv.ClearRange {
		return (kv.KeyRange{Begin: mu.GetKey(), End: mu.GetParam()}).Contains(kv.DBLockedKey)
	}
	return bytes.Equal(mu.GetKey(), kv.DBLockedKey)
}

// refuses returns database_locked for a transaction that is not
// lock_aware while the database is locked.
func (l *lockState) refuses(req *wire.CommitTransactionRequest) error {
	if l.value != nil && !req.GetLockAware() {
		return fmt.Errorf("commitproxy: the database is locked: %w", kv.ErrDatabaseLocked)
	}
	return nil
}

// apply follows a committed mutation (versionstamps already written in).
func (l *lockState) apply(mu *wire.Mutation) { l.value = LockAfter(l.value, mu) }

// LockAfter returns the lock's value (kv.DBLockedKey; nil when unlocked)
// after the committed mutation mu, versionstamps written in: a clear over
// the key unlocks, a set locks with its value, anything else leaves it.
func LockAfter(locked []byte, mu *wire.Mutation) []byte {
	if !touchesLock(mu) {
		return locked
	}
	if kv.MutationType(mu.GetType()) == kv.ClearRange {
		return nil
	}
	if mu.GetParam() == nil {
		return []byte{} // locked with an empty value is still locked
	}
	return bytes.Clone(mu.GetParam())
}
