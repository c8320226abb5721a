// Package e2e_test drives the deployer's commands (strata plan, apply,
// destroy) as an operator does, against local hosts and test hosts over SSH.
package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/strata-db/strata/deployer/apply"
	"github.com/strata-db/strata/test/e2e/testhost"
)

// strataBin is the strata binary under test, built once.
var strataBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "strata-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	strataBin = filepath.Join(dir, "strata")
	// Built as `make build` builds a release (stripped, without local
	// paths): the deployer benchmarks upload this binary as the release.
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", strataBin, "github.com/strata-db/strata/cmd/strata")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building strata: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is one finished strata command.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", r.code, r.stdout, r.stderr)
}

// strata runs the binary in dir with HOME set to a private directory, so
// no ssh_config, agent or known_hosts of this machine is used.
func strata(t testing.TB, dir, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, strataBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+filepath.Join(dir, "home"), "SSH_AUTH_SOCK=")
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("strata %v: %v", args, err)
	}
	return r
}

func mustRun(t testing.TB, dir string, args ...string) result {
	t.Helper()
	r := strata(t, dir, "", args...)
	if r.code != 0 {
		t.Fatalf("strata %s: %s", strings.Join(args, " "), r)
	}
	return r
}

// freePortBase finds n consecutive free ports whose +1000 status ports are
// free too.
func freePortBase(t *testing.T, n int) int {
	t.Helper()
	for range 50 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		base := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if base+n+1000 > 65535 {
			continue
		}
		ok := true
		for p := base; p < base+n && ok; p++ {
			for _, q := range []int{p, p + 1000} {
				l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(q))
				if err != nil {
					ok = false
					break
				}
				l.Close()
			}
		}
		if ok {
			return base
		}
	}
	t.Fatal("no free port range")
	return 0
}

const localDescription = `
variable "class2" {
  type    = string
  default = "stateless"
}

cluster "e2e" {
  redundancy = "single"
}

release "dev" {
  source = "local_binary"
}

paths {
  install = "%[1]s/opt"
}

host "local1" {
  transport = "local"
  processes = { storage = 1, stateless = 1 }
  overrides {
    port_base = %[2]d
    paths {
      conf = "%[1]s/local1/etc"
      data = "%[1]s/local1/data"
      log  = "%[1]s/local1/log"
    }
  }
}

host "local2" {
  transport = "local"
  processes = { storage = 1, (var.class2) = 1 }
  overrides {
    port_base = %[3]d
    paths {
      conf = "%[1]s/local2/etc"
      data = "%[1]s/local2/data"
      log  = "%[1]s/local2/log"
    }
  }
}
`

// monitorStatus is the part of `strata monitor status --json` checked here.
type monitorStatus struct {
	Running   bool `json:"running"`
	Processes []struct {
		ID     string `json:"id"`
		PID    int    `json:"pid"`
		Status string `json:"status"`
	} `json:"processes"`
}

func readMonitor(t *testing.T, binary, conf string) monitorStatus {
	t.Helper()
	out, err := exec.Command(binary, "monitor", "status", "--json", "--conffile", conf).Output()
	var st monitorStatus
	if jerr := json.Unmarshal(out, &st); jerr != nil {
		t.Fatalf("monitor status of %s: %v %v: %s", conf, err, jerr, out)
	}
	return st
}

// pidsOf maps process ID (port) to pid, failing unless every process runs.
func pidsOf(t testing.TB, st monitorStatus) map[string]int {
	t.Helper()
	if !st.Running {
		t.Fatal("the monitor is not running")
	}
	out := map[string]int{}
	for _, p := range st.Processes {
		if p.Status != "running" {
			t.Fatalf("process %s is %s", p.ID, p.Status)
		}
		out[p.ID] = p.PID
	}
	return out
}

