package apply

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/strata-db/strata/deployer/plan"
	"github.com/strata-db/strata/deployer/render"
)

// These tests check what the host is told to do; both paths run for real
// in the e2e tests (test/e2e TestSSHApplyToSystemdHost boots a host whose
// PID 1 is systemd, when its root filesystem is built).

func TestInspectDetectsSystemdAsInit(t *testing.T) {
	dh := &plan.DesiredHost{Name: "h", MonitorState: "/var/lib/strata/monitor.json", Conf: plan.DesiredFile{Path: "/etc/strata/strata.conf"}}
	script := inspectScript(dh, InspectOptions{Requirements: &Requirements{Commands: DefaultCommands()}})
	// sd_booted(3): systemd is PID 1 exactly when /run/systemd/system is a
	// directory; systemctl must be there to use it.
	if !strings.Contains(script, `[ -d /run/systemd/system ] && command -v systemctl`) {
		t.Fatalf("the inspect script does not ask for systemd:\n%s", script)
	}
	req := Requirements{Commands: DefaultCommands()}
	now := time.Now()
	for out, want := range map[string]bool{
		facts(now, "Linux x86_64", "", 50<<20) + "init systemd\n": true,
		facts(now, "Linux x86_64", "", 50<<20):                    false,
	} {
		got, fails := checkFacts(dh, out, now, time.Millisecond, req, nil)
		if len(fails) > 0 || got.Systemd != want {
			t.Errorf("facts of %q: systemd %v (failures %v), want %v", out, got.Systemd, fails, want)
		}
	}
}

func pipelineHost() *plan.DesiredHost {
	dh := &plan.DesiredHost{
		Name: "h1", MonitorState: "/var/lib/strata/monitor.json",
		Release: plan.DesiredRelease{Version: "1", Path: "/opt/strata/releases/1/strata", SHA256: strings.Repeat("a", 64)},
		Conf:    plan.DesiredFile{Path: "/etc/strata/strata.conf", SHA256: strings.Repeat("b", 64), Content: []byte("[monitor]\n")},
	}
	withUnit(dh, "prod")
	return dh
}

// withUnit gives dh the monitor unit plan.BuildDesired renders for it.
func withUnit(dh *plan.DesiredHost, cluster string) {
	unit := render.MonitorUnit(render.MonitorUnitSpec{Cluster: cluster, Release: dh.Release.Path, Conf: dh.Conf.Path, Log: dh.MonitorLog()})
	dh.MonitorUnit = plan.DesiredFile{Path: render.MonitorUnitPath(dh.Conf.Path), SHA256: digest(unit), Content: unit}
}

func TestPipelineInstallsTheMonitorAsASystemdUnitWhereSystemdRuns(t *testing.T) {
	dh := pipelineHost()
	c := plan.Change{Address: "host.h1.monitor", Host: "h1", Type: plan.TypeMonitor, Action: plan.Create}
	script, err := pipelineScript(&hostWork{dh: dh, monitor: &c, systemd: true, waitMonitor: true}, "x")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"/etc/systemd/system/strata-monitor-etc-strata-strata.conf.service.strata-tmp.x",
		"mv -f -- '/etc/systemd/system/strata-monitor-etc-strata-strata.conf.service.strata-tmp.x' '/etc/systemd/system/strata-monitor-etc-strata-strata.conf.service'",
		"ExecStart=/opt/strata/releases/1/strata monitor --conffile /etc/strata/strata.conf --lockfile /etc/strata/strata.conf.lock",
		"systemctl daemon-reload\nsystemctl enable --now 'strata-monitor-etc-strata-strata.conf.service'",
	} {
		if !strings.Contains(script, want) {
			t.Errorf("the systemd pipeline lacks %q:\n%s", want, script)
		}
	}
	if strings.Contains(script, "setsid") {
		t.Errorf("the systemd pipeline also starts the monitor detached:\n%s", script)
	}
}

