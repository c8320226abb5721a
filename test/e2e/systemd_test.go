package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/strata-db/strata/db/status"
	"github.com/strata-db/strata/deployer/render"
	"github.com/strata-db/strata/test/e2e/testhost"
)

// TestSSHApplyToSystemdHost is issue #7's "monitor as a systemd unit where
// systemd is PID 1, otherwise detached with a pidfile", on a real systemd:
// h1 and h2 boot systemd (testhost Options.Systemd), h3 runs sshd alone;
// the deployer logs into h2 as a user who becomes root through sudo.
// Apply installs and starts h1's and h2's monitors as enabled units and
// h3's detached; the database is healthy; a plan has no changes; systemd
// restarts a killed monitor (Restart=always), after which the plan still
// has none; an upgrade to a new release rewrites the units to name it, and
// a monitor systemd restarts runs the new release; destroy removes the
// units and leaves every host clean.
func TestSSHApplyToSystemdHost(t *testing.T) {
	if testing.Short() {
		t.Skip("makes test hosts")
	}
	if err := testhost.SystemdRequirements(); err != nil {
		t.Skipf("skipping: %v", err)
	}
	ctx := context.Background()
	c, err := testhost.Create(ctx, 3, testhost.Options{Systemd: 2})
	if err != nil {
		t.Fatalf("test hosts: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("removing test hosts: %v", err)
		}
	})
	sd, sudo, plain := c.Hosts[0], c.Hosts[1], c.Hosts[2]
	dir := t.TempDir()
	config := filepath.Join(dir, "ssh.hcl")
	writeSystemdDescription(t, c, config)
	known := "known_hosts=" + c.KnownHosts
	const conf = "/etc/strata/strata.conf"
	unit := render.MonitorUnitName(conf)

	r := mustRun(t, dir, "apply", "-auto-approve", "-connect-timeout", "5s", "-wait-timeout", "60s", "-var", known, config)
	if !strings.Contains(r.stdout, "Apply complete!") {
		t.Fatalf("fresh apply:\n%s", r)
	}
	var first int
	for _, h := range []*testhost.Host{sd, sudo} {
		if got := systemctl(t, c, h, "is-enabled", unit); got != "enabled" {
			t.Errorf("%s: %s is %q, want enabled", h.Name, unit, got)
		}
		pid := waitUnitRunning(t, c, h, unit, 0)
		if h == sd {
			first = pid
		}
		if _, err := c.Exec(ctx, h, "test", "!", "-e", "/var/lib/strata/monitor.pid"); err != nil {
			t.Errorf("%s: the monitor was also started detached: %v", h.Name, err)
		}
	}
	if _, err := c.Exec(ctx, plain, "test", "-s", "/var/lib/strata/monitor.pid"); err != nil {
		t.Errorf("the host without systemd has no monitor pidfile: %v", err)
	}
	for _, h := range c.Hosts {
		if n := len(pidsOf(t, hostMonitor(t, c, h))); n != 1 {
			t.Fatalf("%s runs %d servers, want 1", h.Name, n)
		}
	}
	checkHealthy(t, c, dir, 3)
	noChanges := func(when string) {
		t.Helper()
		if r := strata(t, dir, "", "plan", "-detailed-exitcode", "-var", known, config); r.code != 0 || !strings.Contains(r.stdout, "No changes.") {
			t.Fatalf("plan %s: %s", when, r)
		}
	}
	noChanges("after apply")

	// systemd restarts a monitor that dies; its server comes back with it.
	if _, err := c.Exec(ctx, sd, "kill", "-KILL", strconv.Itoa(first)); err != nil {
		t.Fatal(err)
	}
	waitUnitRunning(t, c, sd, unit, first)
	waitServers(t, c, sd, 1)
	checkHealthy(t, c, dir, 3)
	noChanges("after systemd restarted the monitor")

	// An upgrade to a new release rewrites the units to name it: the
	// running monitors keep their binary, and systemd starts the new one
	// when it restarts them (or at boot).
	text, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(config, []byte(strings.Replace(string(text), `release "dev"`, `release "v2"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun(t, dir, "apply", "-auto-approve", "-connect-timeout", "5s", "-wait-timeout", "60s", "-var", known, config)
	for _, h := range []*testhost.Host{sd, sudo} {
		out, err := c.Exec(ctx, h, "cat", render.MonitorUnitPath(conf))
		if err != nil || !strings.Contains(string(out), "ExecStart=/opt/strata/releases/v2/strata monitor") {
			t.Errorf("%s: after the upgrade the unit is (%v):\n%s", h.Name, err, out)
		}
	}
	noChanges("after the upgrade")
	sd2 := waitUnitRunning(t, c, sd, unit, 0)
	if _, err := c.Exec(ctx, sd, "kill", "-KILL", strconv.Itoa(sd2)); err != nil {
		t.Fatal(err)
	}
	waitUnitRunning(t, c, sd, unit, sd2)
	if out, err := c.Exec(ctx, sd, "sh", "-c", "readlink /proc/$(systemctl show -p MainPID --value "+unit+")/exe"); err != nil || strings.TrimSpace(string(out)) != "/opt/strata/releases/v2/strata" {
		t.Errorf("systemd restarted the monitor from %q (%v), want the new release", out, err)
	}
	waitServers(t, c, sd, 1)
	checkHealthy(t, c, dir, 3)
	// Destroy removes the previous release too (the state lists it).
	mustRun(t, dir, "destroy", "-auto-approve", "-purge-data", "-var", known, config)
	for _, h := range []*testhost.Host{sd, sudo} {
		if got := systemctl(t, c, h, "show", "-p", "LoadState", "--value", unit); got != "not-found" {
			t.Errorf("%s: after destroy %s is %q, want not-found", h.Name, unit, got)
		}
		if _, err := c.Exec(ctx, h, "test", "!", "-e", render.MonitorUnitPath(conf)); err != nil {
			t.Errorf("%s: destroy left the unit file: %v", h.Name, err)
		}
	}
	for _, h := range c.Hosts {
		if procs := strataProcesses(t, h); len(procs) > 0 {
			t.Errorf("%s runs after destroy:\n%s", h.Name, strings.Join(procs, "\n"))
		}
		for _, d := range testhost.PrivateDirs() {
			if files := filesUnder(t, h.Path(d)); len(files) > 0 {
				t.Errorf("destroy -purge-data left %v in %s of %s", files, d, h.Name)
			}
		}
	}
}

// writeSystemdDescription is sshDescription for c's hosts, the second
// logging in as the systemd rootfs's user "deploy" with sudo.
func writeSystemdDescription(t *testing.T, c *testhost.Cluster, config string) {
	t.Helper()
	var hosts strings.Builder
	for i, h := range c.Hosts {
		fmt.Fprintf(&hosts, "\nhost %q {\n  address = %q\n", h.Name, h.Address)
		if i == 1 {
			hosts.WriteString("  overrides {\n    ssh {\n      user = \"deploy\"\n      sudo = true\n    }\n  }\n")
		}
		hosts.WriteString("}\n")
	}
	text := fmt.Sprintf(sshDescription, strataBin, c.ClientKey, hosts.String())
	if err := os.WriteFile(config, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// systemctl runs systemctl on h and returns its trimmed output, whatever
// its exit status (is-active and friends exit non-zero to answer "no").
func systemctl(t *testing.T, c *testhost.Cluster, h *testhost.Host, args ...string) string {
	t.Helper()
	out, _ := c.Exec(context.Background(), h, append([]string{"systemctl"}, args...)...)
	// Exec's error text repeats the output; the output alone answers.
	return strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
}

// waitUnitRunning waits until the monitor's unit is active with a main
// process other than old (0: any) that holds the monitor's lock, and
// returns that process's pid (in h's PID namespace).
func waitUnitRunning(t *testing.T, c *testhost.Cluster, h *testhost.Host, unit string, old int) int {
	t.Helper()
	var last string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		active := systemctl(t, c, h, "is-active", unit)
		pid, _ := strconv.Atoi(systemctl(t, c, h, "show", "-p", "MainPID", "--value", unit))
		last = fmt.Sprintf("%s, main pid %d", active, pid)
		if active == "active" && pid != 0 && pid != old && hostMonitor(t, c, h).Running {
			return pid
		}
	}
	status, _ := c.Exec(context.Background(), h, "systemctl", "status", "--no-pager", unit)
	t.Fatalf("%s on %s: %s after 60s (previous main pid %d)\n%s", unit, h.Name, last, old, status)
	return 0
}

// waitServers waits until h's monitor runs n servers.
func waitServers(t *testing.T, c *testhost.Cluster, h *testhost.Host, n int) {
	t.Helper()
	var st monitorStatus
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		st = hostMonitor(t, c, h)
		running := 0
		for _, p := range st.Processes {
			if p.Status == "running" {
				running++
			}
		}
		if st.Running && running == n {
			return
		}
	}
	t.Fatalf("%s's monitor: %+v after 60s, want %d servers running", h.Name, st, n)
}

// hostMonitor is `strata monitor status` of h's monitor, read on h.
func hostMonitor(t *testing.T, c *testhost.Cluster, h *testhost.Host) monitorStatus {
	t.Helper()
	// Its JSON alone: it also says on stderr, exiting 1, that a monitor
	// is not running, as one restarted by systemd is for a moment.
	out, err := c.Exec(context.Background(), h, "sh", "-c",
		"/opt/strata/releases/dev/strata monitor status --json --conffile /etc/strata/strata.conf 2>/dev/null || true")
	var st monitorStatus
	if jerr := json.Unmarshal(out, &st); jerr != nil {
		t.Fatalf("%s: monitor status: %v %v: %s", h.Name, err, jerr, out)
	}
	return st
}

// checkHealthy reads the cluster's status through the cluster file apply
// wrote on the first host.
func checkHealthy(t *testing.T, c *testhost.Cluster, dir string, processes int) {
	t.Helper()
	cf, err := c.Exec(context.Background(), c.Hosts[0], "cat", "/etc/strata/strata.cluster")
	if err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(dir, "strata.cluster")
	if err := os.WriteFile(local, cf, 0o644); err != nil {
		t.Fatal(err)
	}
	var cl *status.Cluster
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		r := mustRun(t, dir, "status", "--json", "-C", local)
		st, err := status.Parse([]byte(r.stdout))
		if err != nil {
			t.Fatalf("status: %v\n%s", err, r)
		}
		cl = st.Cluster
		if cl != nil && cl.Data.State.Healthy && cl.DatabaseAvailable && len(cl.Processes) == processes {
			return
		}
		if time.Now().After(deadline) {
			break
		}
	}
	if cl == nil {
		t.Fatal("status has no cluster section")
	}
	t.Fatalf("status: data %s, available %v, recovery %s, %d processes (want %d)",
		cl.Data.State.Name, cl.DatabaseAvailable, cl.RecoveryState.Name, len(cl.Processes), processes)
}

// strataProcesses lists h's processes running a strata release (those
// in its network namespace, which holds a systemd host's PID namespace).
func strataProcesses(t *testing.T, h *testhost.Host) []string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "pids", h.Namespace).Output()
	if err != nil {
		t.Fatalf("%s: ip netns pids: %v", h.Name, err)
	}
	var procs []string
	for _, pid := range strings.Fields(string(out)) {
		cmdline, err := os.ReadFile(filepath.Join("/proc", pid, "cmdline"))
		if err == nil && strings.Contains(string(cmdline), "/opt/strata/") {
			procs = append(procs, pid+": "+strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
	}
	return procs
}
