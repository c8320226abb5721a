package client

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/wire"
)

// simDatabase runs body as a client actor against a fakeCluster in a
// simulation, with the cluster and the client on different machines.
func simDatabase(t *testing.T, seed uint64, splits []string, body func(c *flow.Ctx, db *Database, fc *fakeCluster) error) {
	t.Helper()
	simDatabaseWith(t, seed, splits, nil, body)
}

// simDatabaseWith is simDatabase with chaos started on the simulation
// (given the server's and the client's addresses) before the run. It
// returns the run's trace hash.

func simDatabaseWith(t *testing.T, seed uint64, splits []string, chaos func(s *sim.Simulation, addrs []flow.Address),
	body func(c *flow.Ctx, db *Database, fc *fakeCluster) error) uint64 {
	t.Helper()
	s := sim.New(seed, sim.Options{})
	var fc *fakeCluster
	server := s.AddProcess(s.AddMachine(flow.Locality{}), 4500, func(e *flow.Env) { fc = newFakeCluster(e, splits...) })
	var done flow.Future[struct{}]
	var bootErr error
	client := s.AddProcess(s.AddMachine(flow.Locality{}), 4500, func(e *flow.Env) {
		db, err := NewDatabase(e, []flow.Address{server.Addr}, Config{OpenDatabaseToken: fakeOpenToken})
		if err != nil {
			bootErr = err
			return
		}
		done = e.Spawn("test", func(c *flow.Ctx) error { return body(c, db, fc) }).Done()
	})
	if bootErr != nil {
		t.Fatal(bootErr)
	}
	if chaos != nil {
		chaos(s, []flow.Address{server.Addr, client.Addr})
	}
	if !s.Run(time.Hour, func() bool { return done.IsReady() }) {
		t.Fatalf("seed %d: client did not finish", seed)
	}
	if err := done.Err(); err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	return s.TraceHash()
}

func TestDatabaseReadsAndWritesAcrossShards(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		simDatabase(t, seed, []string{"g", "p"}, func(c *flow.Ctx, db *Database, fc *fakeCluster) error {
			keys := []string{"a", "c", "h", "k", "q", "z"}
			err := db.Transact(c, func(tr *Transaction) error {
				for _, k := range keys {
					tr.Set([]byte(k), []byte("v"+k))
				}
				return nil
			})
			if err != nil {
				return err
			}
			return db.ReadTransact(c, func(tr *Transaction) error {
				for _, k := range keys {
					v, err := tr.Get(c, []byte(k))
					if err != nil {
						return err
					}
					if string(v) != "v"+k {
						t.Errorf("Get(%s) = %q", k, v)
					}
				}
				for _, tc := range []struct {
					o    RangeOptions
					want string
				}{
					{RangeOptions{}, "a=va c=vc h=vh k=vk q=vq z=vz "},
					{RangeOptions{Limit: 3}, "a=va c=vc h=vh "},
					{RangeOptions{Reverse: true}, "z=vz q=vq k=vk h=vh c=vc a=va "},
					{RangeOptions{Limit: 4, Reverse: true}, "z=vz q=vq k=vk h=vh "},
				} {
					rows, err := tr.GetRange(c, []byte("a"), []byte("\xff"), tc.o)
					if err != nil {
						return err
					}
					if got := rowsString(rows); got != tc.want {
						t.Errorf("GetRange %+v = %s, want %s", tc.o, got, tc.want)
					}
				}
				view := [][]byte{}
				for _, k := range keys {
					view = append(view, []byte(k))
				}
				for _, sel := range []kv.KeySelector{
					kv.FirstGreaterOrEqual([]byte("d")), kv.FirstGreaterThan([]byte("c")), kv.LastLessThan([]byte("q")),
					{Key: []byte("a"), OrEqual: true, Offset: 4}, {Key: []byte("z"), Offset: -3}, {Key: []byte("b"), Offset: 9},
					{Key: []byte("q"), Offset: -8}, kv.LastLessOrEqual([]byte("g")), kv.FirstGreaterOrEqual([]byte("p")),
				} {
					got, err := tr.GetKey(c, sel)
					if err != nil {
						return err
					}
					if want := resolveSelector(view, sel, kv.SystemPrefix); !bytes.Equal(got, want) {
						t.Errorf("GetKey(%v) = %q, want %q", sel, got, want)
					}
				}
				return nil
			})
		})
	}
}

