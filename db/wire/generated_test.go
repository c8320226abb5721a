package wire

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

// protocVersionLine is the one line of generated code that depends on the
// protoc installed rather than on the sources and the pinned plugin.
var protocVersionLine = regexp.MustCompile(`(?m)^//\s+protoc\s+v.*\n`)

// TestGeneratedCodeIsCurrent regenerates the .pb.go files the way `make
// proto` does and compares them with the committed ones.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	protoc, err := exec.LookPath("protoc")
	if err != nil {
		t.Skip("protoc is missing (apt-get install protobuf-compiler); cannot check that messages.pb.go is current")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command is missing; cannot build protoc-gen-go")
	}
	if testing.Short() {
		t.Skip("builds protoc-gen-go; skipped in -short mode")
	}
	tmp := t.TempDir()
	plugin := filepath.Join(tmp, "protoc-gen-go")
	build := exec.Command(goCmd, "build", "-o", plugin, "google.golang.org/protobuf/cmd/protoc-gen-go")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the pinned protoc-gen-go: %v\n%s", err, out)
	}
	protos, err := filepath.Glob("*.proto")
	if err != nil || len(protos) == 0 {
		t.Fatalf("no .proto files found (error %v)", err)
	}
	args := []string{"--plugin=protoc-gen-go=" + plugin, "-I", ".", "--go_out=" + tmp, "--go_opt=paths=source_relative"}
	for _, p := range protos {
		args = append(args, filepath.Join("db", "wire", p))
	}
	gen := exec.Command(protoc, args...)
	gen.Dir = filepath.Join("..", "..") // the module root, as in the Makefile
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("protoc %v: %v\n%s", args, err, out)
	}
	for _, p := range protos {
		name := p[:len(p)-len(".proto")] + ".pb.go"
		want, err := os.ReadFile(filepath.Join(tmp, "db", "wire", name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatalf("committed generated code: %v", err)
		}
		if !bytes.Equal(protocVersionLine.ReplaceAll(got, nil), protocVersionLine.ReplaceAll(want, nil)) {
			t.Errorf("%s is out of date with %s: run `make proto` and commit the result", name, p)
		}
	}
}
