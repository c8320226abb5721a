package simtests

import (
	"fmt"
	"time"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/server/commitproxy"
	"github.com/strata-db/strata/db/server/controller"
	"github.com/strata-db/strata/db/server/storage"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/sim/simcluster"
	"github.com/strata-db/strata/db/status"
	"github.com/strata-db/strata/db/wire"
	"github.com/strata-db/strata/db/workloads"
	"google.golang.org/protobuf/proto"
)

// clusterSplitTest runs Cycle and Bank on a replicated cluster whose data
// distribution splits shards above a few KB, while a filler keeps the
// database growing: shards split and move to the emptier servers under
// the workloads, Attrition (one zone at a time) and RandomClogging. Every
// invariant must hold, the map must end with many shards spread beyond
// the first team (never back onto a server excluded before the workloads),
// and every replica of every shard must be identical.
func clusterSplitTest() sim.Test {
	return sim.Test{
		Name:        "cluster-split",
		Description: "double or triple on 4-7 servers with a split size of a few KB: Cycle, Bank and a growing filler while shards split and move, under Attrition of one zone at a time and RandomClogging; then a consistency check of every replica",
		Run: func(s *sim.Simulation) error {
			rng := s.Rand()
			mode := []string{"double", "triple"}[rng.IntN(2)]
			zones := 3 + rng.IntN(2)
			servers := zones + 1 + rng.IntN(3)
			maxShard := int64(2500 + rng.IntN(3000))
			d := clusterDB{simcluster.New(s, simcluster.Options{Servers: servers, Zones: zones, Clients: 1 + rng.IntN(3),
				DataDistribution: controller.DataDistributionKnobs{MaxShardBytes: maxShard, MeasureInterval: 500 * time.Millisecond},
				// Sample every pair, so that sizes and split keys of a few
				// KB are exact.
				StorageKnobs: storage.Knobs{ByteSampleFactor: 1e-9},
			})}
			cycle := workloads.NewCycle("cycle/", 10+rng.IntN(40))
			bank := workloads.NewBank("bank/", 5+rng.IntN(20), 1000)
			fill := &filler{prefix: "fill/", value: 100 + rng.IntN(150)}
			// At least three shards' worth before the workloads start.
			err := d.setup(mode, cycle, bank, func(c *flow.Ctx, db *client.Database) error {
				return fill.write(c, db, int(3*maxShard)/fill.value+rng.IntN(20))
			})
			if err != nil {
				return err
			}
			excluded := ""
			if servers > zones+1 && rng.IntN(2) == 0 {
				// Exclude a server whose zone has another: balancing must
				// never give it shards back once repair drained it.
				victim := d.Servers[zones+rng.IntN(servers-zones)].Addr
				ex := d.Spawn(0, "Exclude", func(c *flow.Ctx, db *client.Database) error {
					return simcluster.Exclude(c, db, string(victim), mode, 2*time.Minute)
				})
				if err := d.WaitAll(3*time.Minute, ex); err != nil {
					return fmt.Errorf("excluding %s (%s): %w", victim, mode, err)
				}
				excluded = string(victim)
				s.Note("excluded %s", victim)
			}
			stop := s.Now().Add(20 * time.Second)
			actors := []*flow.Actor{d.Clog(stop), zoneAttrition(s, servers, stop)}
			actors = append(actors, d.Spawn(0, "Filler", func(c *flow.Ctx, db *client.Database) error {
				return fill.run(c, db, stop, 500*time.Millisecond)
			}))
			for i := range 2 + rng.IntN(3) {
				audit := i%2 == 1
				actors = append(actors, d.spawn(i, "Cycle", func(c *flow.Ctx, db workloads.DB) error {
					return cycle.Run(c, db, stop, 20*time.Millisecond)
				}))
				actors = append(actors, d.spawn(i, "Bank", func(c *flow.Ctx, db workloads.DB) error {
					return bank.Run(c, db, stop, 20*time.Millisecond, audit)
				}))
			}
			if err := d.WaitAll(5*time.Minute, actors...); err != nil {
				return err
			}
			var shards, spread int
			check := d.Spawn(0, "Check", func(c *flow.Ctx, db *client.Database) error {
				if err := cycle.Check(c, workloads.FromClient(db)); err != nil {
					return err
				}
				if err := bank.Check(c, workloads.FromClient(db)); err != nil {
					return err
				}
				if err := fill.check(c, db); err != nil {
					return err
				}
				if err := waitDistributed(c, db, 3*time.Minute); err != nil {
					return err
				}
				var err error
				if shards, spread, err = shardMap(c, db); err != nil {
					return err
				}
				if excluded != "" {
					if err := noStorageOn(c, db, excluded); err != nil {
						return err
					}
				}
				return simcluster.CheckReplicas(c, db)
			})
			if err := d.WaitAll(5*time.Minute, check); err != nil {
				return fmt.Errorf("%s: %w", mode, err)
			}
			s.Note("%s, split above %d B: %d shards on %d servers, %d filler keys, cycle committed=%d bank transfers=%d",
				mode, maxShard, shards, spread, fill.written, cycle.Committed, bank.Transfers)
			if cycle.Committed == 0 || bank.Transfers == 0 {
				return fmt.Errorf("no transaction committed (cycle %d, bank %d)", cycle.Committed, bank.Transfers)
			}
			replicas := map[string]int{"double": 2, "triple": 3}[mode]
			eligible := servers
			if excluded != "" {
				eligible--
			}
			if shards < 3 || spread <= replicas && eligible > replicas {
				return fmt.Errorf("%s: data distribution left %d shards on %d servers (%d filler keys of %d B, split above %d B)",
					mode, shards, spread, fill.written, fill.value, maxShard)
			}
			return nil
		},
	}
}