// processesUnder lists the live processes whose command line mentions dir.
func processesUnder(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(cmdline, []byte(dir)) {
			out = append(out, e.Name()+": "+string(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '})))
		}
	}
	return out
}

// cleanUp destroys what a failed test left running, and kills by pid
// whatever of this test still runs after that (a monitor left behind would
// restart its servers forever).
func cleanUp(t *testing.T, dir, root, config string) {
	if len(processesUnder(t, root)) == 0 {
		return
	}
	strata(t, dir, "", "destroy", "-auto-approve", "-purge-data", config)
	for _, p := range processesUnder(t, root) {
		pid, _, _ := strings.Cut(p, ":")
		if n, err := strconv.Atoi(pid); err == nil {
			syscall.Kill(n, syscall.SIGKILL)
		}
	}
}

func mustReadFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// filesUnder lists the regular files under root, relative to it.
func filesUnder(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return out
}

func TestLocalApplyPlanRestartDestroy(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real monitors and servers")
	}
	dir := t.TempDir()
	root := filepath.Join(dir, "cluster")
	base1, base2 := freePortBase(t, 2), 0
	for base2 == 0 || (base2 >= base1-2 && base2 <= base1+2) {
		base2 = freePortBase(t, 2)
	}
	config := filepath.Join(dir, "e2e.hcl")
	if err := os.WriteFile(config, []byte(fmt.Sprintf(localDescription, root, base1, base2)), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cleanUp(t, dir, root, config) })
	binary := filepath.Join(root, "opt", "releases", "dev", "strata")
	conf1, conf2 := filepath.Join(root, "local1", "etc", "strata.conf"), filepath.Join(root, "local2", "etc", "strata.conf")

	// Anything but "yes" changes nothing.
	if r := strata(t, dir, "no\n", "apply", config); r.code != 1 || !strings.Contains(r.stderr, "cancelled") {
		t.Fatalf("apply answered no: %s", r)
	}
	if files := filesUnder(t, root); len(files) > 0 {
		t.Fatalf("a cancelled apply wrote %v", files)
	}

	// A port another program listens on fails the preflight.
	squatter, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(base1))
	if err != nil {
		t.Fatal(err)
	}
	r := strata(t, dir, "", "plan", config)
	squatter.Close()
	if want := fmt.Sprintf("local1: ports: port %d is already in use", base1); r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Fatalf("plan with a port taken, want %q: %s", want, r)
	}

	// The first apply is of a saved plan, made before any state existed.
	planFile := filepath.Join(dir, "first.plan")
	if r = mustRun(t, dir, "plan", "-out", planFile, config); !strings.Contains(r.stdout, "Plan: 13 to add") {
		t.Fatalf("fresh plan output:\n%s", r)
	}
	if r = mustRun(t, dir, "apply", "-wait-timeout", "30s", planFile); !strings.Contains(r.stdout, "Apply complete! Resources: 13 added") {
		t.Fatalf("apply of the saved plan:\n%s", r)
	}
	if r = strata(t, dir, "", "apply", planFile); r.code != 1 || !strings.Contains(r.stderr, "stale") {
		t.Fatalf("second apply of the same saved plan: %s", r)
	}
	// The cluster file's ID is the state's lineage's first 16 characters.
	var st struct {
		Lineage string `json:"lineage"`
	}
	if err := json.Unmarshal([]byte(mustReadFile(t, filepath.Join(dir, "e2e.state"))), &st); err != nil || len(st.Lineage) < 16 {
		t.Fatalf("state: %v %+v", err, st)
	}
	if cf := mustReadFile(t, filepath.Join(root, "local2", "etc", "strata.cluster")); !strings.HasPrefix(cf, "e2e:"+st.Lineage[:16]+"@") {
		t.Fatalf("cluster file %q does not carry the state's lineage %s", cf, st.Lineage)
	}
	pids1 := pidsOf(t, readMonitor(t, binary, conf1))
	pids2 := pidsOf(t, readMonitor(t, binary, conf2))
	if len(pids1) != 2 || len(pids2) != 2 {
		t.Fatalf("processes after apply: %v and %v, want 2 on each host", pids1, pids2)
	}

	// Nothing changed: the plan is empty, read from the hosts and the
	// database (configured by the apply).
	if r := strata(t, dir, "", "plan", "-detailed-exitcode", config); r.code != 0 || !strings.Contains(r.stdout, "No changes.") {
		t.Fatalf("second plan: %s", r)
	}

	// A class change restarts only that process.
	changed := "class2=log"
	port := strconv.Itoa(base2 + 1)
	r = strata(t, dir, "", "plan", "-detailed-exitcode", "-var", changed, config)
	if r.code != 2 || !strings.Contains(r.stdout, "↻ process.local2:"+port) || !strings.Contains(r.stdout, "1 to restart") {
		t.Fatalf("class change plan: %s", r)
	}
	// -target limits the plan, and says so.
	r = strata(t, dir, "", "plan", "-detailed-exitcode", "-target", "host.local1", "-var", changed, config)
	if r.code != 0 || !strings.Contains(r.stderr, "limits this plan to 0 of 2 changes") {
		t.Fatalf("plan -target host.local1 of a change on local2: %s", r)
	}

	// Another operator's run holds the cluster's lease: apply refuses.
	clusterFile, err := os.ReadFile(filepath.Join(root, "local1", "etc", "strata.cluster"))
	if err != nil {
		t.Fatal(err)
	}
	db := apply.Database{ClusterFile: clusterFile, Timeout: 10 * time.Second}
	ctx := context.Background()
	other := apply.Lease{ID: "other-run", Who: "bob@elsewhere", Op: "apply", Expires: time.Now().Add(time.Minute)}
	if err := db.AcquireLease(ctx, other, time.Now()); err != nil {
		t.Fatal(err)
	}
	if r := strata(t, dir, "", "apply", "-auto-approve", "-var", changed, config); r.code != 1 || !strings.Contains(r.stderr, "leased by bob@elsewhere") {
		t.Fatalf("apply under another run's lease: %s", r)
	}
	if err := db.ReleaseLease(ctx, other.ID); err != nil {
		t.Fatal(err)
	}

	mustRun(t, dir, "apply", "-auto-approve", "-var", changed, config)
	if l, err := db.ReadLease(ctx); err != nil || l != nil {
		t.Errorf("lease after apply: %+v, %v; want it released", l, err)
	}
	after2 := pidsOf(t, readMonitor(t, binary, conf2))
	after1 := pidsOf(t, readMonitor(t, binary, conf1))
	for id, pid := range pids2 {
		switch {
		case id == port && after2[id] == pid:
			t.Errorf("process %s kept pid %d after its class changed", id, pid)
		case id != port && after2[id] != pid:
			t.Errorf("process %s restarted (pid %d -> %d) though it did not change", id, pid, after2[id])
		}
	}
	for id, pid := range pids1 {
		if after1[id] != pid {
			t.Errorf("local1 process %s restarted (pid %d -> %d)", id, pid, after1[id])
		}
	}
	if r := strata(t, dir, "", "plan", "-detailed-exitcode", "-var", changed, config); r.code != 0 {
		t.Fatalf("plan after the class change: %s", r)
	}

	// A conf edited by hand is drift: the plan says so and apply restores it.
	f, err := os.OpenFile(conf1, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, "# edited by hand")
	f.Close()
	if r := strata(t, dir, "", "plan", "-detailed-exitcode", "-var", changed, config); r.code != 2 || !strings.Contains(r.stdout, "~ host.local1.conf") || !strings.Contains(r.stdout, "drift") {
		t.Fatalf("plan after a hand edit: %s", r)
	}
	mustRun(t, dir, "apply", "-auto-approve", "-var", changed, config)
	if r := strata(t, dir, "", "plan", "-detailed-exitcode", "-var", changed, config); r.code != 0 {
		t.Fatalf("plan after restoring the conf: %s", r)
	}

	// Destroy stops everything and removes every file but the data.
	mustRun(t, dir, "destroy", "-auto-approve", "-var", changed, config)
	if procs := processesUnder(t, root); len(procs) > 0 {
		t.Fatalf("processes left after destroy:\n%s", strings.Join(procs, "\n"))
	}
	for _, f := range filesUnder(t, root) {
		// Each server's data lives in <data>/<port>/.
		parts := strings.Split(f, string(filepath.Separator))
		if len(parts) < 4 || parts[1] != "data" {
			t.Errorf("destroy left %s", f)
		}
	}
	if len(filesUnder(t, filepath.Join(root, "local1", "data"))) == 0 {
		t.Error("destroy without -purge-data removed the data")
	}
	mustRun(t, dir, "destroy", "-auto-approve", "-purge-data", "-var", changed, config)
	if files := filesUnder(t, root); len(files) > 0 {
		t.Errorf("destroy -purge-data left %v", files)
	}
}

