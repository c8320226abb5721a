package apply

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/strata-db/strata/deployer/plan"
)

// shellHost runs commands with a given shell, as sshd runs them with the
// login user's: the inspect script must give the same answers under dash
// (no EPOCHSECONDS) and bash.
type shellHost struct{ shell string }

func (h shellHost) Name() string { return "h1" }
func (h shellHost) Exec(ctx context.Context, cmd string, _ bool) ([]byte, error) {
	var stderr bytes.Buffer
	c := exec.CommandContext(ctx, h.shell, "-c", cmd)
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		return out, &exitErr{code: c.ProcessState.ExitCode(), stderr: stderr.String()}
	}
	return out, nil
}
func (h shellHost) Stream(context.Context, string, bool, io.Reader, io.Writer) error {
	return errors.New("not used")
}

// The inspect script reads the clock, the system, the monitor's lock and
// state file with as few processes as it can; what it reports must not
// change with that.
func TestInspectScriptReportsFactsAndTheMonitorUnderShAndBash(t *testing.T) {
	uname, err := exec.Command("uname", "-m").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, shell := range []string{"/bin/sh", "/bin/bash"} {
		if _, err := os.Stat(shell); err != nil {
			continue
		}
		t.Run(filepath.Base(shell), func(t *testing.T) {
			root := t.TempDir()
			dh := &plan.DesiredHost{Name: "h1", MonitorState: filepath.Join(root, "monitor.json"),
				Release: plan.DesiredRelease{Path: filepath.Join(root, "strata")},
				Conf:    plan.DesiredFile{Path: filepath.Join(root, "strata.conf")}, Cluster: plan.DesiredFile{Path: filepath.Join(root, "strata.cluster")},
				MonitorUnit: plan.DesiredFile{Path: filepath.Join(root, "strata-monitor.service")}}
			// A state file without a final newline, with backslashes and
			// leading spaces, must come back byte for byte.
			state := `{"processes": [` + "\n" + `  {"id": "a\\b", "pid": 7, "status": "running", "argv_digest": "d"}]}`
			if err := os.WriteFile(dh.MonitorState, []byte(state), 0o600); err != nil {
				t.Fatal(err)
			}
			// The conf and the cluster file are read by the shell and hashed
			// here: a file without a final newline, with backslashes,
			// spaces, a marker-like line and CRs must hash as itself.
			conf := "[monitor]\r\n  a = 'x\\y'  \n\nstrata-eof\nstrata-file /x\nlast line, no newline"
			cluster := "desc:id@10.0.0.1:4500\n"
			unit := "[Service]\nExecStart=/opt/strata/releases/1/strata monitor\n"
			for path, text := range map[string]string{dh.Conf.Path: conf, dh.Cluster.Path: cluster, dh.MonitorUnit.Path: unit} {
				if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			lock, err := os.OpenFile(dh.Conf.Path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
			if err != nil {
				t.Fatal(err)
			}
			defer lock.Close()
			req := &Requirements{Commands: DefaultCommands(), MinFreeBytes: 1}
			inspect := func() *HostReport {
				t.Helper()
				reps := Inspect(context.Background(), &plan.Desired{Hosts: []plan.DesiredHost{*dh}},
					map[string]Host{"h1": shellHost{shell}}, InspectOptions{Requirements: req, Refresh: true, Parallel: 1})
				return reps["h1"]
			}
			r := inspect()
			if len(r.Failures) > 0 || r.Observed.Error != "" {
				t.Fatalf("failures %v, refresh error %q", r.Failures, r.Observed.Error)
			}
			if r.Facts.OS != "linux" || r.Facts.Arch != strings.TrimSpace(string(uname)) || r.Facts.ClockSkew.Abs() > 2*time.Second {
				t.Errorf("facts %+v, want linux %s and no skew", r.Facts, uname)
			}
			if r.Observed.MonitorRunning {
				t.Error("monitor reported running while nobody holds its lock")
			}
			if r.Observed.ConfSHA256 != digest([]byte(conf)) || r.Observed.ClusterFileSHA256 != digest([]byte(cluster)) {
				t.Errorf("digests %s %s, want those of the files", r.Observed.ConfSHA256, r.Observed.ClusterFileSHA256)
			}
			if r.Observed.MonitorUnitSHA256 != digest([]byte(unit)) {
				t.Errorf("unit digest %q, want the unit's", r.Observed.MonitorUnitSHA256)
			}
			// A NUL byte cannot pass through the shell: no digest, not a
			// wrong one that might match.
			if err := os.WriteFile(dh.Conf.Path, []byte("[monitor]\x00\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if r := inspect(); r.Observed.ConfSHA256 != unreadableDigest || r.Observed.ClusterFileSHA256 != digest([]byte(cluster)) {
				t.Errorf("with a NUL byte: digests %s %s, want unreadable and the cluster file's", r.Observed.ConfSHA256, r.Observed.ClusterFileSHA256)
			}
			// A directory where the conf should be fails the refresh, as
			// hashing it would.
			if err := os.Remove(dh.Conf.Path); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(dh.Conf.Path, 0o755); err != nil {
				t.Fatal(err)
			}
			if r := inspect(); !strings.Contains(r.Observed.Error, "Is a directory") {
				t.Errorf("conf is a directory: refresh error %q, want one saying so", r.Observed.Error)
			}
			os.Remove(dh.Conf.Path)
			if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
				t.Fatal(err)
			}
			r = inspect()
			if !r.Observed.MonitorRunning || r.Observed.Error != "" {
				t.Fatalf("monitor holding its lock: running %v (error %q)", r.Observed.MonitorRunning, r.Observed.Error)
			}
			if p := r.Observed.Processes["a\\b"]; p.PID != 7 || !p.Running || p.LaunchDigest != "d" {
				t.Errorf("processes %+v, want a\\b running as pid 7", r.Observed.Processes)
			}
		})
	}
}
