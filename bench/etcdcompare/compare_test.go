package etcdcompare

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/status"
	"github.com/strata-db/strata/test/testserver"
)

// writerCounts are the generator's concurrency levels: each is a number of
// writers, each with one request in flight at a time. A closed-loop
// generator with few writers measures latency, not capacity (Strata's
// commit pipeline was two-thirds idle at 128), so both systems run at every
// level and each is judged by its peak. 4,096 because Strata was still
// rising at 2,048 in every run (etcd peaks at 512 or 1,024 and then falls).
var writerCounts = []int{128, 512, 1024, 2048, 4096}

const (
	// keySpace is the number of distinct keys written: bench/ and 10
	// digits, as `strata bench` does.
	keySpace = 1_000_000
	warmup   = 2 * time.Second
	measure  = 10 * time.Second
)

// putFunc writes one key for writer w.
type putFunc func(ctx context.Context, w int, key, value []byte) error

// result is what one run of the generator measured.
type result struct {
	writers        int
	writes, errors int64
	elapsed        time.Duration
	latencies      []time.Duration // of the measured writes, sorted
	firstErr       error
}

func (r result) rate() float64 { return float64(r.writes) / r.elapsed.Seconds() }

func (r result) quantile(q float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	return r.latencies[min(len(r.latencies)-1, int(q*float64(len(r.latencies))))]
}

func (r result) String() string {
	return fmt.Sprintf("%.0f writes/s (%d in %v, %d errors; latency p50 %v p99 %v)", r.rate(), r.writes,
		r.elapsed.Round(time.Millisecond), r.errors, r.quantile(0.5).Round(10*time.Microsecond), r.quantile(0.99).Round(10*time.Microsecond))
}

// generate runs writers goroutines writing one random key with a random
// 8..100-byte value per request, back to back, for warmup and then
// measure; only the measured writes count.
func generate(writers int, put putFunc) result {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now().Add(warmup)
	end := start.Add(measure)
	var mu sync.Mutex
	var res result
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			var lats []time.Duration
			var errs int64
			var firstErr error
			value, keyBuf := make([]byte, 100), make([]byte, 0, 16)
			for {
				t0 := time.Now()
				if !t0.Before(end) {
					break
				}
				key := appendKey(keyBuf[:0], rng.IntN(keySpace))
				v := value[:8+rng.IntN(93)]
				fillLetters(rng, v)
				err := put(ctx, w, key, v)
				if t0.Before(start) {
					continue
				}
				if err != nil {
					errs++
					if firstErr == nil {
						firstErr = err
					}
					continue
				}
				lats = append(lats, time.Since(t0))
			}
			mu.Lock()
			defer mu.Unlock()
			res.writes += int64(len(lats))
			res.errors += errs
			res.latencies = append(res.latencies, lats...)
			if res.firstErr == nil {
				res.firstErr = firstErr
			}
		}()
	}
	wg.Wait()
	res.writers = writers
	res.elapsed = measure
	slices.Sort(res.latencies)
	return res
}

// appendKey appends key n, bench/ and n in ten digits, to b: the
// generator's own work stays small beside what it measures (fmt's boxing
// of n was a tenth of the generator's CPU).
func appendKey(b []byte, n int) []byte {
	b = append(b, "bench/"...)
	var d [10]byte
	for i := len(d) - 1; i >= 0; i-- {
		d[i] = byte('0' + n%10)
		n /= 10
	}
	return append(b, d[:]...)
}

// fillLetters fills v with random lower-case letters, eight per draw.
func fillLetters(rng *rand.Rand, v []byte) {
	for i := 0; i < len(v); i += 8 {
		x := rng.Uint64()
		for j := i; j < min(i+8, len(v)); j++ {
			v[j] = byte('a' + (x&0xff)%26)
			x >>= 8
		}
	}
}

// runStrata measures three zoned processes configured double at every
// writer count, then kills them.
func runStrata(b *testing.B) []result {
	cl := testserver.StartClusterOpts(b, testserver.Binary(b), testserver.ClusterOpts{N: 3, Zones: true, Coordinators: 3, Engine: "ssd"})
	defer func() {
		for _, s := range cl.Servers {
			s.Kill()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Several client processes, as many clients would be.
	var dbs []*client.DB
	for range 4 {
		db, err := client.Open(ctx, cl.ClusterFile)
		if err != nil {
			b.Fatalf("opening the cluster: %v", err)
		}
		defer db.Close()
		dbs = append(dbs, db)
	}
	cl.WaitStatus(b, 30*time.Second, "three live processes", func(st *status.Status) bool {
		return st.Client.DatabaseStatus.Available && len(st.Cluster.Processes) == 3
	})
	cl.Configure(b, dbs[0], "double", "ssd")
	st := cl.WaitStatus(b, 60*time.Second, "healthy double", func(st *status.Status) bool { return testserver.Healthy(st, "double", 2) })
	b.Logf("strata: %s", testserver.Summary(st))
	return generateEach(func(ctx context.Context, w int, key, value []byte) error {
		_, err := dbs[w%len(dbs)].Transact(ctx, func(tx *client.Tx) (any, error) {
			tx.Set(key, value)
			return nil, nil
		})
		return err
	})
}

// runEtcd measures three etcd members at every writer count; writer w
// talks to member w%3, as clients spread over the members would.
func runEtcd(b *testing.B, binary string) []result {
	e := startEtcd(b, binary)
	return generateEach(func(ctx context.Context, w int, key, value []byte) error {
		return e.put(ctx, w%len(e.clientURLs), key, value)
	})
}

// generateEach runs the generator at each of writerCounts in turn.
func generateEach(put putFunc) []result {
	var rs []result
	for _, n := range writerCounts {
		rs = append(rs, generate(n, put))
	}
	return rs
}

// peak is the result with the highest write rate.
func peak(rs []result) result {
	return slices.MaxFunc(rs, func(a, b result) int { return cmp.Compare(a.rate(), b.rate()) })
}

func BenchmarkOneKeyWrites(b *testing.B) {
	etcd, err := exec.LookPath("etcd")
	if err != nil {
		b.Skip("etcd is not installed (apt-get install etcd-server)")
	}
	for b.Loop() {
		s := runStrata(b)
		e := runEtcd(b, etcd)
		for i, n := range writerCounts {
			b.Logf("%4d writers: strata double, 3 processes in 3 zones: %v", n, s[i])
			b.Logf("%4d writers: etcd, 3 members: %v", n, e[i])
			b.Logf("%4d writers: ratio %.2f", n, s[i].rate()/e[i].rate())
		}
		for _, r := range slices.Concat(s, e) {
			if r.firstErr != nil {
				b.Logf("first error (%d writers): %v", r.writers, r.firstErr)
			}
		}
		sp, ep := peak(s), peak(e)
		b.Logf("peaks: strata %.0f writes/s (%d writers), etcd %.0f writes/s (%d writers): ratio %.2f",
			sp.rate(), sp.writers, ep.rate(), ep.writers, sp.rate()/ep.rate())
		b.ReportMetric(sp.rate(), "strata-writes/s")
		b.ReportMetric(ep.rate(), "etcd-writes/s")
		b.ReportMetric(sp.rate()/ep.rate(), "ratio")
	}
}
