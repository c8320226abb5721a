package spec_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-db/strata/deployer/spec"
)

const precedenceSrc = `
variable "a" {
  default = "default"
}
variable "b" {
  default = "default"
}
variable "c" {
  default = "default"
}
variable "d" {
  default = "default"
}
cluster "t" {
  redundancy  = "single"
  description = join(" ", [var.a, var.b, var.c, var.d])
}
release "1" {
  source = "local_binary"
}
host "h" {
  address   = "10.0.0.1"
  processes = { storage = 1 }
}
`

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Values take precedence default < -var-file (in order) < STRATA_VAR_ <
// -var (in order), as in Terraform.
func TestVariablePrecedence(t *testing.T) {
	dir := t.TempDir()
	first := writeFile(t, dir, "first.hcl", "b = \"file1\"\nc = \"file1\"\nd = \"file1\"\n")
	second := writeFile(t, dir, "second.json", `{"c": "file2", "d": "file2"}`)
	opts := spec.Options{
		VarFiles: []string{first, second},
		Env:      []string{"STRATA_VAR_d=env", "STRATA_VAR_c=env", "STRATA_VAR_unrelated=x", "PATH=/bin"},
		Vars:     []string{"d=cli1", "d=cli2"},
	}
	// c: file2 beaten by env; d: env beaten by the last -var.
	s, _, diags := spec.LoadSource("main.hcl", []byte(precedenceSrc), opts)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if diff := cmp.Diff("default file1 env cli2", s.Cluster.Description); diff != "" {
		t.Errorf("description (-want +got):\n%s", diff)
	}
}

func TestVarFileErrors(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.hcl", "a = \"x\"\nzz = 1\n")
	_, _, diags := spec.LoadSource("main.hcl", []byte(precedenceSrc), spec.Options{VarFiles: []string{bad}})
	if got, want := diags.Error(), bad+":2,1-3: Value for undeclared variable"; !strings.HasPrefix(got, want) {
		t.Errorf("got %q, want prefix %q", got, want)
	}
	_, _, diags = spec.LoadSource("main.hcl", []byte(precedenceSrc), spec.Options{VarFiles: []string{filepath.Join(dir, "missing.hcl")}})
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "Cannot read variables file") {
		t.Errorf("missing var file: got %v", diags)
	}
}

// A typed variable set from the environment parses the text as HCL.
func TestEnvVariableTyped(t *testing.T) {
	src := strings.Replace(precedenceSrc, `variable "a" {
  default = "default"
}`, `variable "a" {
  type = list(string)
  default = ["x"]
}`, 1)
	src = strings.Replace(src, "[var.a,", "[join(\"+\", var.a),", 1)
	s, _, diags := spec.LoadSource("main.hcl", []byte(src), spec.Options{Env: []string{`STRATA_VAR_a=["p", "q"]`}})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if want := "p+q default default default"; s.Cluster.Description != want {
		t.Errorf("got %q, want %q", s.Cluster.Description, want)
	}
}

// file() reads relative to the description's directory, not the working
// directory; Load sets BaseDir from the path.
func TestFileFunctionAndLoad(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "motd.txt", "hello from a file\n")
	path := writeFile(t, dir, "cluster.hcl", `
cluster "t" {
  redundancy  = "single"
  description = chomp(file("motd.txt"))
}
release "1" {
  source = "file"
  path   = "strata.bin"
}
host "h" {
  address   = "10.0.0.1"
  processes = { storage = 1 }
}
`)
	s, sources, diags := spec.Load(path, spec.Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if s.Cluster.Description != "hello from a file" {
		t.Errorf("description = %q", s.Cluster.Description)
	}
	if want := filepath.Join(dir, "strata.bin"); s.Releases[0].Path != want {
		t.Errorf("release path = %q, want %q", s.Releases[0].Path, want)
	}
	if _, ok := sources[path]; !ok {
		t.Errorf("sources lack %s", path)
	}
	if _, _, diags := spec.Load(filepath.Join(dir, "nope.hcl"), spec.Options{}); !diags.HasErrors() {
		t.Error("loading a missing file succeeded")
	}
}