func TestDatabaseBatchesReadVersionsAndRetriesConflicts(t *testing.T) {
	simDatabase(t, 4, nil, func(c *flow.Ctx, db *Database, fc *fakeCluster) error {
		const workers, each = 10, 5
		var dones []flow.Future[struct{}]
		for w := range workers {
			dones = append(dones, c.Spawn(fmt.Sprint("worker", w), func(c *flow.Ctx) error {
				for range each {
					err := db.Transact(c, func(tr *Transaction) error {
						v, err := tr.Get(c, []byte("counter"))
						if err != nil {
							return err
						}
						n := 0
						if len(v) > 0 {
							n = int(v[0])
						}
						tr.Set([]byte("counter"), []byte{byte(n + 1)})
						return nil
					})
					if err != nil {
						return err
					}
				}
				return nil
			}).Done())
		}
		if _, err := flow.WaitAll(c, dones); err != nil {
			return err
		}
		var got []byte
		err := db.ReadTransact(c, func(tr *Transaction) error {
			var err error
			got, err = tr.Get(c, []byte("counter"))
			return err
		})
		if err != nil {
			return err
		}
		if len(got) != 1 || got[0] != workers*each {
			t.Errorf("counter = %v, want %d: a read-modify-write was lost", got, workers*each)
		}
		txns := c.Metrics().Counter("ClientGRVTransactions").Value()
		if reqs := c.Metrics().Counter("ClientGRVRequests").Value(); reqs >= txns {
			t.Errorf("%d GRV requests for %d read versions: not batched", reqs, txns)
		}
		return nil
	})
}

// A read version request that arrives while a batch is in flight goes in
// a batch of its own at once, up to maxGRVBatchesInFlight batches; only
// beyond that does it wait for one to return.
func TestReadVersionBatchesOverlap(t *testing.T) {
	simDatabase(t, 3, nil, func(c *flow.Ctx, db *Database, fc *fakeCluster) error {
		const txns = 40
		var dones []flow.Future[struct{}]
		for i := range txns {
			dones = append(dones, c.Spawn("grv", func(c *flow.Ctx) error {
				// Arrivals every 100 us, against a proxy that takes 1 ms.
				if err := c.Sleep(time.Duration(i) * 100 * time.Microsecond); err != nil {
					return err
				}
				_, err := db.CreateTransaction().GetReadVersion(c)
				return err
			}).Done())
		}
		if _, err := flow.WaitAll(c, dones); err != nil {
			return err
		}
		if fc.grvMostInFlight != maxGRVBatchesInFlight {
			t.Errorf("at most %d read version batches were in flight at once, want %d", fc.grvMostInFlight, maxGRVBatchesInFlight)
		}
		if fc.grvRequests >= txns {
			t.Errorf("%d GRV requests for %d transactions: not batched", fc.grvRequests, txns)
		}
		return nil
	})
}

func TestDatabaseFollowsShardMovesAndNewProxies(t *testing.T) {
	simDatabase(t, 5, []string{"g", "p"}, func(c *flow.Ctx, db *Database, fc *fakeCluster) error {
		read := func(k string) ([]byte, error) {
			var v []byte
			err := db.ReadTransact(c, func(tr *Transaction) error {
				var err error
				v, err = tr.Get(c, []byte(k))
				return err
			})
			return v, err
		}
		err := db.Transact(c, func(tr *Transaction) error {
			tr.Set([]byte("h"), []byte("1"))
			tr.Set([]byte("m"), []byte("2"))
			return nil
		})
		if err != nil {
			return err
		}
		if _, err := read("h"); err != nil { // caches [g, p)
			return err
		}
		fc.moveBoundary(0, "k") // "h" now belongs to the first shard
		fc.startGRVProxy()      // the old GRV proxy is gone; a new generation names another
		if v, err := read("h"); err != nil || string(v) != "1" {
			t.Errorf("read after the shard moved = %q, %v", v, err)
		}
		if n := c.Metrics().Counter("ClientLocationRetries").Value(); n == 0 {
			t.Error("no read was refused with wrong_shard_server: the test did not exercise the refresh")
		}
		rows, err := func() ([]kv.KeyValue, error) {
			var rows []kv.KeyValue
			err := db.ReadTransact(c, func(tr *Transaction) error {
				var err error
				rows, err = tr.GetRange(c, []byte("a"), []byte("z"), RangeOptions{})
				return err
			})
			return rows, err
		}()
		if err != nil || rowsString(rows) != "h=1 m=2 " {
			t.Errorf("range after the move = %s, %v", rowsString(rows), err)
		}
		return nil
	})
}

