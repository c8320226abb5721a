package directory

import (
	"encoding/binary"
	"fmt"

	"github.com/strata-db/strata/db/subspace"
	"github.com/strata-db/strata/db/tuple"
)

// allocator is FoundationDB's high-contention prefix allocator
// (HighContentionAllocator in the Python and Go bindings), with its layout:
// counters[start] counts allocations in the window beginning at start,
// recent[candidate] marks a candidate taken. Prefixes come from the newest
// window, chosen at random in it so concurrent allocators rarely collide,
// and a chosen candidate carries a write conflict so two transactions that
// take the same one cannot both commit.
type allocator struct {
	counters, recent subspace.Subspace
}

func newAllocator(s subspace.Subspace) allocator {
	return allocator{counters: s.Sub(int64(0)), recent: s.Sub(int64(1))}
}

// one is the little-endian 64-bit 1 the counters are incremented by.
var one = binary.LittleEndian.AppendUint64(nil, 1)

// windowSize is FDB's: small windows keep early prefixes short, larger
// ones make collisions rare once many prefixes exist.
func windowSize(start int64) int64 {
	switch {
	case start < 255:
		return 64
	case start < 65535:
		return 1024
	default:
		return 8192
	}
}

// allocate returns the packed integer of a candidate no other allocation
// on this allocator's subspace returns.
func (a allocator) allocate(tr Tx) ([]byte, error) {
	for {
		start, err := a.latestStart(tr)
		if err != nil {
			return nil, err
		}
		start, window, err := a.openWindow(tr, start)
		if err != nil {
			return nil, err
		}
		candidate, ok, err := a.pick(tr, start, window)
		if err != nil {
			return nil, err
		}
		if ok {
			return tuple.Tuple{candidate}.Pack(), nil
		}
	}
}

// latestStart reads, without conflict, the start of the newest window.
func (a allocator) latestStart(tr Tx) (int64, error) {
	begin, end := a.counters.Range()
	rows, err := tr.Snapshot().GetRange(begin, end, 1, true)
	if err != nil {
		return 0, fmt.Errorf("allocator: read counters: %w", err)
	}
	if len(rows) == 0 {
		return 0, nil
	}
	t, err := a.counters.Unpack(rows[0].Key)
	if err != nil {
		return 0, fmt.Errorf("allocator: counter key: %w", err)
	}
	var start int64
	ok := len(t) == 1
	if ok {
		start, ok = t[0].(int64)
	}
	if !ok {
		return 0, fmt.Errorf("allocator: counter key %x does not hold a window start", rows[0].Key)
	}
	return start, nil
}

// openWindow counts this allocation in the window at start, moving on to
// the next window (and clearing the old windows' state) while the current
// one is at least half full. It returns the window allocated from.
func (a allocator) openWindow(tr Tx, start int64) (int64, int64, error) {
	advanced := false
	for {
		if advanced {
			tr.ClearRange(a.counters.Bytes(), a.counters.Pack(tuple.Tuple{start}))
			tr.SetNextWriteNoWriteConflictRange()
			tr.ClearRange(a.recent.Bytes(), a.recent.Pack(tuple.Tuple{start}))
		}
		key := a.counters.Pack(tuple.Tuple{start})
		tr.Add(key, one)
		v, err := tr.Snapshot().Get(key)
		if err != nil {
			return 0, 0, fmt.Errorf("allocator: read counter %d: %w", start, err)
		}
		count, err := decodeCount(v)
		if err != nil {
			return 0, 0, err
		}
		window := windowSize(start)
		if count*2 < window {
			return start, window, nil
		}
		start += window
		advanced = true
	}
}

func decodeCount(v []byte) (int64, error) {
	switch len(v) {
	case 0:
		return 0, nil
	case 8:
		return int64(binary.LittleEndian.Uint64(v)), nil
	default:
		return 0, fmt.Errorf("allocator: counter value %x is not a 64-bit integer", v)
	}
}

// pick tries random candidates in the window until one is free (ok) or
// another transaction has opened a newer window (not ok: start over). The
// candidate's read conflicts with whoever takes it concurrently; its
// marker is written without a conflict range, and the write conflict is
// added only on the candidate returned.
func (a allocator) pick(tr Tx, start, window int64) (int64, bool, error) {
	for {
		candidate := start + randomIn(tr, window)
		key := a.recent.Pack(tuple.Tuple{candidate})
		latest, err := a.latestStart(tr)
		if err != nil {
			return 0, false, err
		}
		taken, err := tr.Get(key)
		if err != nil {
			return 0, false, fmt.Errorf("allocator: read candidate %d: %w", candidate, err)
		}
		tr.SetNextWriteNoWriteConflictRange()
		tr.Set(key, []byte{})
		if latest > start {
			return 0, false, nil
		}
		if taken == nil {
			if err := tr.AddWriteConflictKey(key); err != nil {
				return 0, false, fmt.Errorf("allocator: conflict on candidate %d: %w", candidate, err)
			}
			return candidate, true, nil
		}
	}
}
