package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-db/strata/db/status"
	"github.com/strata-db/strata/test/testserver"
)

// waitReachable runs getversion until the server at cf answers.
func waitReachable(t *testing.T, bin, cf string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := runCLIBinary(t, bin, "-C", cf, "--exec", "getversion")
		if r.code == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not answer within 30s: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// execOK runs commands and fails the test unless they exit 0.
func execOK(t *testing.T, bin, cf, commands string, flags ...string) string {
	t.Helper()
	r := runCLIBinary(t, bin, append(append([]string{"-C", cf}, flags...), "--exec", commands)...)
	if r.code != 0 {
		t.Fatalf("%q: exit %d\nstdout:\n%s\nstderr:\n%s", commands, r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// execFails runs commands, expects exit 1, and returns stdout and stderr.
func execFails(t *testing.T, bin, cf, commands string, flags ...string) (string, string) {
	t.Helper()
	r := runCLIBinary(t, bin, append(append([]string{"-C", cf}, flags...), "--exec", commands)...)
	if r.code != exitCommandFailed {
		t.Fatalf("%q: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", commands, r.code, exitCommandFailed, r.stdout, r.stderr)
	}
	return r.stdout, r.stderr
}

// generation returns the cluster's current generation from status json.
func generation(t *testing.T, bin, cf string) int64 {
	t.Helper()
	cl, err := clusterStatus(execOK(t, bin, cf, `status json`))
	if err != nil {
		t.Fatal(err)
	}
	return cl.Generation
}

// clusterStatus parses the cluster section of `status json` output.
func clusterStatus(out string) (*status.Cluster, error) {
	var st status.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		return nil, fmt.Errorf("status json: %w", err)
	}
	if st.Cluster == nil {
		return nil, errors.New("status json has no cluster section")
	}
	return st.Cluster, nil
}

// waitGenerationAfter waits until a generation after was is fully
// recovered.
func waitGenerationAfter(t *testing.T, bin, cf string, was int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := runCLIBinary(t, bin, "-C", cf, "--exec", "status json")
		if cl, err := clusterStatus(r.stdout); r.code == 0 && err == nil &&
			cl.Generation > was && cl.RecoveryState.Name == status.RecoveryFullyRecovered {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovered generation after %d within 30s: exit %d\n%s%s", was, r.code, r.stdout, r.stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var lockUIDRE = regexp.MustCompile(`Locking database with lockUID: ([0-9a-f]{32})\n`)

// testCLIManagement runs the management commands against a real single
// server: the keys they write, lock enforcement by the commit proxy, and
// the waits that time out cleanly while nothing acts on exclusions, and a
// coordinators change that completes.
func testCLIManagement(t *testing.T, bin string) {
	srv := testserver.Start(t, bin)
	cf := srv.ClusterFile
	waitReachable(t, bin, cf)
	// The controller lists the process once it has reported.
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(execOK(t, bin, cf, `kill`), "\n"+srv.Address+"\n") {
		if time.Now().After(deadline) {
			t.Fatal("kill never listed the server")
		}
		time.Sleep(200 * time.Millisecond)
	}
	readSystem := func(begin, end string) string {
		return execOK(t, bin, cf, "option on read_system_keys; getrange "+begin+" "+end)
	}

	t.Run("WriteModeAndGetRangeKeys", func(t *testing.T) {
		out := execOK(t, bin, cf, `writemode on; set k1 a; set k2 b; writemode off; getrangekeys k k3`)
		if !strings.HasSuffix(out, ">>> getrangekeys k k3\n\nRange limited to 25 keys\n`k1'\n`k2'\n\n") {
			t.Errorf("stdout:\n%s", out)
		}
		_, stderr := execFails(t, bin, cf, `writemode off; set k3 c`)
		if !strings.Contains(stderr, "ERROR: writemode must be enabled to set or clear keys in the database.") {
			t.Errorf("stderr:\n%s", stderr)
		}
	})

	t.Run("Configure", func(t *testing.T) {
		out := execOK(t, bin, cf, `configure new single ssd`)
		if out != "Database created\n" {
			t.Errorf("configure new: %q", out)
		}
		_, stderr := execFails(t, bin, cf, `configure new single ssd`)
		if !strings.Contains(stderr, "ERROR: Database already exists! To change configuration, don't say `new'") {
			t.Errorf("second configure new: %s", stderr)
		}
		// One process is one zone: double is refused unless FORCE.
		_, stderr = execFails(t, bin, cf, `configure double`)
		if !strings.Contains(stderr, "ERROR: Not enough processes exist to support the specified configuration") {
			t.Errorf("configure double: %s", stderr)
		}
		was := generation(t, bin, cf)
		execOK(t, bin, cf, `configure commit_proxies=2 grv_proxies=1 resolvers=1 logs=3 memory`)
		// The change takes effect in a recovery the controller starts
		// once it sees the new configuration; commits in flight when it
		// locks the logs end with commit_unknown_result, so the next
		// subtests start once it is over.
		waitGenerationAfter(t, bin, cf, was)
		got := readSystem(`\xff/conf/`, `\xff/conf0`)
		want := "\nRange limited to 25 keys\n" +
			"`\\xff/conf/commit_proxies' is `2'\n" +
			"`\\xff/conf/grv_proxies' is `1'\n" +
			"`\\xff/conf/logs' is `3'\n" +
			"`\\xff/conf/redundancy_mode' is `single'\n" +
			"`\\xff/conf/resolvers' is `1'\n" +
			"`\\xff/conf/storage_engine' is `memory'\n\n"
		if diff := cmp.Diff(want, strings.SplitN(got, ">>> getrange", 2)[1][len(` \xff/conf/ \xff/conf0`)+1:]); diff != "" {
			t.Errorf("configuration keys (-want +got):\n%s", diff)
		}
	})

	t.Run("LockUnlock", func(t *testing.T) {
		out := execOK(t, bin, cf, `lock`)
		m := lockUIDRE.FindStringSubmatch(out)
		if m == nil || !strings.HasSuffix(out, "Database locked.\n") {
			t.Fatalf("lock: %q", out)
		}
		// The commit proxy refuses plain commits; lock-aware ones pass.
		_, stderr := execFails(t, bin, cf, `writemode on; set locked x`)
		if !strings.Contains(stderr, "database_locked (1038)") {
			t.Errorf("set while locked: %s", stderr)
		}
		execOK(t, bin, cf, `option on lock_aware; writemode on; set aware x`)
		_, stderr = execFails(t, bin, cf, `unlock 0123456789abcdef0123456789abcdef`)
		if !strings.Contains(stderr, "database_locked (1038)") {
			t.Errorf("unlock with another UID: %s", stderr)
		}
		if out := execOK(t, bin, cf, `unlock `+m[1]); out != "Database unlocked.\n" {
			t.Errorf("unlock: %q", out)
		}
		execOK(t, bin, cf, `writemode on; set unlocked x`)
	})

	t.Run("Maintenance", func(t *testing.T) {
		execOK(t, bin, cf, `maintenance on z1 3600`)
		if out := execOK(t, bin, cf, `maintenance`); !strings.HasPrefix(out, "Maintenance for zone z1 will continue for 35") {
			t.Errorf("maintenance: %q", out)
		}
		execOK(t, bin, cf, `maintenance off`)
		if out := execOK(t, bin, cf, `maintenance`); out != "No ongoing maintenance.\n" {
			t.Errorf("maintenance after off: %q", out)
		}
	})

	t.Run("Exclude", func(t *testing.T) {
		// Excluding the only process is refused; FORCE writes the key and
		// waits, but nothing moves the data yet: the wait times out.
		_, stderr := execFails(t, bin, cf, `exclude `+srv.Address)
		if !strings.Contains(stderr, "This exclude would leave no process of the cluster to hold its data.") {
			t.Errorf("exclude: %s", stderr)
		}
		start := time.Now()
		stdout, stderr := execFails(t, bin, cf, `exclude FORCE `+srv.Address, "--wait-timeout", "2s")
		if took := time.Since(start); took > 30*time.Second {
			t.Errorf("the wait took %v with --wait-timeout 2s", took)
		}
		if !strings.HasPrefix(stdout, "Waiting for state to be removed from all excluded servers.") ||
			!strings.Contains(stderr, "ERROR: Data is still on the excluded processes after 2s") ||
			!strings.Contains(stderr, srv.Address+"  ---- WARNING: Exclusion in progress!") ||
			!strings.Contains(stderr, "WARNING: "+srv.Address+" is a coordinator!") {
			t.Errorf("exclude FORCE:\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
		}
		if out := execOK(t, bin, cf, `exclude`); !strings.Contains(out, "There are currently 1 servers or localities being excluded from the database:\n  "+srv.Address+"\n") {
			t.Errorf("exclude list: %q", out)
		}
		if got := readSystem(`\xff/conf/excluded/`, `\xff/conf/excluded0`); !strings.Contains(got, "`\\xff/conf/excluded/"+srv.Address+"' is `'") {
			t.Errorf("exclusion key: %q", got)
		}
		execOK(t, bin, cf, `include all`)
		if out := execOK(t, bin, cf, `exclude`); !strings.HasPrefix(out, "There are currently no servers") {
			t.Errorf("after include all: %q", out)
		}
		// The controller reads the exclusion keys every second; status
		// shows the process included again once it has.
		deadline := time.Now().Add(15 * time.Second)
		for {
			r := runCLIBinary(t, bin, "-C", cf, "--exec", "status json")
			if r.code == 0 && !strings.Contains(r.stdout, `"excluded": true`) && !strings.Contains(r.stdout, `"excluded":true`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("status still shows an exclusion 15s after include all:\n%s", r.stdout)
			}
			time.Sleep(200 * time.Millisecond)
		}
	})

	t.Run("Coordinators", func(t *testing.T) {
		out := execOK(t, bin, cf, `coordinators`)
		if !strings.Contains(out, "Cluster coordinators (1): "+srv.Address+"\n") {
			t.Errorf("coordinators: %q", out)
		}
		if out := execOK(t, bin, cf, `coordinators auto`); out != "No change (existing configuration satisfies request)\n" {
			t.Errorf("coordinators auto: %q", out)
		}
		// A new description is a new connection string: the controller
		// moves the coordinated state to it, and the cluster file the CLI
		// was opened with is rewritten.
		if out := execOK(t, bin, cf, `coordinators `+srv.Address+` description=renamed`); out != "Coordination state changed\n" {
			t.Errorf("coordinators description=renamed: %q", out)
		}
		if got := readSystem(`\xff/coordinators`, `\xff/coordinators\x00`); !strings.Contains(got, "`\\xff/coordinators' is `renamed:") {
			t.Errorf("coordinators key: %q", got)
		}
		if text, err := os.ReadFile(cf); err != nil || !strings.HasPrefix(string(text), "renamed:") {
			t.Errorf("cluster file after the change: %q, %v", text, err)
		}
		if out := execOK(t, bin, cf, `coordinators`); !strings.Contains(out, "Cluster description: renamed\n") {
			t.Errorf("coordinators after the change: %q", out)
		}
		// The controller elected on the new coordinators lists the process
		// again once it has reported.
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(execOK(t, bin, cf, `kill`), "\n"+srv.Address+"\n") {
			if time.Now().After(deadline) {
				t.Fatal("kill never listed the server after the coordinators change")
			}
			time.Sleep(200 * time.Millisecond)
		}
	})

	t.Run("Kill", func(t *testing.T) {
		if out := execOK(t, bin, cf, `kill `+srv.Address); out != "Attempted to kill 1 process\n" {
			t.Errorf("kill: %q", out)
		}
		// The server exits (a monitor would start it again): the cluster
		// becomes unreachable, exit status 2.
		deadline := time.Now().Add(30 * time.Second)
		for {
			r := runCLIBinary(t, bin, "-C", cf, "--timeout", "1s", "--exec", "getversion")
			if r.code == exitClusterUnreachable {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the server still answers after kill: exit %d", r.code)
			}
			time.Sleep(200 * time.Millisecond)
		}
		srv.Restart()
		waitReachable(t, bin, cf)
		if out := execOK(t, bin, cf, `get unlocked`); out != "`unlocked' is `x'\n" {
			t.Errorf("after restart: %q", out)
		}
	})
}