const sshDescription = `
variable "known_hosts" {
  type = string
}

cluster "ssh_e2e" {
  redundancy = "single"
}

release "dev" {
  source = "file"
  path   = %[1]q
}

ssh {
  user              = "root"
  agent             = false
  private_key_files = [%[2]q]
  known_hosts       = var.known_hosts
}

defaults {
  memory    = "1GiB"
  processes = { storage = 1 }
}
%[3]s`

func writeSSHDescription(t testing.TB, c *testhost.Cluster, config, extra string) {
	t.Helper()
	text := fmt.Sprintf(sshDescription, strataBin, c.ClientKey, sshHosts(c, extra))
	if err := os.WriteFile(config, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func sshHosts(c *testhost.Cluster, extra string) string {
	var b strings.Builder
	for _, h := range c.Hosts {
		fmt.Fprintf(&b, "\nhost %q {\n  address = %q\n}\n", h.Name, h.Address)
	}
	return b.String() + extra
}

func TestSSHApplyToTestHosts(t *testing.T) {
	if testing.Short() {
		t.Skip("makes test hosts")
	}
	c := testhost.New(t, 3)
	dir := t.TempDir()
	config := filepath.Join(dir, "ssh.hcl")
	write := func(extra string) { writeSSHDescription(t, c, config, extra) }
	write("")
	known := "known_hosts=" + c.KnownHosts

	r := mustRun(t, dir, "apply", "-auto-approve", "-connect-timeout", "5s", "-wait-timeout", "30s", "-var", known, config)
	if !strings.Contains(r.stdout, "Apply complete! Resources: 16 added") {
		t.Fatalf("fresh apply:\n%s", r)
	}
	ctx := context.Background()
	for _, h := range c.Hosts {
		out, err := c.Exec(ctx, h, "/opt/strata/releases/dev/strata", "monitor", "status", "--json", "--conffile", "/etc/strata/strata.conf")
		if err != nil {
			t.Fatalf("%s: %v", h.Name, err)
		}
		var st monitorStatus
		if err := json.Unmarshal(out, &st); err != nil {
			t.Fatalf("%s: %v: %s", h.Name, err, out)
		}
		if len(pidsOf(t, st)) != 1 {
			t.Fatalf("%s runs %+v, want one server", h.Name, st)
		}
	}
	if r := strata(t, dir, "", "plan", "-detailed-exitcode", "-var", known, config); r.code != 0 || !strings.Contains(r.stdout, "No changes.") {
		t.Fatalf("no-change plan: %s", r)
	}

	// known_hosts records h2's key for h1: the plan is refused, naming the
	// host and the key it offered.
	wrong := filepath.Join(dir, "wrong_known_hosts")
	var lines strings.Builder
	for i, h := range c.Hosts {
		key := h.HostKey
		if i == 0 {
			key = c.Hosts[1].HostKey
		}
		fmt.Fprintf(&lines, "%s %s", h.Address, ssh.MarshalAuthorizedKey(key))
	}
	if err := os.WriteFile(wrong, []byte(lines.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	r = strata(t, dir, "", "plan", "-connect-timeout", "5s", "-var", "known_hosts="+wrong, config)
	if r.code != 1 {
		t.Fatalf("plan with a wrong host key: %s", r)
	}
	for _, want := range []string{"h1: reachable", "CHANGED", ssh.FingerprintSHA256(c.Hosts[0].HostKey)} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("wrong-key refusal lacks %q:\n%s", want, r)
		}
	}

	// A remote failure names the host and the step, with the remote error.
	h2 := c.Hosts[1]
	if _, err := c.Exec(ctx, h2, "sh", "-c", "rm /etc/strata/strata.conf && mkdir /etc/strata/strata.conf"); err != nil {
		t.Fatal(err)
	}
	r = strata(t, dir, "", "plan", "-var", known, config)
	if r.code != 1 || !strings.Contains(r.stderr, "h2: refresh") || !strings.Contains(r.stderr, "Is a directory") {
		t.Fatalf("plan with a broken host: %s", r)
	}

	// A host nobody answers for fails the plan with its name and step.
	write("\nhost \"gone\" {\n  address = \"127.0.0.1\"\n  port = 1\n}\n")
	r = strata(t, dir, "", "plan", "-connect-timeout", "3s", "-var", known, config)
	if r.code != 1 || !strings.Contains(r.stderr, "gone: reachable") || !strings.Contains(r.stderr, "nothing was changed") {
		t.Fatalf("plan with an unreachable host: %s", r)
	}
}

// TestLocalApplyInterruptedThenResumed interrupts an apply (as Ctrl-C does)
// once monitors are starting: it stops saying so, the journal records the
// cancelled run, and the next apply converges from what the hosts run.
func TestLocalApplyInterruptedThenResumed(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real monitors and servers")
	}
	dir := t.TempDir()
	root := filepath.Join(dir, "cluster")
	base1 := freePortBase(t, 2)
	base2 := freePortBase(t, 2)
	for base2 >= base1-2 && base2 <= base1+2 {
		base2 = freePortBase(t, 2)
	}
	config := filepath.Join(dir, "e2e.hcl")
	if err := os.WriteFile(config, []byte(fmt.Sprintf(localDescription, root, base1, base2)), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cleanUp(t, dir, root, config) })

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, strataBin, "apply", "-auto-approve", config)
	cmd.Dir = dir
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var seen strings.Builder
	sc := bufio.NewScanner(stderr)
	interrupted := false
	for sc.Scan() {
		seen.WriteString(sc.Text() + "\n")
		if !interrupted && strings.Contains(sc.Text(), "started") && strings.Contains(sc.Text(), " monitor ") {
			if err := cmd.Process.Signal(os.Interrupt); err != nil {
				t.Fatal(err)
			}
			interrupted = true
		}
	}
	err = cmd.Wait()
	if !interrupted {
		t.Fatalf("the apply never started a monitor:\n%s%s", stdout.String(), seen.String())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(seen.String(), "interrupted") {
		t.Fatalf("interrupted apply: %v\n%s%s", err, stdout.String(), seen.String())
	}
	journal, err := os.ReadFile(filepath.Join(dir, "e2e.state.journal"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(journal), `"status":"run-cancelled"`) {
		t.Fatalf("the journal does not record the cancelled run:\n%s", journal)
	}

	r := mustRun(t, dir, "apply", "-auto-approve", config)
	if !strings.Contains(r.stdout, "Apply complete!") || strings.Contains(r.stdout, "host.local1.release") {
		t.Fatalf("resumed apply (the release was installed before the interrupt and must not be planned again):\n%s", r)
	}
	if r := strata(t, dir, "", "plan", "-detailed-exitcode", config); r.code != 0 {
		t.Fatalf("plan after the resumed apply: %s", r)
	}
}
