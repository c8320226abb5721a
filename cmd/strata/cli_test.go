package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-db/strata/test/testserver"
)

// TestCLI runs the strata binary: `strata cli --exec` against a real
// `strata server`, and against a cluster file whose coordinator is down.
func TestCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the strata binary and starts a server")
	}
	bin := testserver.Binary(t)
	t.Run("UnreachableCluster", func(t *testing.T) { testCLIUnreachable(t, bin) })
	t.Run("RealServer", func(t *testing.T) { testCLIRealServer(t, bin) })
	t.Run("Management", func(t *testing.T) { testCLIManagement(t, bin) })
}

func writeClusterFile(t *testing.T, dir, address string) string {
	t.Helper()
	path := filepath.Join(dir, "strata.cluster")
	if err := os.WriteFile(path, []byte("test:cli@"+address+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

type cliRun struct {
	stdout, stderr string
	code           int
}

func runCLIBinary(t *testing.T, bin string, args ...string) cliRun {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"cli"}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exitErr *exec.ExitError
	code := 0
	if errors.As(err, &exitErr) {
		code = exitErr.ExitCode()
	} else if err != nil {
		t.Fatalf("running strata cli: %v", err)
	}
	return cliRun{stdout: out.String(), stderr: errOut.String(), code: code}
}

func testCLIUnreachable(t *testing.T, bin string) {
	cf := writeClusterFile(t, t.TempDir(), testserver.FreeAddress(t))
	start := time.Now()
	r := runCLIBinary(t, bin, "-C", cf, "--timeout", "1s", "--exec", "get a")
	if r.code != exitClusterUnreachable {
		t.Errorf("exit status %d, want %d; stderr:\n%s", r.code, exitClusterUnreachable, r.stderr)
	}
	if r.stdout != "" || !strings.Contains(r.stderr, "cannot reach the cluster of "+cf+": the cluster did not answer within 1s") {
		t.Errorf("stdout %q, stderr %q", r.stdout, r.stderr)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("took %v to give up with --timeout 1s", took)
	}
	// A cluster file that is not there is the same: exit 2, saying why.
	missing := filepath.Join(t.TempDir(), "none.cluster")
	r = runCLIBinary(t, bin, "-C", missing, "--exec", "status")
	if r.code != exitClusterUnreachable || !strings.Contains(r.stderr, "none.cluster") {
		t.Errorf("missing cluster file: exit %d, stderr %q", r.code, r.stderr)
	}
}

var committedRE = regexp.MustCompile(`Committed \(([0-9]+)\)`)

func testCLIRealServer(t *testing.T, bin string) {
	cf := testserver.Start(t, bin).ClusterFile
	// The server needs a moment to start listening; the first probes may
	// find nothing there.
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := runCLIBinary(t, bin, "-C", cf, "--exec", "getversion")
		if r.code == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not answer within 30s: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		time.Sleep(200 * time.Millisecond)
	}

	r := runCLIBinary(t, bin, "-C", cf, "--exec", `writemode on; set a b; get a; getrange "" \xff`)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	m := committedRE.FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("no committed version in:\n%s", r.stdout)
	}
	if v, err := strconv.ParseInt(m[1], 10, 64); err != nil || v <= 0 {
		t.Fatalf("committed version %q", m[1])
	}
	want := ">>> writemode on\n" +
		">>> set a b\n" +
		"Committed (" + m[1] + ")\n" +
		">>> get a\n" +
		"`a' is `b'\n" +
		">>> getrange  \\xff\n" +
		"\n" +
		"Range limited to 25 keys\n" +
		"`a' is `b'\n" +
		"\n"
	if diff := cmp.Diff(want, r.stdout); diff != "" {
		t.Errorf("stdout (-want +got):\n%s", diff)
	}

	// A failing command under --exec exits 1 and skips the rest.
	r = runCLIBinary(t, bin, "-C", cf, "--exec", "get a; set x y; get x")
	if r.code != exitCommandFailed {
		t.Errorf("exit %d, want %d", r.code, exitCommandFailed)
	}
	want = ">>> get a\n`a' is `b'\n>>> set x y\nWARNING: the previous command failed, the remaining commands will not be executed.\n"
	if diff := cmp.Diff(want, r.stdout); diff != "" {
		t.Errorf("stdout (-want +got):\n%s", diff)
	}
	if !strings.Contains(r.stderr, "ERROR: writemode must be enabled to set or clear keys in the database.\n") {
		t.Errorf("stderr:\n%s", r.stderr)
	}

	// A transaction's writes, binary keys and tuple keys, read back by a
	// later session.
	r = runCLIBinary(t, bin, "-C", cf, "--exec", `writemode on; begin; set \x02k\x00\x15\x01 "v w"; clear a; commit`)
	if r.code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	r = runCLIBinary(t, bin, "-C", cf, "--exec", `getrange ""`)
	want = "\nRange limited to 25 keys\n`\\x02k\\x00\\x15\\x01' is `v w'  # tuple (\"k\", 1)\n\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("exit %d, stdout %q, want %q; stderr:\n%s", r.code, r.stdout, want, r.stderr)
	}
	// `status json' is the cluster controller's document.
	r = runCLIBinary(t, bin, "-C", cf, "--exec", "status json")
	var doc struct {
		Cluster *struct {
			ConnectionString string `json:"connection_string"`
		} `json:"cluster"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); r.code != 0 || err != nil || doc.Cluster == nil || !strings.Contains(doc.Cluster.ConnectionString, "@") {
		t.Errorf("status json: exit %d, %v, stdout %.200q; stderr:\n%s", r.code, err, r.stdout, r.stderr)
	}
}