func TestPipelineStartsTheMonitorDetachedWithoutSystemd(t *testing.T) {
	dh := pipelineHost()
	c := plan.Change{Address: "host.h1.monitor", Host: "h1", Type: plan.TypeMonitor, Action: plan.Create}
	script, err := pipelineScript(&hostWork{dh: dh, monitor: &c, waitMonitor: true}, "x")
	if err != nil {
		t.Fatal(err)
	}
	want := "(umask 022; setsid '/opt/strata/releases/1/strata' monitor --conffile '/etc/strata/strata.conf' --lockfile '/etc/strata/strata.conf.lock' </dev/null >>'/var/lib/strata/monitor.log' 2>&1 & echo $! > '/var/lib/strata/monitor.pid')"
	if !strings.Contains(script, want) || strings.Contains(script, "systemctl") {
		t.Fatalf("the detached pipeline lacks %q or mentions systemctl:\n%s", want, script)
	}
}

func TestDestroyStopsAndRemovesTheUnit(t *testing.T) {
	script := stopMonitorScript(pipelineHost(), time.Minute)
	for _, want := range []string{
		"if [ -e '/etc/systemd/system/strata-monitor-etc-strata-strata.conf.service' ]; then",
		`systemctl disable --now "$unit"`,
		"rm -f -- '/etc/systemd/system/strata-monitor-etc-strata-strata.conf.service'",
		`systemctl reset-failed "$unit"`,
		"pidfile='/var/lib/strata/monitor.pid'",
	} {
		if !strings.Contains(script, want) {
			t.Errorf("the stop script lacks %q:\n%s", want, script)
		}
	}
}

// What arrives is checked against the planned digest on the host before it
// replaces anything: a release that changed after planning is refused and
// leaves neither the file nor a temporary behind.
func TestPipelineRefusesABadDigestAndLeavesNothing(t *testing.T) {
	root := t.TempDir()
	dh := plan.DesiredHost{
		Name: "h1", MonitorState: root + "/data/monitor.json",
		Release: plan.DesiredRelease{Version: "1", Path: root + "/opt/strata", SHA256: digest([]byte("planned bytes"))},
	}
	d := &plan.Desired{Hosts: []plan.DesiredHost{dh}}
	p := &plan.Plan{Changes: []plan.Change{{Address: "host.h1.release", Host: "h1", Type: plan.TypeRelease, Action: plan.Create}}}
	err := Apply(context.Background(), p, d, map[string]Host{"h1": localHost{"h1"}}, Options{
		Release: func() (io.ReadCloser, int64, error) {
			b := []byte("other bytes!!")
			return io.NopCloser(bytes.NewReader(b)), int64(len(b)), nil
		},
	})
	if err == nil || !strings.Contains(err.Error(), "digest mismatch") {
		t.Fatalf("apply of a release with the wrong digest: %v", err)
	}
	if entries, _ := os.ReadDir(root + "/opt"); len(entries) != 0 {
		t.Fatalf("left behind: %v", entries)
	}
}

// sudoRecorder records the sudo flag of every command it is given.
type sudoRecorder struct{ sudo []bool }

func (h *sudoRecorder) Name() string { return "h1" }
func (h *sudoRecorder) Exec(_ context.Context, _ string, sudo bool) ([]byte, error) {
	h.sudo = append(h.sudo, sudo)
	return nil, nil
}
func (h *sudoRecorder) Stream(_ context.Context, _ string, sudo bool, _ io.Reader, _ io.Writer) error {
	h.sudo = append(h.sudo, sudo)
	return nil
}

