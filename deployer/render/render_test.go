package render

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-db/strata/deployer/layout"
	"github.com/strata-db/strata/deployer/spec"
)

var update = flag.Bool("update", false, "rewrite golden files")

func load(t *testing.T, name string, vars []string) (*spec.ClusterSpec, *layout.Layout) {
	t.Helper()
	s, _, diags := spec.Load(filepath.Join("..", "..", "configs", name), spec.Options{Vars: vars})
	if diags.HasErrors() {
		t.Fatalf("loading %s: %v", name, diags)
	}
	l, diags := layout.Compute(s)
	if diags.HasErrors() {
		t.Fatalf("layout of %s: %v", name, diags)
	}
	return s, l
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Fatalf("%s differs from the golden file (run with -update if intended):\n%s", name, got)
	}
}

func TestHostConfGolden(t *testing.T) {
	for _, c := range []struct{ config, host string }{
		{"local.hcl", "local-z1"},
		{"triple.hcl", "db1"},
	} {
		s, l := load(t, c.config, nil)
		files, err := Host(s, l, c.host, s.Release())
		if err != nil {
			t.Fatal(err)
		}
		golden(t, strings.TrimSuffix(c.config, ".hcl")+"-"+c.host+".conf", files.Conf)
		var hl *layout.HostLayout
		for i := range l.Hosts {
			if l.Hosts[i].Name == c.host {
				hl = &l.Hosts[i]
			}
		}
		if len(files.ProcessDigests) != len(hl.Processes) {
			t.Fatalf("%d process digests for %d processes", len(files.ProcessDigests), len(hl.Processes))
		}
	}
}

func TestRenderIsDeterministicAndDigestsTrackChanges(t *testing.T) {
	s, l := load(t, "local.hcl", nil)
	a, err := Host(s, l, "local-z1", s.Release())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Host(s, l, "local-z1", s.Release())
	if a.ConfDigest != b.ConfDigest {
		t.Fatal("rendering the same inputs twice gave different files")
	}
	// A new release changes every process's launch.
	next := *s.Release()
	next.Version = "next"
	c, err := Host(s, l, "local-z1", &next)
	if err != nil {
		t.Fatal(err)
	}
	for id, d := range a.ProcessDigests {
		if c.ProcessDigests[id] == d {
			t.Errorf("process %s: same launch digest after a release change", id)
		}
	}
	if _, err := Host(s, l, "no-such-host", s.Release()); err == nil {
		t.Fatal("rendering an unknown host succeeded")
	}
}

func TestClusterFile(t *testing.T) {
	_, l := load(t, "triple.hcl", nil)
	got, err := ClusterFile("prod", "a1b2c3d4", l)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSpace(string(got))
	if !strings.HasPrefix(line, "prod:a1b2c3d4@") || strings.Count(line, ",") != 4 {
		t.Fatalf("cluster file %q: want prod:a1b2c3d4@ and 5 coordinators", line)
	}
	if _, err := ClusterFile("bad name", "x", l); err == nil {
		t.Fatal("a description with a space was accepted")
	}
	if d := Description("my-cluster.prod"); d != "my_cluster_prod" {
		t.Fatalf("Description = %q", d)
	}
}
