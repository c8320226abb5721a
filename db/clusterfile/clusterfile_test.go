package clusterfile_test

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/strata-db/strata/db/clusterfile"
)

// header returns what follows prefix on the file's first line: the
// expectation a testdata file states about itself.
func header(t *testing.T, path, prefix string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	want, ok := strings.CutPrefix(first, prefix)
	if !ok {
		t.Fatalf("%s: first line %q does not start with %q", path, first, prefix)
	}
	return want
}

func files(t *testing.T, dir string) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", dir, "*.cluster"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no testdata in %s: %v", dir, err)
	}
	return paths
}

func TestGoodFilesParseToTheirCanonicalForm(t *testing.T) {
	for _, path := range files(t, "good") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			want := header(t, path, "# want: ")
			cf, err := clusterfile.Read(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := cf.String(); got != want {
				t.Fatalf("formatted as %q, want %q", got, want)
			}
			again, err := clusterfile.Parse(cf.String())
			if err != nil {
				t.Fatalf("canonical form does not parse: %v", err)
			}
			if diff := cmp.Diff(cf, again); diff != "" {
				t.Fatalf("round trip changed the file (-first +second):\n%s", diff)
			}
		})
	}
}

func TestBadFilesAreRefusedSayingWhatIsWrong(t *testing.T) {
	for _, path := range files(t, "bad") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			want := header(t, path, "# error: ")
			_, err := clusterfile.Read(path)
			if err == nil {
				t.Fatal("accepted")
			}
			if got, wantFull := err.Error(), "cluster file "+path+": "+want; got != wantFull {
				t.Fatalf("error\n got %s\nwant %s", got, wantFull)
			}
			if !errors.Is(err, clusterfile.ErrInvalid) {
				t.Fatalf("error %v does not match ErrInvalid", err)
			}
		})
	}
}

func TestParsedFields(t *testing.T) {
	cf, err := clusterfile.Parse("db:Ab3@[2001:db8::1]:4500,coord.example:4501,10.1.2.3:4502")
	if err != nil {
		t.Fatal(err)
	}
	want := clusterfile.ClusterFile{Description: "db", ID: "Ab3", Coordinators: []clusterfile.Coordinator{
		{Host: "2001:db8::1", Port: 4500}, {Host: "coord.example", Port: 4501}, {Host: "10.1.2.3", Port: 4502},
	}}
	if diff := cmp.Diff(want, cf); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	if cf.Key() != "db:Ab3" {
		t.Fatalf("key %q", cf.Key())
	}
	if got := cf.Addresses(); !cmp.Equal(got, []string{"[2001:db8::1]:4500", "coord.example:4501", "10.1.2.3:4502"}) {
		t.Fatalf("addresses %q", got)
	}
	hostnames := []bool{cf.Coordinators[0].IsHostname(), cf.Coordinators[1].IsHostname(), cf.Coordinators[2].IsHostname()}
	if !cmp.Equal(hostnames, []bool{false, true, false}) {
		t.Fatalf("IsHostname %v", hostnames)
	}
}

func TestReadMissingFileIsNotInvalid(t *testing.T) {
	_, err := clusterfile.Read(filepath.Join(t.TempDir(), "none.cluster"))
	if err == nil || !errors.Is(err, os.ErrNotExist) || errors.Is(err, clusterfile.ErrInvalid) {
		t.Fatalf("error %v: want a not-exist error, not a parse error", err)
	}
}

func TestReadRefusesHugeFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.cluster")
	if err := os.WriteFile(path, []byte("db:abc@10.0.0.1:4500\n#"+strings.Repeat("x", 70<<10)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := clusterfile.Read(path); !errors.Is(err, clusterfile.ErrInvalid) {
		t.Fatalf("error %v, want invalid", err)
	}
}

func TestLookupOrder(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv(clusterfile.EnvVar, "")

	check := func(flag, wantPath, wantSource string) {
		t.Helper()
		path, source := clusterfile.Lookup(flag)
		if path != wantPath || source != wantSource {
			t.Fatalf("Lookup(%q) = %q from %s, want %q from %s", flag, path, source, wantPath, wantSource)
		}
	}
	check("", clusterfile.DefaultPath, clusterfile.SourceDefault)

	local := filepath.Join(dir, clusterfile.LocalName)
	if err := os.WriteFile(local, []byte("db:abc@10.0.0.1:4500\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	check("", local, clusterfile.SourceWorkDir)

	// An environment variable wins over the working directory even when
	// it names a missing file: no silent fallback.
	t.Setenv(clusterfile.EnvVar, "/nowhere/env.cluster")
	check("", "/nowhere/env.cluster", clusterfile.SourceEnv)

	check("/from/flag.cluster", "/from/flag.cluster", clusterfile.SourceFlag)
}

func TestWriteAtomicReplacesKeepingMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "strata.cluster")
	if err := os.WriteFile(path, []byte("# old\nold:abc@10.0.0.1:4500\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cf, err := clusterfile.Parse("new:xyz@10.0.0.1:4500,[::1]:4501,coord:4502")
	if err != nil {
		t.Fatal(err)
	}
	if err := clusterfile.WriteAtomic(path, cf); err != nil {
		t.Fatal(err)
	}
	got, err := clusterfile.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(cf, got); diff != "" {
		t.Fatalf("(-wrote +read):\n%s", diff)
	}
	b, _ := os.ReadFile(path)
	if string(b) != cf.String()+"\n" {
		t.Fatalf("file holds %q", b)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want the old file's 0600", st.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want only the cluster file (no temporary left)", len(entries))
	}
}

func TestWriteAtomicNewFileAndRefusals(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "fresh.cluster")
	cf := clusterfile.ClusterFile{Description: "db", ID: "abc", Coordinators: []clusterfile.Coordinator{{Host: "10.0.0.1", Port: 4500}}}
	if err := clusterfile.WriteAtomic(path, cf); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
		t.Fatalf("new file: %v %v, want mode 0644", st, err)
	}
	bad := cf
	bad.ID = "not-alnum"
	if err := clusterfile.WriteAtomic(path, bad); !errors.Is(err, clusterfile.ErrInvalid) {
		t.Fatalf("writing an invalid cluster file: %v, want refused as invalid", err)
	}
	if got, _ := clusterfile.Read(path); got.String() != cf.String() {
		t.Fatalf("refused write changed the file to %q", got)
	}
	if err := clusterfile.WriteAtomic(filepath.Join(dir, "missing-dir", "x.cluster"), cf); err == nil {
		t.Fatal("writing into a missing directory succeeded")
	}
}

func TestNewIDIsValidAndVaries(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	seen := map[string]bool{}
	for range 100 {
		id := clusterfile.NewID(r)
		if len(id) != 8 {
			t.Fatalf("ID %q: want 8 characters", id)
		}
		if _, err := clusterfile.Parse("db:" + id + "@10.0.0.1:4500"); err != nil {
			t.Fatalf("ID %q does not parse: %v", id, err)
		}
		seen[id] = true
	}
	if len(seen) < 100 {
		t.Fatalf("only %d distinct IDs in 100", len(seen))
	}
}

func TestValidateKey(t *testing.T) {
	for key, ok := range map[string]bool{"db:abc": true, "my_db:X9": true, "db": false, "db:a:b": false, "d-b:abc": false, "db:": false, ":abc": false} {
		if err := clusterfile.ValidateKey(key); (err == nil) != ok {
			t.Errorf("ValidateKey(%q) = %v, want ok=%v", key, err, ok)
		}
	}
}
