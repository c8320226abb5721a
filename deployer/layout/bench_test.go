package layout_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/strata-db/strata/deployer/layout"
	"github.com/strata-db/strata/deployer/spec"
)

// bigDescription is a triple-redundancy cluster of n hosts in 50 zones,
// written with a dynamic block as an operator would.
func bigDescription(n int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `
cluster "big" {
  redundancy = "triple"
}
release "1" {
  source = "local_binary"
}
defaults {
  processes = { storage = 4, log = 1, stateless = 1 }
}
dynamic "host" {
  for_each = { for i in range(%d) : format("db%%04d", i) => i }
  labels   = [host.key]
  content {
    address = cidrhost("10.0.0.0/16", host.value + 1)
    zone    = format("zone%%02d", host.value %% 50)
  }
}
`, n)
	return []byte(b.String())
}

func loadBig(b *testing.B, n int) *spec.ClusterSpec {
	s, _, diags := spec.LoadSource("big.hcl", bigDescription(n), spec.Options{})
	if diags.HasErrors() {
		b.Fatal(diags.Error())
	}
	return s
}

// BenchmarkCompute1000 lays out 1,000 hosts (6,000 processes).
func BenchmarkCompute1000(b *testing.B) {
	s := loadBig(b, 1000)
	b.ResetTimer()
	for b.Loop() {
		l, diags := layout.Compute(s)
		if diags.HasErrors() || len(l.Coordinators) != 5 {
			b.Fatalf("coordinators %v, diags %v", l.Coordinators, diags)
		}
	}
}

// BenchmarkLoadAndCompute1000 adds decoding the HCL: what `strata validate`
// spends on a 1,000-host description.
func BenchmarkLoadAndCompute1000(b *testing.B) {
	src := bigDescription(1000)
	for b.Loop() {
		s, _, diags := spec.LoadSource("big.hcl", src, spec.Options{})
		if diags.HasErrors() {
			b.Fatal(diags.Error())
		}
		if _, diags := layout.Compute(s); diags.HasErrors() {
			b.Fatal(diags.Error())
		}
	}
}