func TestDatabaseCommitProxyFailureIsUnknownResult(t *testing.T) {
	simDatabase(t, 6, nil, func(c *flow.Ctx, db *Database, fc *fakeCluster) error {
		fc.dropCommits = 1
		tr := db.CreateTransaction()
		tr.Set([]byte("k"), []byte("v"))
		if err := tr.Commit(c); !errors.Is(err, kv.ErrCommitUnknownResult) {
			t.Errorf("commit through a failing proxy: %v, want commit_unknown_result", err)
		}
		if err := tr.OnError(c, kv.ErrCommitUnknownResult); err != nil {
			return err
		}
		tr.Set([]byte("k"), []byte("v"))
		return tr.Commit(c)
	})
}

func TestDatabaseWatch(t *testing.T) {
	simDatabase(t, 7, []string{"m"}, func(c *flow.Ctx, db *Database, fc *fakeCluster) error {
		tr := db.CreateTransaction()
		w := tr.Watch(c, []byte("x"))
		if err := tr.Commit(c); err != nil {
			return err
		}
		if err := db.Transact(c, func(tr *Transaction) error { tr.Set([]byte("x"), []byte("1")); return nil }); err != nil {
			return err
		}
		if _, err := flow.Timeout(c, w.Future(), 5*time.Second); err != nil {
			t.Errorf("watch: %v", err)
		}
		if db.watches != 0 {
			t.Errorf("%d watch slots held after the watch fired", db.watches)
		}
		return nil
	})
}

// TestDatabaseUnderNetworkFaults: with links clogged for longer than the
// failure timeout, requests fail with request_maybe_delivered; reads and
// read versions are retried, commits end as commit_unknown_result and the
// retry loop retries them. Idempotent writes must all land.
func TestDatabaseUnderNetworkFaults(t *testing.T) {
	attempts, retries := 0, 0
	hashes := map[uint64]uint64{}
	for _, seed := range []uint64{10, 11, 12, 13, 10} {
		chaos := func(s *sim.Simulation, addrs []flow.Address) {
			stop := s.Now().Add(20 * time.Second)
			s.Controller().Spawn("clog", func(c *flow.Ctx) error {
				return s.RandomClogging(c, stop, sim.ClogOptions{Targets: addrs, MeanInterval: 500 * time.Millisecond, MaxClog: 3 * time.Second})
			})
		}
		hash := simDatabaseWith(t, seed, []string{"k10", "k20"}, chaos, func(c *flow.Ctx, db *Database, fc *fakeCluster) error {
			const n = 30
			for i := range n {
				if err := c.Sleep(200 * time.Millisecond); err != nil {
					return err
				}
				err := db.Transact(c, func(tr *Transaction) error {
					attempts++
					if _, err := tr.Get(c, []byte(fmt.Sprintf("k%02d", (i*7)%n))); err != nil {
						return err
					}
					tr.Set([]byte(fmt.Sprintf("k%02d", i)), []byte{byte(i)})
					return nil
				})
				if err != nil {
					return fmt.Errorf("write %d: %w", i, err)
				}
			}
			var rows []kv.KeyValue
			err := db.ReadTransact(c, func(tr *Transaction) error {
				var err error
				rows, err = tr.GetRange(c, []byte("k"), []byte("l"), RangeOptions{})
				return err
			})
			if err != nil {
				return err
			}
			m := c.Metrics()
			retries += int(m.Counter("ClientGRVRetries").Value() + m.Counter("ClientLocationRetries").Value())
			if len(rows) != n {
				t.Errorf("seed %d: %d rows, want %d", seed, len(rows), n)
			}
			for i, r := range rows {
				if string(r.Key) != fmt.Sprintf("k%02d", i) || len(r.Value) != 1 || r.Value[0] != byte(i) {
					t.Errorf("seed %d: row %d = %s", seed, i, rowsString(rows[i:i+1]))
				}
			}
			return nil
		})
		if prev, ok := hashes[seed]; ok && prev != hash {
			t.Errorf("seed %d ran twice with trace hashes %x and %x: the client is not deterministic", seed, prev, hash)
		}
		hashes[seed] = hash
	}
	t.Logf("%d attempts for %d transactions, %d read retries", attempts, 5*30, retries)
	if attempts == 5*30 && retries == 0 {
		t.Error("no transaction was retried: the faults did not reach the workload")
	}
}

