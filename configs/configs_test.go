package configs_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/strata-db/strata/configs"
	"github.com/strata-db/strata/deployer/layout"
	"github.com/strata-db/strata/deployer/spec"
)

// Every example decodes, lays out without warnings, and uses the
// redundancy mode its name promises with the right coordinator count.
func TestExamplesValidate(t *testing.T) {
	files, err := filepath.Glob("*.hcl")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		mode         spec.Redundancy
		hosts        int
		coordinators int
	}{
		"local.hcl":           {spec.RedundancyDouble, 3, 3},
		"single.hcl":          {spec.RedundancySingle, 1, 1},
		"double.hcl":          {spec.RedundancyDouble, 3, 3},
		"triple.hcl":          {spec.RedundancyTriple, 5, 5},
		"three_data_hall.hcl": {spec.RedundancyThreeDataHall, 9, 9},
	}
	if len(files) != len(want) {
		t.Errorf("found %v; the test knows %d examples, update it", files, len(want))
	}
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			s, sources, diags := spec.Load(file, spec.Options{})
			var l *layout.Layout
			if !diags.HasErrors() {
				computed, more := layout.Compute(s)
				l, diags = computed, append(diags, more...)
			}
			if len(diags) > 0 {
				var buf bytes.Buffer
				spec.WriteDiagnostics(&buf, sources, diags, 0, false)
				t.Fatalf("diagnostics:\n%s", buf.String())
			}
			w, ok := want[file]
			if !ok {
				t.Fatalf("no expectation for %s", file)
			}
			if s.Cluster.Redundancy != w.mode || len(l.Hosts) != w.hosts || len(l.Coordinators) != w.coordinators {
				t.Errorf("got %s, %d hosts, %d coordinators; want %s, %d, %d",
					s.Cluster.Redundancy, len(l.Hosts), len(l.Coordinators), w.mode, w.hosts, w.coordinators)
			}
		})
	}
}

// The examples are kept in canonical format.
func TestExamplesFormatted(t *testing.T) {
	files, _ := filepath.Glob("*.hcl")
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if out, diags := spec.Format(file, src); diags.HasErrors() || !bytes.Equal(out, src) {
			t.Errorf("%s is not formatted; run strata fmt configs", file)
		}
	}
}

func TestEmbeddedLocal(t *testing.T) {
	onDisk, err := os.ReadFile("local.hcl")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(configs.Local, onDisk) {
		t.Error("embedded local.hcl differs from the file")
	}
	if _, _, diags := spec.LoadSource(configs.LocalName, configs.Local, spec.Options{}); diags.HasErrors() {
		t.Errorf("embedded local.hcl: %s", diags.Error())
	}
}