const badSrc = `cluster "t" {
  redundancy = "quadruple"
}
`

func TestWriteDiagnosticsText(t *testing.T) {
	_, sources, diags := spec.LoadSource("bad.hcl", []byte(badSrc), spec.Options{})
	var buf bytes.Buffer
	if err := spec.WriteDiagnostics(&buf, sources, diags, 0, false); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"Error: Unsupported redundancy mode",
		"on bad.hcl line 2, in cluster \"t\":",
		`2:   redundancy = "quadruple"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("colour codes without color:\n%s", out)
	}
}

func TestWriteDiagnosticsJSON(t *testing.T) {
	_, sources, diags := spec.LoadSource("bad.hcl", []byte(badSrc), spec.Options{})
	var buf bytes.Buffer
	if err := spec.WriteDiagnosticsJSON(&buf, sources, diags); err != nil {
		t.Fatal(err)
	}
	var rep spec.JSONReport
	if err := json.Unmarshal(buf.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Valid || rep.ErrorCount != len(diags) || rep.WarningCount != 0 {
		t.Errorf("valid=%t errors=%d warnings=%d for %d diagnostics", rep.Valid, rep.ErrorCount, rep.WarningCount, len(diags))
	}
	want := spec.JSONDiagnostic{
		Severity: "error",
		Summary:  "Unsupported redundancy mode",
		Detail:   `"quadruple" is not a redundancy mode; use one of "single", "double", "triple", "three_data_hall".`,
		Range: &spec.JSONRange{Filename: "bad.hcl",
			Start: spec.JSONPos{Line: 2, Column: 16, Byte: 29},
			End:   spec.JSONPos{Line: 2, Column: 27, Byte: 40}},
		Snippet: &spec.JSONSnippet{Code: `  redundancy = "quadruple"`, StartLine: 2,
			HighlightStartOffset: 15, HighlightEndOffset: 26},
	}
	if diff := cmp.Diff(want, rep.Diagnostics[0]); diff != "" {
		t.Errorf("first diagnostic (-want +got):\n%s", diff)
	}
	empty := spec.NewJSONReport(nil, nil)
	if !empty.Valid || empty.Diagnostics == nil {
		t.Errorf("empty report: %+v", empty)
	}
}

func TestFormat(t *testing.T) {
	got, diags := spec.Format("x.hcl", []byte("host \"a\" {\naddress=\"1\"\n    processes = {storage=1}\n}\n"))
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	want := "host \"a\" {\n  address   = \"1\"\n  processes = { storage = 1 }\n}\n"
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("Format (-want +got):\n%s", diff)
	}
	again, _ := spec.Format("x.hcl", got)
	if !bytes.Equal(again, got) {
		t.Errorf("Format is not idempotent:\n%s", again)
	}
	src := []byte("host \"a\" {\n")
	out, diags := spec.Format("broken.hcl", src)
	if !diags.HasErrors() || !bytes.Equal(out, src) {
		t.Errorf("broken input: diags=%v out=%q", diags, out)
	}
}

// HCL's JSON syntax works for descriptions too, dynamic blocks included.
func TestJSONDescription(t *testing.T) {
	src := `{
  "cluster": {"j": {"redundancy": "single"}},
  "release": {"1": {"source": "local_binary"}},
  "variable": {"n": {"default": 2}},
  "host": {"db1": {"address": "10.0.0.1", "processes": {"storage": "${var.n}"}}}
}`
	s, _, diags := spec.LoadSource("c.json", []byte(src), spec.Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	want := []spec.ProcessCount{{Class: spec.ClassStorage, Count: 2}}
	if diff := cmp.Diff(want, s.Hosts[0].Processes); diff != "" {
		t.Errorf("processes (-want +got):\n%s", diff)
	}
}
