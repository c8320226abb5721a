package apply

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strata-db/strata/db/monitor/conf"
	"github.com/strata-db/strata/deployer/event"
	"github.com/strata-db/strata/deployer/plan"
	"github.com/strata-db/strata/deployer/state"
)

// localHost runs on this machine: the test's stand-in for a remote host.
type localHost struct{ name string }

type exitErr struct {
	code   int
	stderr string
}

func (e *exitErr) Error() string   { return fmt.Sprintf("exit status %d: %s", e.code, e.stderr) }
func (e *exitErr) ExitStatus() int { return e.code }

func (h localHost) Name() string { return h.name }

func (h localHost) Exec(ctx context.Context, cmd string, _ bool) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	c := exec.CommandContext(ctx, "/bin/sh", "-c", cmd)
	c.Stdout, c.Stderr = &stdout, &stderr
	err := c.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return stdout.Bytes(), &exitErr{code: ee.ExitCode(), stderr: stderr.String()}
	}
	return stdout.Bytes(), err
}

func (h localHost) Stream(ctx context.Context, cmd string, _ bool, stdin io.Reader, stdout io.Writer) error {
	var stderr bytes.Buffer
	c := exec.CommandContext(ctx, "/bin/sh", "-c", cmd)
	c.Stdin, c.Stdout, c.Stderr = stdin, stdout, &stderr
	c.WaitDelay = time.Second
	err := c.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return &exitErr{code: ee.ExitCode(), stderr: stderr.String()}
	}
	return err
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// buildStrata builds the strata binary the hosts run (its monitor and
// monitor status commands are what apply drives).
func buildStrata(t *testing.T) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "strata")
	cmd := exec.Command("go", "build", "-o", out, "github.com/strata-db/strata/cmd/strata")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building strata: %v\n%s", err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// desiredHost lays out one local host whose "server" processes are shells