// Destroy undoes as root what apply did as root: on a host whose login
// user is not root, systemctl and removing files under /etc and /opt fail
// otherwise.
func TestDestroyRunsAsRootWhereApplyDid(t *testing.T) {
	for _, sudo := range []bool{true, false} {
		dh := pipelineHost()
		dh.Sudo = sudo
		h := &sudoRecorder{}
		if err := Destroy(context.Background(), []DestroyTarget{{Host: dh}}, map[string]Host{"h1": h}, DestroyOptions{PurgeData: true}); err != nil {
			t.Fatal(err)
		}
		if len(h.sudo) == 0 {
			t.Fatal("destroy ran nothing")
		}
		for i, got := range h.sudo {
			if got != sudo {
				t.Errorf("host sudo %v: destroy's command %d ran with sudo %v", sudo, i, got)
			}
		}
	}
}

// The unit names the cluster, and a monitor that does not start points at
// the unit's status as well as the log.
func TestUnitNamesTheClusterAndFailurePointsAtTheUnit(t *testing.T) {
	dh := pipelineHost()
	withUnit(dh, "prod_eu")
	c := plan.Change{Address: "host.h1.monitor", Host: "h1", Type: plan.TypeMonitor, Action: plan.Create}
	w := &hostWork{dh: dh, monitor: &c, systemd: true}
	script, err := pipelineScript(w, "x")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(script, "# strata monitor of cluster prod_eu.") {
		t.Errorf("the unit does not name the cluster:\n%s", script)
	}
	if got := monitorLogHint(w); !strings.Contains(got, "systemctl status strata-monitor-etc-strata-strata.conf.service") {
		t.Errorf("hint %q does not name the unit", got)
	}
}

// Directories apply makes are 0755 (files stay private only until checked)
// so that refresh, which runs as the login user without sudo, can read
// what a sudo apply installed.
func TestInstalledDirectoriesAreReadable(t *testing.T) {
	root := t.TempDir()
	bin := []byte("release bytes")
	dh := plan.DesiredHost{
		Name: "h1", MonitorState: root + "/data/monitor.json",
		Release: plan.DesiredRelease{Version: "1", Path: root + "/opt/releases/1/strata", SHA256: digest(bin)},
	}
	d := &plan.Desired{Hosts: []plan.DesiredHost{dh}}
	p := &plan.Plan{Changes: []plan.Change{{Address: "host.h1.release", Host: "h1", Type: plan.TypeRelease, Action: plan.Create}}}
	err := Apply(context.Background(), p, d, map[string]Host{"h1": localHost{"h1"}}, Options{
		Release: func() (io.ReadCloser, int64, error) {
			return io.NopCloser(bytes.NewReader(bin)), int64(len(bin)), nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{root + "/opt", root + "/opt/releases", root + "/opt/releases/1"} {
		st, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o755 {
			t.Errorf("%s has mode %v, want 0755", dir, st.Mode().Perm())
		}
	}
	if st, err := os.Stat(dh.Release.Path); err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("release: %v, %v; want mode 0755", st, err)
	}
}

// The upload makes the pipe its stdin comes through 1 MiB before reading
// the release (growStdinPipe): the same pipe, as the host's shell got it.
func TestUploadGrowsTheStdinPipe(t *testing.T) {
	dh := pipelineHost()
	c := plan.Change{Address: "host.h1.release", Host: "h1", Type: plan.TypeRelease, Action: plan.Create}
	script, err := pipelineScript(&hostWork{dh: dh, release: &c, releaseSize: 5}, "x")
	if err != nil {
		t.Fatal(err)
	}
	if i, j := strings.Index(script, growStdinPipe), strings.Index(script, "head -c 5 >"); i < 0 || j < i {
		t.Fatalf("the pipe is not grown before the release is read:\n%s", script)
	}
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 (to read the pipe's size) is not installed")
	}
	cmd := exec.Command("/bin/sh", "-c", growStdinPipe+"python3 -c 'import fcntl; print(fcntl.fcntl(0, 1032))'")
	cmd.Stdin = strings.NewReader("") // a pipe, as sshd gives the command
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != "1048576" {
		t.Errorf("stdin's pipe holds %s bytes, want 1048576", got)
	}
}
