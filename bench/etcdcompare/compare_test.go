package etcdcompare

import (
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

const (
	// writers is the number of concurrent writers, each with one request
	// in flight at a time.
	writers = 128
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
func generate(put putFunc) result {
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
			value := make([]byte, 100)
			for {
				t0 := time.Now()
				if !t0.Before(end) {
					break
				}
				key := fmt.Appendf(nil, "bench/%010d", rng.IntN(keySpace))
				v := value[:8+rng.IntN(93)]
				for i := range v {
					v[i] = byte('a' + rng.IntN(26))
				}
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
	res.elapsed = measure
	slices.Sort(res.latencies)
	return res
}

// runStrata measures three zoned processes configured double, then kills
// them.
func runStrata(b *testing.B) result {
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
	return generate(func(ctx context.Context, w int, key, value []byte) error {
		_, err := dbs[w%len(dbs)].Transact(ctx, func(tx *client.Tx) (any, error) {
			tx.Set(key, value)
			return nil, nil
		})
		return err
	})
}

// runEtcd measures three etcd members; writer w talks to member w%3, as
// clients spread over the members would.
func runEtcd(b *testing.B, binary string) result {
	e := startEtcd(b, binary)
	return generate(func(ctx context.Context, w int, key, value []byte) error {
		return e.put(ctx, w%len(e.clientURLs), key, value)
	})
}

func BenchmarkOneKeyWrites(b *testing.B) {
	etcd, err := exec.LookPath("etcd")
	if err != nil {
		b.Skip("etcd is not installed (apt-get install etcd-server)")
	}
	for b.Loop() {
		s := runStrata(b)
		b.Logf("strata double, 3 processes in 3 zones: %v", s)
		e := runEtcd(b, etcd)
		b.Logf("etcd, 3 members: %v", e)
		for _, r := range []result{s, e} {
			if r.firstErr != nil {
				b.Logf("first error: %v", r.firstErr)
			}
		}
		b.ReportMetric(s.rate(), "strata-writes/s")
		b.ReportMetric(e.rate(), "etcd-writes/s")
		b.ReportMetric(s.rate()/e.rate(), "ratio")
	}
}