// filler grows the database with keys prefix+n of value bytes each.
type filler struct {
	prefix  string
	value   int
	written int
}

func (f *filler) key(i int) []byte { return fmt.Appendf(nil, "%s%06d", f.prefix, i) }

func (f *filler) val(i int) []byte {
	v := make([]byte, f.value)
	for j := range v {
		v[j] = byte('a' + (i+j)%26)
	}
	return v
}

// write adds n keys in one transaction.
func (f *filler) write(c *flow.Ctx, db *client.Database, n int) error {
	from := f.written
	err := db.Transact(c, func(tr *client.Transaction) error {
		for i := from; i < from+n; i++ {
			tr.Set(f.key(i), f.val(i))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("filler: %w", err)
	}
	f.written = from + n
	return nil
}

// run adds a few keys every interval until stop; a commit whose outcome
// is unknown is written again (the keys are idempotent).
func (f *filler) run(c *flow.Ctx, db *client.Database, stop time.Time, interval time.Duration) error {
	for c.Now().Before(stop) {
		if err := f.write(c, db, 1+c.Rand().IntN(2)); err != nil {
			return err
		}
		if err := c.Sleep(interval); err != nil {
			return err
		}
	}
	return nil
}

// check reads every filler key back.
func (f *filler) check(c *flow.Ctx, db *client.Database) error {
	return db.ReadTransact(c, func(tr *client.Transaction) error {
		r := kv.PrefixRange([]byte(f.prefix))
		rows, err := tr.GetRange(c, r.Begin, r.End, client.RangeOptions{})
		if err != nil {
			return err
		}
		if len(rows) != f.written {
			return fmt.Errorf("filler: %d keys, want %d", len(rows), f.written)
		}
		for i, row := range rows {
			if string(row.Key) != string(f.key(i)) || string(row.Value) != string(f.val(i)) {
				return fmt.Errorf("filler: row %d is %s", i, kv.Printable(row.Key))
			}
		}
		return nil
	})
}

// waitDistributed waits until status shows the data healthy with nothing
// moving, and the shard count and bytes moved unchanged for quiet: data
// distribution has nothing left to split or balance.
func waitDistributed(c *flow.Ctx, db *client.Database, limit time.Duration) error {
	const quiet = 10 * time.Second
	deadline := c.Now().Add(limit)
	var since time.Time
	last, lastState := "", "no status yet"
	for c.Now().Before(deadline) {
		st, err := simcluster.ReadStatus(c, db)
		if err == nil {
			dd := st.Cluster.Data
			now := fmt.Sprintf("%d/%d", dd.PartitionsCount, dd.MovingData.TotalWrittenBytes)
			lastState = fmt.Sprintf("data %s, %s", dd.State.Name, now)
			if dd.State.Name != "healthy" || dd.MovingData.HighestPriority != 0 || now != last {
				since = c.Now()
			} else if c.Now().Sub(since) >= quiet {
				c.Trace(flow.SevInfo, "SimDataDistributionSettled", flow.D("Shards", dd.PartitionsCount),
					flow.D("MovedBytes", dd.MovingData.TotalWrittenBytes))
				return nil
			}
			last = now
		} else {
			lastState = err.Error()
		}
		if err := c.Sleep(500 * time.Millisecond); err != nil {
			return err
		}
	}
	return fmt.Errorf("data distribution did not settle in %v: %s", limit, lastState)
}

// shardMap reads \xff/keyServers/ and returns the number of entries and
// of distinct storage servers they name.
func shardMap(c *flow.Ctx, db *client.Database) (int, int, error) {
	var entries, servers int
	err := db.ReadTransact(c, func(tr *client.Transaction) error {
		tr.Options().SetReadSystemKeys()
		r := kv.PrefixRange(commitproxy.KeyServersPrefix)
		rows, err := tr.GetRange(c, r.Begin, r.End, client.RangeOptions{})
		if err != nil {
			return err
		}
		ids := map[string]bool{}
		for _, row := range rows {
			var loc wire.ShardLocation
			if err := proto.Unmarshal(row.Value, &loc); err != nil {
				return fmt.Errorf("%s: %w", kv.Printable(row.Key), err)
			}
			for _, s := range loc.GetServers() {
				ids[s.GetId()] = true
			}
		}
		entries, servers = len(rows), len(ids)
		return nil
	})
	return entries, servers, err
}

// noStorageOn checks through status that the excluded process addr holds
// no storage role: no shard came back to it.
func noStorageOn(c *flow.Ctx, db *client.Database, addr string) error {
	st, err := simcluster.ReadStatus(c, db)
	if err != nil {
		return err
	}
	for _, p := range st.Cluster.Processes {
		if p.Address != addr {
			continue
		}
		for _, r := range p.Roles {
			if r.Role == status.RoleStorage {
				return fmt.Errorf("the excluded process %s holds data again", addr)
			}
		}
	}
	return nil
}
