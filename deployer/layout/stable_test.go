package layout_test

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-db/strata/deployer/layout"
	"github.com/strata-db/strata/deployer/spec"
)

// Reordering the hosts of a description changes nothing in the layout:
// process IDs, ports and coordinators stay, so plans do not churn.
func TestLayoutIgnoresHostOrder(t *testing.T) {
	s, _, diags := spec.LoadSource("big.hcl", bigDescription(60), spec.Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	want, diags := layout.Compute(s)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	slices.Reverse(s.Hosts)
	s.Hosts[0], s.Hosts[17] = s.Hosts[17], s.Hosts[0]
	got, diags := layout.Compute(s)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("layout changed with host order (-want +got):\n%s", diff)
	}
}

// Adding a host leaves every existing process ID and port alone.
func TestLayoutAddHostKeepsIDs(t *testing.T) {
	before, _, _ := spec.LoadSource("a.hcl", bigDescription(20), spec.Options{})
	after, _, _ := spec.LoadSource("b.hcl", bigDescription(21), spec.Options{})
	lb, _ := layout.Compute(before)
	la, _ := layout.Compute(after)
	ids := func(l *layout.Layout) map[string]int {
		out := map[string]int{}
		for _, h := range l.Hosts {
			for _, p := range h.Processes {
				out[p.ID] = p.Port
			}
		}
		return out
	}
	a := ids(la)
	for id, port := range ids(lb) {
		if a[id] != port {
			t.Errorf("process %s: port %d before, %d after adding a host", id, port, a[id])
		}
	}
	if len(a) != len(ids(lb))+6 {
		t.Errorf("got %d processes after adding a host of 6 to %d", len(a), len(ids(lb)))
	}
}
