// Package directorytest holds the directory layer's simulation workload,
// so that `strata sim --test directory-concurrent-creates` and the
// package's tests run the same code.
package directorytest

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/directory"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/sim/simdb"
)

// ConcurrentCreates is the contention test: many actors on several clients
// create directories under the same parents at once (and some the same
// directory), under random clogging; every directory must get its own,
// non-overlapping prefix.
func ConcurrentCreates() sim.Test {
	return sim.Test{
		Name:        "directory-concurrent-creates",
		Description: "directory layer under contention: concurrent creates never hand out the same or overlapping prefixes",
		Run:         concurrentCreates,
	}
}

// Created is a directory a client created, with the prefix it was given.
type Created struct {
	Path   []string
	Prefix []byte
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
	results := make([][]Created, workers)
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
				results[w] = append(results[w], Created{path, dir.Bytes()})
			}
			return nil
		}))
	}
	if err := d.WaitAll(5*time.Minute, actors...); err != nil {
		return err
	}
	all := slices.Concat(results...)
	if err := CheckDistinct(all); err != nil {
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

// CheckDistinct reports a path handed two prefixes, or a prefix that is a
// prefix of another path's.
func CheckDistinct(all []Created) error {
	byPath := map[string][]byte{}
	for _, c := range all {
		key := fmt.Sprint(c.Path)
		if p, ok := byPath[key]; ok && !bytes.Equal(p, c.Prefix) {
			return fmt.Errorf("%q was handed prefixes %x and %x", c.Path, p, c.Prefix)
		}
		byPath[key] = c.Prefix
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
func checkStored(c *flow.Ctx, db *client.Database, all []Created) error {
	for _, want := range all {
		got, err := directory.TransactFlow(c, db, func(tr directory.Tx) (directory.DirectorySubspace, error) {
			return directory.Default().Open(tr, want.Path, nil)
		})
		if err != nil {
			return fmt.Errorf("open %q after the workload: %w", want.Path, err)
		}
		if !bytes.Equal(got.Bytes(), want.Prefix) {
			return fmt.Errorf("%q is stored with prefix %x, its creator was given %x", want.Path, got.Bytes(), want.Prefix)
		}
	}
	return nil
}
