package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-db/strata/deployer/event"
	"github.com/strata-db/strata/deployer/plan"
	"github.com/strata-db/strata/deployer/state"
)

func TestInitWritesAValidDescriptionAndNeverOverwrites(t *testing.T) {
	file := filepath.Join(t.TempDir(), "cluster.hcl")
	if out, err := runStrata(t, "init", "-name", "shop", file); err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	if out, err := runStrata(t, "validate", file); err != nil || !strings.Contains(out, `cluster "shop"`) {
		t.Fatalf("the starter description does not validate: %v\n%s", err, out)
	}
	before, _ := os.ReadFile(file)
	if out, err := runStrata(t, "init", file); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("second init: %v\n%s", err, out)
	}
	if after, _ := os.ReadFile(file); string(after) != string(before) {
		t.Fatal("init changed an existing file")
	}
}

// localConfig writes a one-host local description under a temp dir.
func localConfig(t *testing.T, release string) (dir, config string) {
	t.Helper()
	dir = t.TempDir()
	config = filepath.Join(dir, "c.hcl")
	text := `
variable "redundancy" {
  type    = string
  default = "single"
}
cluster "unit" { redundancy = var.redundancy }
` + release + `
paths {
  install = "` + dir + `/opt"
  conf    = "` + dir + `/etc"
  data    = "` + dir + `/data"
  log     = "` + dir + `/log"
}
host "l1" {
  transport = "local"
  processes = { storage = 1 }
  overrides { port_base = 39100 }
}
`
	if err := os.WriteFile(config, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, config
}

const localRelease = `release "dev" { source = "local_binary" }`

func TestPlanRefusesURLReleases(t *testing.T) {
	_, config := localConfig(t, `release "1.0" {
  source = "url"
  url    = "https://example.com/strata"
  sha256 = "`+strings.Repeat("ab", 32)+`"
}`)
	out, err := runStrata(t, "plan", config)
	if err == nil || !strings.Contains(err.Error(), "not supported") || !strings.Contains(err.Error(), `source = "file"`) {
		t.Fatalf("plan of a url release: %v\n%s", err, out)
	}
}

func TestPlanPrintsDiagnosticsOfAnInvalidDescription(t *testing.T) {
	_, config := localConfig(t, localRelease)
	out, err := runStrata(t, "plan", "-var", "redundancy=quadruple", config)
	if err == nil || !strings.Contains(err.Error(), "not valid") || !strings.Contains(out, "quadruple") {
		t.Fatalf("plan of an invalid description: %v\n%s", err, out)
	}
}

func TestSavedPlanIsRefusedOnceTheDescriptionChanges(t *testing.T) {
	dir, config := localConfig(t, localRelease)
	planFile := filepath.Join(dir, "p.plan")
	out, err := runStrata(t, "plan", "-json", "-out", planFile, config)
	if err != nil {
		t.Fatalf("plan: %v\n%s", err, out)
	}
	var p plan.Plan
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("plan -json is not one JSON document: %v\n%s", err, out)
	}
	if add, _, _, _ := p.Counts(); add != 6 { // release, conf, cluster file, monitor, process, database
		t.Fatalf("fresh plan adds %d, want 6:\n%s", add, out)
	}
	if err := os.WriteFile(config, []byte(strings.Replace(mustRead(t, config), "storage = 1", "storage = 2", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = runStrata(t, "apply", planFile)
	if err == nil || !strings.Contains(err.Error(), "stale") {
		t.Fatalf("apply of a plan for an older description: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "opt")); !os.IsNotExist(err) {
		t.Fatalf("a refused plan installed something: %v", err)
	}
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestTargetSelectsAnAddressAndWhatItContains(t *testing.T) {
	changes := []plan.Change{
		{Address: "host.db1.release", Host: "db1"},
		{Address: "host.db1.conf", Host: "db1"},
		{Address: "process.db1:4500", Host: "db1"},
		{Address: "host.db10.conf", Host: "db10"},
		{Address: "process.db2:4500", Host: "db2"},
		{Address: "cluster.database"},
	}
	for _, tc := range []struct {
		targets []string
		want    []string
	}{
		{[]string{"host.db1"}, []string{"host.db1.release", "host.db1.conf", "process.db1:4500"}},
		{[]string{"host.db1.conf"}, []string{"host.db1.conf"}},
		{[]string{"process.db2"}, []string{"process.db2:4500"}},
		{[]string{"cluster", "process.db1:4500"}, []string{"process.db1:4500", "cluster.database"}},
		{nil, []string{"host.db1.release", "host.db1.conf", "process.db1:4500", "host.db10.conf", "process.db2:4500", "cluster.database"}},
	} {
		p := &plan.Plan{Changes: append([]plan.Change(nil), changes...)}
		kept, total := filterTargets(p, tc.targets)
		var got []string
		for _, c := range p.Changes {
			got = append(got, c.Address)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" || kept != len(tc.want) || total != len(changes) {
			t.Errorf("-target %v: kept %d of %d (-want +got):\n%s", tc.targets, kept, total, diff)
		}
	}
}

func TestRefreshFalsePlansFromWhatStateRecords(t *testing.T) {
	d := &plan.Desired{
		Database: plan.DesiredDatabase{Redundancy: "single", StorageEngine: "ssd", Coordinators: []string{"10.0.0.1:4500"}},
		Hosts: []plan.DesiredHost{{
			Name:      "db1",
			Release:   plan.DesiredRelease{Version: "1", Path: "/opt/strata/releases/1/strata", SHA256: "r"},
			Conf:      plan.DesiredFile{Path: "/etc/strata/strata.conf", SHA256: "c"},
			Cluster:   plan.DesiredFile{Path: "/etc/strata/strata.cluster", SHA256: "f"},
			Processes: []plan.DesiredProcess{{Port: 4500, Class: "storage", LaunchDigest: "l"}},
		}},
	}
	st, _ := state.New("unit")
	put := func(addr, typ string, attrs map[string]string) {
		attrs["host"] = "db1"
		st.Put(state.Resource{Address: addr, Type: typ, Attributes: attrs})
	}
	put("host.db1.release", plan.TypeRelease, map[string]string{"path": "/opt/strata/releases/1/strata", "sha256": "r"})
	put("host.db1.conf", plan.TypeConf, map[string]string{"sha256": "c"})
	put("host.db1.cluster_file", plan.TypeClusterFile, map[string]string{"sha256": "f"})
	put("host.db1.monitor", plan.TypeMonitor, map[string]string{})
	put("process.db1:4500", plan.TypeProcess, map[string]string{"launch_digest": "l"})
	st.Put(state.Resource{Address: "cluster.database", Type: plan.TypeDatabase, Attributes: map[string]string{"redundancy": "single", "storage_engine": "ssd"}})

	p, err := plan.Make(d, observedFromState(d, st), st)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Empty() {
		t.Fatalf("state matching the description planned %+v", p.Changes)
	}
	d.Hosts[0].Processes[0].LaunchDigest = "new"
	d.Hosts[0].Release.Path = "/opt/strata/releases/2/strata"
	p, err = plan.Make(d, observedFromState(d, st), st)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range p.Changes {
		got = append(got, string(c.Action)+" "+c.Address)
	}
	if diff := cmp.Diff([]string{"create host.db1.release", "restart process.db1:4500"}, got); diff != "" {
		t.Fatalf("changes (-want +got):\n%s", diff)
	}
}

func TestLiveViewRewritesOneLinePerHost(t *testing.T) {
	var out strings.Builder
	v := newLiveView(&out, 60, []string{"db1", "db2"})
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	v.Emit(event.Event{Time: at, Host: "db1", Step: "release", Resource: "host.db1.release", Status: event.Started})
	v.Emit(event.Event{Time: at, Host: "db2", Step: "release", Status: event.Failed, Error: "db2: upload: " + strings.Repeat("x", 100)})
	v.Emit(event.Event{Time: at, Step: "database", Status: event.Done})

	i := strings.LastIndex(out.String(), "\x1b[2A")
	if i < 0 {
		t.Fatalf("the view does not move back over its block:\n%q", out.String())
	}
	want := []string{
		"  db1      03:04:05 started release host.db1.release",
		("  db2      03:04:05 failed release: db2: upload: " + strings.Repeat("x", 100))[:59], // cut to the width
		"  cluster  03:04:05 done database",
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSuffix(out.String()[i+len("\x1b[2A"):], "\n"), "\n") {
		got = append(got, strings.TrimPrefix(l, "\x1b[2K"))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("last frame (-want +got):\n%s", diff)
	}
}

func TestDestroyWithPurgeDataWantsTheClusterName(t *testing.T) {
	_, config := localConfig(t, localRelease)
	for _, tc := range []struct {
		answer string
		ok     bool
	}{{"yes\n", false}, {"unit\n", true}} {
		cmd := newRootCommand()
		var out strings.Builder
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetIn(strings.NewReader(tc.answer))
		cmd.SetArgs([]string{"destroy", "-purge-data", config})
		err := cmd.ExecuteContext(context.Background())
		if tc.ok != (err == nil) || !strings.Contains(out.String(), "Type the cluster's name (unit)") {
			t.Errorf("answer %q: %v\n%s", tc.answer, err, out.String())
		}
	}
}
