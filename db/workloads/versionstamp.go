package workloads

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
)

// VersionStamp checks versionstamped keys and values: the stamp written
// into the key and the value is exactly the transaction's versionstamp, its
// first 8 bytes are the commit version (big-endian), and stamps increase in
// commit order.
type VersionStamp struct {
	Prefix []byte
	Count  int

	stamps [][10]byte
	// retries counts transactions run more than once: a retry after
	// commit_unknown_result may follow a commit that did happen, leaving
	// one extra stamped key.
	retries int
}

// NewVersionStamp returns the workload.
func NewVersionStamp(prefix string, count int) *VersionStamp {
	return &VersionStamp{Prefix: []byte(prefix), Count: count}
}

// Run commits Count transactions, each writing one versionstamped key
// whose value is versionstamped too.
func (w *VersionStamp) Run(c *flow.Ctx, db DB) error {
	for i := 0; i < w.Count; i++ {
		var stamp flow.Future[[10]byte]
		var last Tx
		attempts := 0
		err := db.Transact(c, func(tr Tx) error {
			attempts++
			key := append(append([]byte(nil), w.keys()...), make([]byte, 10)...)
			key = binary.LittleEndian.AppendUint32(key, uint32(len(w.keys())))
			tr.Atomic(kv.SetVersionstampedKey, key, []byte("k"))
			val := append([]byte("v:"), make([]byte, 10)...)
			val = binary.LittleEndian.AppendUint32(val, 2)
			tr.Atomic(kv.SetVersionstampedVal, w.valueKey(i), val)
			stamp = tr.Versionstamp()
			last = tr
			return nil
		})
		w.retries += attempts - 1
		if err != nil {
			return fmt.Errorf("versionstamp: commit %d: %w", i, err)
		}
		s, err := flow.Await(c, stamp)
		if err != nil {
			return fmt.Errorf("versionstamp: commit %d: no stamp: %w", i, err)
		}
		if v := kv.Version(binary.BigEndian.Uint64(s[:8])); v != last.CommittedVersion() {
			return fmt.Errorf("versionstamp: stamp %x does not start with the commit version %d", s, last.CommittedVersion())
		}
		w.stamps = append(w.stamps, s)
	}
	return nil
}

func (w *VersionStamp) keys() []byte { return append(append([]byte(nil), w.Prefix...), 'k') }

func (w *VersionStamp) valueKey(i int) []byte {
	return binary.BigEndian.AppendUint32(append(append([]byte(nil), w.Prefix...), 'v'), uint32(i))
}

// Check reads every stamped key and compares with the stamps the commits
// returned.
func (w *VersionStamp) Check(c *flow.Ctx, db DB) error {
	for i := 1; i < len(w.stamps); i++ {
		if bytes.Compare(w.stamps[i-1][:], w.stamps[i][:]) >= 0 {
			return fmt.Errorf("versionstamp: stamp %x of commit %d is not after %x", w.stamps[i], i, w.stamps[i-1])
		}
	}
	return db.Transact(c, func(tr Tx) error {
		r := kv.PrefixRange(w.keys())
		kvs, err := tr.GetRange(c, r.Begin, r.End, 0, false)
		if err != nil {
			return err
		}
		if len(kvs) < len(w.stamps) || len(kvs) > len(w.stamps)+w.retries {
			return fmt.Errorf("versionstamp: %d stamped keys, want %d (and at most %d more from retried commits)",
				len(kvs), len(w.stamps), w.retries)
		}
		// Every returned stamp is a key, in order; the others are commits
		// whose outcome was unknown and that were retried.
		j := 0
		for _, p := range kvs {
			if j < len(w.stamps) && bytes.Equal(p.Key[len(w.keys()):], w.stamps[j][:]) {
				j++
			}
		}
		if j < len(w.stamps) {
			return fmt.Errorf("versionstamp: no key holds the stamp %x that commit %d returned", w.stamps[j], j)
		}
		for i, want := range w.stamps {
			v, err := tr.Get(c, w.valueKey(i))
			if err != nil {
				return err
			}
			if !bytes.Equal(v, append([]byte("v:"), want[:]...)) {
				return fmt.Errorf("versionstamp: value %d is %x, want the stamp %x", i, v, want)
			}
		}
		return nil
	})
}
