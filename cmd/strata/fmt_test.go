package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const unformatted = "host \"a\" {\naddress=\"10.0.0.1\"\n}\n"
const formatted = "host \"a\" {\n  address = \"10.0.0.1\"\n}\n"

func TestFmtCheckWriteAndStdin(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.hcl")
	if err := os.WriteFile(path, []byte(unformatted), 0o600); err != nil {
		t.Fatal(err)
	}

	out, _, code := run(t, "", "fmt", "-check", "-diff", dir)
	if code != fmtCheckFailed {
		t.Errorf("-check on an unformatted file: exit %d, want %d", code, fmtCheckFailed)
	}
	if !strings.Contains(out, path+"\n") || !strings.Contains(out, "+  address = \"10.0.0.1\"") {
		t.Errorf("-check -diff output:\n%s", out)
	}
	if got, _ := os.ReadFile(path); string(got) != unformatted {
		t.Errorf("-check changed the file")
	}

	if _, errOut, code := run(t, "", "fmt", path); code != 0 {
		t.Fatalf("fmt: exit %d\n%s", code, errOut)
	}
	got, _ := os.ReadFile(path)
	if string(got) != formatted {
		t.Errorf("formatted file = %q, want %q", got, formatted)
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", info.Mode().Perm())
	}
	if out, _, code := run(t, "", "fmt", "-check", path); code != 0 || out != "" {
		t.Errorf("-check on a formatted file: exit %d, output %q", code, out)
	}

	out, _, code = run(t, unformatted, "fmt", "-")
	if code != 0 || out != formatted {
		t.Errorf("stdin: exit %d, output %q", code, out)
	}
}

func TestFmtSyntaxError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.hcl")
	if err := os.WriteFile(path, []byte("host \"a\" {\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := run(t, "", "fmt", "-check", path)
	if code != 1 || !strings.Contains(errOut, "bad.hcl line 1") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
	if _, _, code := run(t, "", "fmt", filepath.Join(t.TempDir(), "missing.hcl")); code != 1 {
		t.Errorf("missing file: exit %d, want 1", code)
	}
}
