package simtests

import (
	"fmt"
	"slices"

	"github.com/strata-db/strata/db/directory/directorytest"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/sim/simcluster"
)

// All returns every named simulation test, sorted by name.
func All() []sim.Test {
	tests := []sim.Test{
		flowSelfTest(),
		cycleTest(),
		bankTest(),
		sidebandTest(),
		watchesTest(),
		versionStampTest(),
		durabilityTest(),
		apiCorrectnessTest(),
		directorytest.ConcurrentCreates(),
		clusterRecoveryTest(),
		clusterReplicationTest(),
		clusterSplitTest(),
		clusterMixTest(),
		simcluster.CoordinatorsTest(),
	}
	slices.SortFunc(tests, func(a, b sim.Test) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return tests
}

// Lookup returns the test named name.
func Lookup(name string) (sim.Test, error) {
	var names []string
	for _, t := range All() {
		if t.Name == name {
			return t, nil
		}
		names = append(names, t.Name)
	}
	return sim.Test{}, fmt.Errorf("no simulation test named %q (have: %v)", name, names)
}
