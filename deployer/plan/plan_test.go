package plan

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/strata-db/strata/deployer/state"
)

func desired() *Desired {
	host := func(name string, ports ...int) DesiredHost {
		h := DesiredHost{
			Name: name, Address: "10.0.0.1", Transport: "ssh",
			Release: DesiredRelease{Version: "0.2", Path: "/opt/strata/releases/0.2/strata", SHA256: "aaaa"},
			Conf:    DesiredFile{Path: "/etc/strata/strata.conf", SHA256: "conf-" + name},
			Cluster: DesiredFile{Path: "/etc/strata/strata.cluster", SHA256: "cf"},
		}
		for _, p := range ports {
			h.Processes = append(h.Processes, DesiredProcess{ID: name, Port: p, Class: "storage", LaunchDigest: "launch-" + name})
		}
		return h
	}
	return &Desired{
		Cluster:  "prod",
		Database: DesiredDatabase{Redundancy: "double", StorageEngine: "ssd", Coordinators: []string{"10.0.0.1:4500"}},
		Hosts:    []DesiredHost{host("db1", 4500, 4501), host("db2", 4500)},
	}
}

// converged is what the hosts look like after a successful apply.
func converged(d *Desired) *Observed {
	o := &Observed{Hosts: map[string]*ObservedHost{}, Database: &ObservedDatabase{
		Configured: true, Redundancy: d.Database.Redundancy, StorageEngine: d.Database.StorageEngine, Coordinators: d.Database.Coordinators,
	}}
	for _, h := range d.Hosts {
		oh := &ObservedHost{ReleaseSHA256: h.Release.SHA256, ConfSHA256: h.Conf.SHA256, ClusterFileSHA256: h.Cluster.SHA256, MonitorRunning: true, Processes: map[string]ObservedProcess{}}
		for _, p := range h.Processes {
			oh.Processes[itoa(p.Port)] = ObservedProcess{PID: 100 + p.Port, LaunchDigest: p.LaunchDigest, Running: true}
		}
		o.Hosts[h.Name] = oh
	}
	return o
}

func itoa(n int) string { return strconv.Itoa(n) }

