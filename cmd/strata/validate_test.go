package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run executes the strata command tree with args and returns stdout,
// stderr and the exit status main would use.
func run(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	root := newRootCommand()
	var out, errOut bytes.Buffer
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetIn(strings.NewReader(stdin))
	code := 0
	if err := root.Execute(); err != nil {
		code = exitCode(err)
		var ee *exitError
		if !errors.As(err, &ee) {
			errOut.WriteString(err.Error())
		}
	}
	return out.String(), errOut.String(), code
}

func TestValidateLocalConfig(t *testing.T) {
	out, errOut, code := run(t, "", "validate", "../../configs/local.hcl")
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	want := `../../configs/local.hcl is valid: cluster "local", double redundancy, 3 hosts, 9 processes, coordinators local-z1:4500 local-z2:4510 local-z3:4520.` + "\n"
	if out != want {
		t.Errorf("stdout = %q, want %q", out, want)
	}
}

func TestValidateReportsErrorsWithSource(t *testing.T) {
	_, errOut, code := run(t, "", "validate", "-no-color", "-var", "redundancy=triple", "../../configs/local.hcl")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{
		"Error: Too few zones for coordinators",
		"on ../../configs/local.hcl line 39, in cluster \"local\":",
		"39:   redundancy     = var.redundancy",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
}

func TestValidateJSON(t *testing.T) {
	dir := t.TempDir()
	vars := filepath.Join(dir, "vars.hcl")
	if err := os.WriteFile(vars, []byte("root = \"relative\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, code := run(t, "", "validate", "-json", "-var-file", vars, "../../configs/local.hcl")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	var rep struct {
		Valid       bool `json:"valid"`
		ErrorCount  int  `json:"error_count"`
		Diagnostics []struct {
			Summary string `json:"summary"`
			Detail  string `json:"detail"`
			Range   struct {
				Filename string `json:"filename"`
			} `json:"range"`
		} `json:"diagnostics"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out)
	}
	if rep.Valid || rep.ErrorCount != 1 || rep.Diagnostics[0].Range.Filename != vars ||
		!strings.HasPrefix(rep.Diagnostics[0].Detail, "The root must be an absolute path.") {
		t.Errorf("report = %+v", rep)
	}
}

func TestValidateUsage(t *testing.T) {
	if _, _, code := run(t, "", "validate"); code != 1 {
		t.Errorf("no CONFIG: exit %d, want 1", code)
	}
	if _, _, code := run(t, "", "validate", "-bogus", "x.hcl"); code != 1 {
		t.Errorf("unknown flag: exit %d, want 1", code)
	}
	if _, errOut, code := run(t, "", "validate", "-h"); code != 0 || !strings.Contains(errOut, "-var-file") {
		t.Errorf("-h: exit %d, stderr:\n%s", code, errOut)
	}
}