func TestDatabaseLockedUnlessLockAware(t *testing.T) {
	simDatabase(t, 8, nil, func(c *flow.Ctx, db *Database, fc *fakeCluster) error {
		fc.locked = true
		tr := db.CreateTransaction()
		if _, err := tr.Get(c, []byte("k")); !errors.Is(err, kv.ErrDatabaseLocked) {
			t.Errorf("read of a locked database: %v, want database_locked", err)
		}
		aware := db.CreateTransaction()
		aware.Options().SetLockAware()
		aware.Set([]byte("k"), []byte("v"))
		if err := aware.Commit(c); err != nil {
			t.Errorf("lock-aware commit: %v", err)
		}
		return nil
	})
}

// A process cut off from the cluster controller keeps publishing its last
// generation, whose proxies are gone. A client that opened the database
// through it must not stay there: it asks its other entries in turn and
// follows the newest generation one of them publishes.
func TestDatabaseLeavesAnEntryStuckOnAnOldGeneration(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		s := sim.New(seed, sim.Options{})
		live := s.AddProcess(s.AddMachine(flow.Locality{}), 4500, func(e *flow.Env) { newFakeCluster(e) })
		stale := s.AddProcess(s.AddMachine(flow.Locality{}), 4500, func(e *flow.Env) { serveStaleInfo(e) })
		var done flow.Future[struct{}]
		s.AddProcess(s.AddMachine(flow.Locality{}), 4500, func(e *flow.Env) {
			db, err := NewDatabase(e, []flow.Address{stale.Addr, live.Addr}, Config{OpenDatabaseToken: fakeOpenToken})
			if err != nil {
				t.Fatal(err)
			}
			done = e.Spawn("test", func(c *flow.Ctx) error {
				return db.Transact(c, func(tr *Transaction) error { tr.Set([]byte("k"), []byte("v")); return nil })
			}).Done()
		})
		if !s.Run(time.Minute, func() bool { return done.IsReady() }) {
			t.Fatalf("seed %d: no commit within a minute: the client stayed with the old generation", seed)
		}
		if err := done.Err(); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
	}
}

// serveStaleInfo answers OpenDatabaseRequest as a process cut off from the
// controller does: always generation 1 (the live fake cluster is at 2),
// whose proxies no longer exist, long-polling a second when asked for it.
func serveStaleInfo(e *flow.Env) {
	addr := string(e.Address())
	info := &wire.ClientDBInfo{Generation: 1,
		GrvProxies:    []*wire.GrvProxyInterface{{Address: addr, Id: "grv-old", GetReadVersion: 9001}},
		CommitProxies: []*wire.CommitProxyInterface{{Address: addr, Id: "commit-old", Commit: 9002, GetKeyServerLocations: 9003}}}
	l := flow.Listen(e, fakeOpenToken, flow.ProtoCodec[*wire.OpenDatabaseRequest](), flow.ProtoCodec[*wire.ClientDBInfo]())
	e.Spawn("StaleOpenDatabase", func(c *flow.Ctx) error {
		for {
			r, err := l.Requests().Next(c)
			if err != nil {
				return err
			}
			e.Spawn("StaleOpenDatabaseRequest", func(c *flow.Ctx) error {
				if r.Msg.KnownGeneration == info.Generation {
					if err := c.Sleep(time.Second); err != nil {
						return err
					}
				}
				r.Reply(info)
				return nil
			})
		}
	})
}
