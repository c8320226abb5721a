package conflict

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/strata-db/strata/db/kv"
)

// The benchmark workload: batches of 100 transactions, each with 5 point
// reads, 1 small range read and 2 point writes, over a window holding
// about `keys` written keys. Versions advance so that the window (5 s of
// versions) spans keys/writesPerBatch batches.
const (
	txnsPerBatch   = 100
	pointReads     = 5
	pointWrites    = 2
	opsPerTxn      = pointReads + 1 + pointWrites
	writesPerBatch = txnsPerBatch * pointWrites
)

// workload generates the benchmark's batches; keys are drawn from a space
// four times the window's size, so most writes add fresh boundaries.
type workload struct {
	keys    int
	keyOf   func(i int) []byte
	step    kv.Version // versions per batch
	version kv.Version
	next    uint64
}

func newWorkload(keys int) *workload {
	return &workload{keys: keys, keyOf: benchKey, step: max(1, kv.MVCCWindow*writesPerBatch/kv.Version(keys))}
}

// prefixedKey is key i as `strata bench` and the etcd comparison write
// them: bench/ and ten digits, alike in their first eight bytes.
func prefixedKey(i int) []byte { return fmt.Appendf(nil, "bench/%010d", i) }

func (w *workload) key() []byte {
	w.next++
	return w.keyOf(int(mix64(w.next) % uint64(4*w.keys)))
}

func (w *workload) batch() []Txn {
	out := make([]Txn, txnsPerBatch)
	for i := range out {
		// ReadVersion holds the read's age until resolveNext makes it a
		// version, so that a batch can be replayed at later versions.
		tx := Txn{ReadVersion: kv.Version(w.next % 1000)}
		for range pointReads {
			tx.ReadRanges = append(tx.ReadRanges, kv.SingleKeyRange(w.key()))
		}
		begin := w.key()
		end := append(begin[:len(begin):len(begin)], 0xff) // a few dozen keys at most
		tx.ReadRanges = append(tx.ReadRanges, kv.KeyRange{Begin: begin, End: end})
		for range pointWrites {
			tx.WriteRanges = append(tx.WriteRanges, kv.SingleKeyRange(w.key()))
		}
		out[i] = tx
	}
	return out
}

// resolveNext resolves one batch at the next version, with read versions
// up to 1000 versions (1 ms) behind the previous batch.
func (w *workload) resolveNext(s *Set, batch []Txn) []Result {
	at := make([]Txn, len(batch))
	for i, tx := range batch {
		tx.ReadVersion = max(0, w.version-tx.ReadVersion)
		at[i] = tx
	}
	w.version += w.step
	return s.Resolve(at, w.version, max(0, w.version-kv.MVCCWindow))
}

// fill runs batches until the window is full.
func (w *workload) fill(s *Set) {
	for range w.keys/writesPerBatch + 1 {
		w.resolveNext(s, w.batch())
	}
}

func BenchmarkResolve(b *testing.B) {
	for _, keys := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("keys=%d", keys), func(b *testing.B) { benchResolve(b, keys, benchKey) })
	}
	b.Run("keys=100000/prefixed", func(b *testing.B) { benchResolve(b, 100_000, prefixedKey) })
}

func benchResolve(b *testing.B, keys int, keyOf func(int) []byte) {
	s, w := New(), newWorkload(keys)
	w.keyOf = keyOf
	w.fill(s)
	conflicts := 0
	for b.Loop() {
		// Fresh keys every batch, generated off the clock: replaying
		// a few batches would shrink the window to their keys.
		b.StopTimer()
		batch := w.batch()
		b.StartTimer()
		for _, r := range w.resolveNext(s, batch) {
			if r.Outcome != Committed {
				conflicts++
			}
		}
	}
	txns := float64(b.N * txnsPerBatch)
	b.ReportMetric(txns/b.Elapsed().Seconds(), "txn/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/(txns*opsPerTxn), "ns/range-op")
	b.ReportMetric(float64(conflicts)/txns, "conflicts/txn")
	b.ReportMetric(float64(s.Len()), "boundaries")
}

func BenchmarkCheckRead(b *testing.B) {
	s, w := New(), newWorkload(1_000_000)
	w.fill(s)
	reads := make([]kv.KeyRange, 1024)
	for i := range reads {
		reads[i] = kv.SingleKeyRange(w.key())
	}
	for i := 0; b.Loop(); i++ {
		s.CheckRead(reads[i%len(reads)], w.version-kv.MVCCWindow/2)
	}
}

// BenchmarkAddWrite adds point writes to a full window of a million keys,
// sweeping as Resolve does after each batch's worth, so the set stays the
// same size.
func BenchmarkAddWrite(b *testing.B) {
	s, w := New(), newWorkload(1_000_000)
	w.fill(s)
	writes := make([]kv.KeyRange, 1<<16)
	for i := range writes {
		writes[i] = kv.SingleKeyRange(w.key())
	}
	for i := 0; b.Loop(); i++ {
		s.AddWrite(writes[i%len(writes)], w.version)
		if i%writesPerBatch == writesPerBatch-1 {
			w.version += w.step
			s.raiseOldest(w.version - kv.MVCCWindow)
			s.sweepSome(sweepPerWrite*writesPerBatch + sweepPerBatch)
		}
	}
}

// BenchmarkMemoryPerBoundary reports the heap held per boundary of a set
// of point writes to 8-byte keys (two boundaries per write).
func BenchmarkMemoryPerBoundary(b *testing.B) {
	const writes = 500_000
	var perBoundary float64
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		s := New()
		for i := range writes {
			s.AddWrite(kv.SingleKeyRange(benchKey(i)), kv.Version(i+1))
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perBoundary = float64(after.HeapAlloc-before.HeapAlloc) / float64(s.Len())
		runtime.KeepAlive(s)
	}
	b.ReportMetric(perBoundary, "bytes/boundary")
}