// that sleep: apply's mechanics do not depend on what the processes are.
func desiredHost(t *testing.T, root, name string, binary []byte, ports map[int]string) plan.DesiredHost {
	t.Helper()
	h := plan.DesiredHost{
		Name: name, Address: "127.0.0.1", Transport: "local",
		Release:      plan.DesiredRelease{Version: "test", Path: filepath.Join(root, "opt", "strata"), SHA256: digest(binary)},
		MonitorState: filepath.Join(root, "data", "monitor.json"),
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[monitor]\nrestart-delay = 1\nstate-file = %s\noutput-dir = %s\n\n[server]\ncommand = /bin/sh -c 'exec sleep 3600'\n",
		h.MonitorState, filepath.Join(root, "log"))
	for _, port := range sortedPorts(ports) {
		fmt.Fprintf(&b, "\n[server.%d]\nclass = %s\n", port, ports[port])
	}
	confPath := filepath.Join(root, "etc", "strata.conf")
	parsed, err := conf.Parse(confPath, []byte(b.String()), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range parsed.Processes {
		var port int
		fmt.Sscan(p.ID, &port)
		h.Processes = append(h.Processes, plan.DesiredProcess{ID: name + ":" + p.ID, Port: port, Class: ports[port], LaunchDigest: p.Digest()})
	}
	h.Conf = plan.DesiredFile{Path: confPath, SHA256: digest([]byte(b.String())), Content: []byte(b.String())}
	cf := []byte("test:abc@127.0.0.1:4500\n")
	h.Cluster = plan.DesiredFile{Path: filepath.Join(root, "etc", "strata.cluster"), SHA256: digest(cf), Content: cf}
	return h
}

func sortedPorts(m map[int]string) []int {
	var out []int
	for p := range m {
		out = append(out, p)
	}
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func stopMonitor(t *testing.T, h plan.DesiredHost) {
	pid, err := os.ReadFile(filepath.Join(filepath.Dir(h.MonitorState), "monitor.pid"))
	if err == nil {
		exec.Command("kill", strings.TrimSpace(string(pid))).Run()
	}
	time.Sleep(200 * time.Millisecond)
}

func TestApplyConvergesAndSecondPlanIsEmpty(t *testing.T) {
	if testing.Short() {
		t.Skip("builds strata and runs real monitors")
	}
	binary := buildStrata(t)
	root := t.TempDir()
	dh := desiredHost(t, filepath.Join(root, "h1"), "h1", binary, map[int]string{4500: "storage", 4501: "log"})
	d := &plan.Desired{Cluster: "test", Database: plan.DesiredDatabase{Redundancy: "single", StorageEngine: "memory"}, Hosts: []plan.DesiredHost{dh}}
	t.Cleanup(func() { stopMonitor(t, dh) })
	hosts := map[string]Host{"h1": localHost{"h1"}}
	ctx := context.Background()

	st, _ := state.New("test")
	statePath := filepath.Join(root, "strata.state")
	journal, err := state.OpenJournal(filepath.Join(root, "journal"))
	if err != nil {
		t.Fatal(err)
	}
	defer journal.Close()
	var events bytes.Buffer
	configured := 0
	opts := Options{
		Release: func() (io.ReadCloser, int64, error) {
			return io.NopCloser(bytes.NewReader(binary)), int64(len(binary)), nil
		},
		Events:      event.NewLines(&events),
		Journal:     journal,
		RunID:       "run1",
		State:       st,
		StatePath:   statePath,
		WaitTimeout: 20 * time.Second,
		Configure:   func(context.Context, plan.DesiredDatabase, plan.Change) error { configured++; return nil },
	}

	p, err := plan.Make(d, Refresh(ctx, d, hosts, 4), st)
	if err != nil {
		t.Fatal(err)
	}
	if add, _, _, _ := p.Counts(); add != 7 { // release, conf, cluster file, monitor, 2 processes, database
		var b strings.Builder
		p.WriteHuman(&b)
		t.Fatalf("fresh plan adds %d, want 7:\n%s", add, b.String())
	}
	if err := Apply(ctx, p, d, hosts, opts); err != nil {
		t.Fatalf("apply: %v\nevents:\n%s", err, events.String())
	}
	if configured != 1 {
		t.Fatalf("database configured %d times, want 1", configured)
	}

	// The hosts now run what was asked: a second plan is empty.
	loaded, err := state.Load(statePath)
	if err != nil {
		t.Fatal(err)
	}
	o := Refresh(ctx, d, hosts, 4)
	o.Database = &plan.ObservedDatabase{Configured: true, Redundancy: "single", StorageEngine: "memory"}
	p2, err := plan.Make(d, o, loaded)
	if err != nil {
		t.Fatal(err)
	}
	if !p2.Empty() {
		var b strings.Builder
		p2.WriteHuman(&b)
		t.Fatalf("second plan is not empty:\n%s", b.String())
	}
	entries, err := state.ReadJournal(filepath.Join(root, "journal"))
	if err != nil {
		t.Fatal(err)
	}
	if un := state.Unfinished(entries); len(un) != 0 {
		t.Fatalf("journal shows unfinished steps after a clean apply: %+v", un)
	}

	// Change one process's class: only that process restarts.
	before := o.Hosts["h1"].Processes
	dh2 := desiredHost(t, filepath.Join(root, "h1"), "h1", binary, map[int]string{4500: "storage", 4501: "stateless"})
	d2 := &plan.Desired{Cluster: "test", Database: d.Database, Hosts: []plan.DesiredHost{dh2}}
	o2 := Refresh(ctx, d2, hosts, 4)
	o2.Database = o.Database
	p3, err := plan.Make(d2, o2, loaded)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	p3.WriteHuman(&b)
	if _, change, _, restart := p3.Counts(); change != 1 || restart != 1 || !strings.Contains(b.String(), "process.h1:4501") {
		t.Fatalf("class change plan:\n%s", b.String())
	}
	opts.RunID = "run2"
	opts.State = loaded
	if err := Apply(ctx, p3, d2, hosts, opts); err != nil {
		t.Fatalf("second apply: %v\n%s", err, events.String())
	}
	after := Refresh(ctx, d2, hosts, 4).Hosts["h1"].Processes
	if after["4500"].PID != before["4500"].PID {
		t.Fatalf("process 4500 was restarted (pid %d -> %d) though its launch did not change", before["4500"].PID, after["4500"].PID)
	}
	if after["4501"].PID == before["4501"].PID {
		t.Fatal("process 4501 was not restarted after its class changed")
	}
}

// Refresh trusts the release digest cached beside the binary only while the
// binary's size, mtime and inode are unchanged.
func TestRefreshUsesTheReleaseDigestCacheOnlyWhileTheFileIsUnchanged(t *testing.T) {
	root := t.TempDir()
	release := filepath.Join(root, "strata")
	if err := os.WriteFile(release, []byte("binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	h := localHost{"h1"}
	ctx := context.Background()
	key, err := h.Exec(ctx, statKeyCommand(release), false)
	if err != nil {
		t.Fatal(err)
	}
	// A cache entry that disagrees with the content shows whether the cache
	// or a fresh hash answered.
	if err := os.WriteFile(digestCachePath(release), []byte("cached "+strings.TrimSpace(string(key))+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := &plan.Desired{Hosts: []plan.DesiredHost{{Name: "h1",
		Release: plan.DesiredRelease{Path: release},
		Conf:    plan.DesiredFile{Path: filepath.Join(root, "conf")}, Cluster: plan.DesiredFile{Path: filepath.Join(root, "cluster")}}}}
	hosts := map[string]Host{"h1": h}
	if got := Refresh(ctx, d, hosts, 1).Hosts["h1"]; got.Error != "" || got.ReleaseSHA256 != "cached" {
		t.Fatalf("unchanged release: digest %q (error %q), want the cached one", got.ReleaseSHA256, got.Error)
	}
	if err := os.WriteFile(release, []byte("binary, changed by hand"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := Refresh(ctx, d, hosts, 1).Hosts["h1"]; got.ReleaseSHA256 != digest([]byte("binary, changed by hand")) {
		t.Fatalf("changed release: digest %q, want a fresh hash", got.ReleaseSHA256)
	}
}