func human(t *testing.T, p *Plan) string {
	t.Helper()
	var b strings.Builder
	if err := p.WriteHuman(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestFreshClusterCreatesEverything(t *testing.T) {
	d := desired()
	o := &Observed{Hosts: map[string]*ObservedHost{"db1": {}, "db2": {}}}
	p, err := Make(d, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	add, change, destroy, restart := p.Counts()
	// Per host: release, conf, cluster file, monitor, processes; plus the database.
	if add != 4+2+4+1+1 || change != 0 || destroy != 0 || restart != 0 {
		t.Fatalf("counts %d/%d/%d/%d:\n%s", add, change, destroy, restart, human(t, p))
	}
	out := human(t, p)
	for _, want := range []string{"+ host.db1.release", "install strata 0.2", "+ cluster.database", "configure new double ssd", "Plan: 12 to add, 0 to change, 0 to destroy, 0 to restart."} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
}

func TestConvergedClusterPlansNothing(t *testing.T) {
	d := desired()
	p, err := Make(d, converged(d), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Empty() {
		t.Fatalf("converged cluster planned changes:\n%s", human(t, p))
	}
	if got := human(t, p); !strings.HasPrefix(got, "No changes.") {
		t.Fatalf("empty plan renders as %q", got)
	}
}

func TestUpgradeListsRestartsWithReason(t *testing.T) {
	old := desired()
	o := converged(old)
	for _, h := range o.Hosts {
		h.ReleaseSHA256 = "" // the new version's path is not there yet
	}
	d := desired()
	for i := range d.Hosts {
		d.Hosts[i].Conf.SHA256 = "new-conf"
		for j := range d.Hosts[i].Processes {
			d.Hosts[i].Processes[j].LaunchDigest = "new-launch"
		}
	}
	st, _ := state.New("prod")
	st.Put(state.Resource{Address: "host.db1.release", Type: TypeRelease, Attributes: map[string]string{"host": "db1", "version": "0.1"}})
	p, err := Make(d, o, st)
	if err != nil {
		t.Fatal(err)
	}
	out := human(t, p)
	if !strings.Contains(out, "↻ process.db1:4500") || !strings.Contains(out, "binary 0.1 -> 0.2") {
		t.Fatalf("upgrade plan does not explain the restart:\n%s", out)
	}
	if !strings.Contains(out, "process.db2:4500") || !strings.Contains(out, "arguments changed") {
		t.Fatalf("db2 (no state record) restart reason missing:\n%s", out)
	}
	if _, _, _, restart := p.Counts(); restart != 3 {
		t.Fatalf("%d restarts, want 3:\n%s", restart, out)
	}
}

// A systemd host's running monitor whose unit names another release (an
// upgrade) gets its unit rewritten; a detached monitor (no unit) and a unit
// already naming the release plan nothing.
func TestUpgradeRewritesTheMonitorUnit(t *testing.T) {
	d := desired()
	for i := range d.Hosts {
		d.Hosts[i].MonitorUnit = DesiredFile{Path: "/etc/systemd/system/strata-monitor.service", SHA256: "unit-0.2"}
	}
	o := converged(d)
	o.Hosts["db1"].MonitorUnitSHA256 = "unit-0.1"
	p, err := Make(d, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := human(t, p)
	if len(p.Changes) != 1 || p.Changes[0].Address != "host.db1.monitor" || p.Changes[0].Action != Update ||
		!strings.Contains(out, "to start /opt/strata/releases/0.2/strata") {
		t.Fatalf("want one update of db1's monitor unit:\n%s", out)
	}
	o.Hosts["db1"].MonitorUnitSHA256 = "unit-0.2"
	if p, err := Make(d, o, nil); err != nil || !p.Empty() {
		t.Fatalf("unit up to date: %v\n%s", err, human(t, p))
	}
}

func TestDriftAndRemovals(t *testing.T) {
	d := desired()
	o := converged(d)
	o.Hosts["db1"].ConfSHA256 = "edited-by-hand"
	o.Hosts["db1"].Processes["4502"] = ObservedProcess{PID: 9, LaunchDigest: "x", Running: true}
	st, _ := state.New("prod")
	st.Put(state.Resource{Address: "host.db1.conf", Type: TypeConf, Attributes: map[string]string{"host": "db1", "sha256": "conf-db1"}})
	st.Put(state.Resource{Address: "host.db3.release", Type: TypeRelease, Attributes: map[string]string{"host": "db3"}})
	p, err := Make(d, o, st)
	if err != nil {
		t.Fatal(err)
	}
	out := human(t, p)
	for _, want := range []string{
		"~ host.db1.conf", "drift",
		"- process.db1:4502", "not in the description",
		"- host.db3.release", "no longer in the description",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
}

func TestUnreachableHostFailsThePlan(t *testing.T) {
	d := desired()
	o := converged(d)
	o.Hosts["db2"].Error = "refresh: ssh: connect to 10.0.0.2:22: connection refused"
	_, err := Make(d, o, nil)
	var ue *UnreachableError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "db2: refresh: ssh: connect") {
		t.Fatalf("got %v, want an error naming db2 and the failed step", err)
	}
}

func TestDatabaseChanges(t *testing.T) {
	d := desired()
	o := converged(d)
	o.Database.Redundancy = "single"
	p, _ := Make(d, o, nil)
	if out := human(t, p); !strings.Contains(out, "configure double ssd (now single ssd)") {
		t.Fatalf("redundancy change missing:\n%s", out)
	}
	o = converged(d)
	d.Database.Roles = RoleCounts{CommitProxies: 2, Logs: 3}
	p, _ = Make(d, o, nil)
	if out := human(t, p); !strings.Contains(out, "configure double ssd commit_proxies=2 logs=3 (now double ssd)") {
		t.Fatalf("role count change missing:\n%s", out)
	}
	o.Database.Roles = d.Database.Roles
	if p, _ = Make(d, o, nil); len(p.Changes) != 0 {
		t.Fatalf("the same role counts planned changes:\n%s", human(t, p))
	}
	d = desired()
	o = converged(d)
	o.Database.Coordinators = []string{"10.0.0.9:4500"}
	p, _ = Make(d, o, nil)
	if out := human(t, p); !strings.Contains(out, "~ cluster.coordinators") {
		t.Fatalf("coordinator change missing:\n%s", out)
	}
}

func TestPlanFileStaleness(t *testing.T) {
	d := desired()
	st, _ := state.New("prod")
	st.Serial = 4
	p, _ := Make(d, &Observed{Hosts: map[string]*ObservedHost{"db1": {}, "db2": {}}}, st)
	f := &File{ConfigPath: "prod.hcl", Plan: p, Desired: d}
	path := t.TempDir() + "/plan"
	if err := SaveFile(path, f); err != nil {
		t.Fatal(err)
	}
	f, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.CheckFresh(st, d); err != nil {
		t.Fatalf("fresh plan refused: %v", err)
	}
	moved := *st
	moved.Serial = 5
	if err := f.CheckFresh(&moved, d); err == nil || !strings.Contains(err.Error(), "stale") {
		t.Fatalf("plan after another apply: %v", err)
	}
	changed := desired()
	changed.Database.Redundancy = "triple"
	if err := f.CheckFresh(st, changed); err == nil || !strings.Contains(err.Error(), "prod.hcl changed") {
		t.Fatalf("plan after the description changed: %v", err)
	}
}
