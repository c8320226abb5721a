package simtests

import (
	"crypto/rand"
	"encoding/binary"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/strata-db/strata/db/sim"
)

// fixedSeeds run on every CI build; freshSeeds more are drawn anew each
// time, so CI keeps exploring. A failure prints the command to reproduce it.
// The cluster tests simulate many processes for minutes each and run
// fewer seeds per build (clusterSeeds, clusterFresh); `strata sim --test
// cluster-... --seeds 500` is the deep run.
const (
	fixedSeeds   = 40
	freshSeeds   = 10
	clusterSeeds = 16
	clusterFresh = 4
)

// foundSeed is a seed that found a bug beyond the numbered seeds, with the
// Buggify setting it found it under; found seeds run on every build too, so
// the bugs stay fixed.
type foundSeed struct {
	seed    uint64
	buggify bool
}

var foundSeeds = map[string][]foundSeed{
	// 8919838758217644681: an attempt ended in commit_unknown_result and
	// was kept by a Rollback recovery, while the retries read below it and
	// ApiCorrectness's model lost its writes; the client now settles an
	// unknown result before returning it.
	"cluster-mix": {{63, true}, {66, true}, {308, false}, {8919838758217644681, true}},
	// A process killed while destroying a superseded log could never start
	// again: its marker named a log the destroy had left incomplete.
	"cluster-replication": {{1184050622887378642, true}},
	// cluster-coordinators broke Cycle on these seeds without the
	// sequencer's RecoveryGap (worker.host passing 0): a recovery locked
	// one of the two old logs, and storage servers that had pulled the
	// old generation's tail from the other one, above the recovery
	// version, served it at the new generation's read versions until
	// they heard of the recovery. Coordinator moves make such recoveries
	// common: the controller elected at the new coordinators recovers
	// while processes are still re-registering with it.
	"cluster-coordinators": {{1155909041671337670, true}, {4022314655500996172, true}, {3796213346599918033, true}},
	// A storage recruitment timed out after its worker had started the
	// server; the retry gave the same tag to a second server on the same
	// process, the orphan popped the tag past what the second had made
	// durable, and after a restart the replicas differed. (Found at
	// 4079d4a; the fix changes this seed's course, so it no longer
	// reaches the timeout.)
	"cluster-split": {{3313270609738998146, false}},
}

func seedsFor(t *testing.T, name string) []uint64 {
	if strings.HasPrefix(name, "cluster-") {
		fresh := clusterFresh
		if n, err := strconv.Atoi(os.Getenv("STRATA_SIM_CLUSTER_FRESH")); err == nil && n >= 0 {
			fresh = n
		}
		return seeds(t, clusterSeeds, fresh)
	}
	return seeds(t, fixedSeeds, freshSeeds)
}

func seeds(t *testing.T, fixedSeeds, freshSeeds int) []uint64 {
	seeds := make([]uint64, 0, fixedSeeds+freshSeeds)
	for s := uint64(1); s <= uint64(fixedSeeds); s++ {
		seeds = append(seeds, s)
	}
	var b [8]byte
	for range freshSeeds {
		if _, err := rand.Read(b[:]); err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, binary.LittleEndian.Uint64(b[:])>>1)
	}
	return seeds
}

func TestSimulationSeeds(t *testing.T) {
	for _, test := range All() {
		t.Run(test.Name, func(t *testing.T) {
			// Each run is one goroutine's work: the tests share the cores.
			t.Parallel()
			for i, seed := range seedsFor(t, test.Name) {
				opts := sim.Options{Buggify: i%4 != 3}
				if r := sim.RunTest(test, seed, opts); r.Err != nil {
					t.Errorf("%v\nreproduce with: %s", r.Err, r.ReproduceCommand())
				}
			}
			for _, f := range foundSeeds[test.Name] {
				if r := sim.RunTest(test, f.seed, sim.Options{Buggify: f.buggify}); r.Err != nil {
					t.Errorf("%v\nreproduce with: %s", r.Err, r.ReproduceCommand())
				}
			}
		})
	}
}

func TestSimulationIsDeterministic(t *testing.T) {
	for _, test := range All() {
		for _, seed := range []uint64{11, 12} {
			a := sim.RunTest(test, seed, sim.Options{Buggify: true})
			b := sim.RunTest(test, seed, sim.Options{Buggify: true})
			if a.TraceHash != b.TraceHash || a.Events != b.Events {
				t.Errorf("%s seed %d is not reproducible: %s vs %s", test.Name, seed, a, b)
			}
		}
	}
}

func TestLookup(t *testing.T) {
	if _, err := Lookup("flow-selftest"); err != nil {
		t.Fatal(err)
	}
	if _, err := Lookup("no-such-test"); err == nil {
		t.Fatal("Lookup of an unknown test succeeded")
	}
}
