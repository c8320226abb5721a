package directory_test

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/directory"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/sim/simdb"
)

// created is a directory an actor created, with the prefix it was given.
type created struct {
	path   []string
	prefix []byte
}

// concurrentCreates is the contention workload: many actors on several
// clients create directories under the same parents at once (and some the
// same directory), under random clogging. Every directory must get a
// prefix no other directory's overlaps, the one it was given, and the
// directories that raced for one path must agree on its prefix.
func concurrentCreates(s *sim.Simulation) error {
	rng := s.Rand()
	d := simdb.New(s, 2+rng.IntN(3))
	setup := d.Spawn(0, "DirectorySetup", func(c *flow.Ctx, db *client.Database) error {
		_, err := directory.TransactFlow(c, db, func(tr directory.Tx) (directory.DirectorySubspace, error) {
			return directory.Default().Create(tr, []string{"tenant"}, []byte("partition"))
		})
		return err
	})
	if err := d.WaitAll(time.Minute, setup); err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	stop := s.Now().Add(5 * time.Second)
	actors := []*flow.Actor{d.Clog(stop)}
	workers, each := 6+rng.IntN(6), 4+rng.IntN(8)
	results := make([][]created, workers)
	attempts := 0
	for w := range workers {
		actors = append(actors, d.Spawn(w, fmt.Sprint("Creator", w), func(c *flow.Ctx, db *client.Database) error {
			for i := range each {
				path := []string{"parent", fmt.Sprintf("w%d-%d", w, i)}
				switch i % 4 {
				case 1:
					path = []string{"tenant", fmt.Sprintf("w%d-%d", w, i)}
				case 3:
					path = []string{"parent", "shared"}
				}
				dir, err := directory.TransactFlow(c, db, func(tr directory.Tx) (directory.DirectorySubspace, error) {
					attempts++
					return directory.Default().CreateOrOpen(tr, path, nil)
				})
				if err != nil {
					return fmt.Errorf("create %q: %w", path, err)
				}
				results[w] = append(results[w], created{path, dir.Bytes()})
			}
			return nil
		}))
	}
	if err := d.WaitAll(5*time.Minute, actors...); err != nil {
		return err
	}
	all := slices.Concat(results...)
	if err := checkDistinct(all); err != nil {
		return err
	}
	check := d.Spawn(0, "DirectoryCheck", func(c *flow.Ctx, db *client.Database) error {
		return checkStored(c, db, all)
	})
	if err := d.WaitAll(time.Minute, check); err != nil {
		return err
	}
	s.Note("directories created=%d by %d actors in %d attempts", len(all), workers, attempts)
	if attempts == len(all) {
		return fmt.Errorf("no transaction was retried: the workload had no contention")
	}
	return nil
}

// checkDistinct: one prefix per path, and no prefix is a prefix of
// another path's.
func checkDistinct(all []created) error {
	byPath := map[string][]byte{}
	for _, c := range all {
		key := fmt.Sprint(c.path)
		if p, ok := byPath[key]; ok && !bytes.Equal(p, c.prefix) {
			return fmt.Errorf("%q was handed prefixes %x and %x", c.path, p, c.prefix)
		}
		byPath[key] = c.prefix
	}
	for pa, a := range byPath {
		for pb, b := range byPath {
			if pa != pb && bytes.HasPrefix(b, a) {
				return fmt.Errorf("prefix %x of %s overlaps prefix %x of %s", a, pa, b, pb)
			}
		}
	}
	return nil
}

// checkStored: the database holds every directory with the prefix its
// creator was given.
func checkStored(c *flow.Ctx, db *client.Database, all []created) error {
	for _, want := range all {
		got, err := directory.TransactFlow(c, db, func(tr directory.Tx) (directory.DirectorySubspace, error) {
			return directory.Default().Open(tr, want.path, nil)
		})
		if err != nil {
			return fmt.Errorf("open %q after the workload: %w", want.path, err)
		}
		if !bytes.Equal(got.Bytes(), want.prefix) {
			return fmt.Errorf("%q is stored with prefix %x, its creator was given %x", want.path, got.Bytes(), want.prefix)
		}
	}
	return nil
}

func TestSimulatedConcurrentCreatesNeverShareAPrefix(t *testing.T) {
	seeds := 6
	if testing.Short() {
		seeds = 2
	}
	test := sim.Test{Name: "directory-concurrent-creates", Run: concurrentCreates}
	for seed := uint64(1); seed <= uint64(seeds); seed++ {
		r := sim.RunTest(test, seed, sim.Options{Buggify: seed%4 != 0})
		if r.Err != nil {
			t.Errorf("seed %d: %v", seed, r.Err)
		}
		t.Logf("seed %d: %v simulated in %v, %d events", seed, r.SimTime, r.Wall, r.Events)
		for _, e := range r.Recent {
			if strings.Contains(e, " note directories") {
				t.Log(e)
			}
		}
	}
}

// The allocator draws from the simulation's seeded source through
// FromTransaction, so a seed replays exactly.
func TestSimulatedConcurrentCreatesReplay(t *testing.T) {
	test := sim.Test{Name: "directory-concurrent-creates", Run: concurrentCreates}
	a := sim.RunTest(test, 7, sim.Options{Buggify: true})
	b := sim.RunTest(test, 7, sim.Options{Buggify: true})
	if a.Err != nil || b.Err != nil {
		t.Fatalf("runs failed: %v / %v", a.Err, b.Err)
	}
	if a.TraceHash != b.TraceHash || a.Events != b.Events {
		t.Errorf("seed 7 is not reproducible: %s vs %s", a, b)
	}
}
