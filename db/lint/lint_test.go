package lint

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestRepo is the lint itself: it fails, listing file:line:col, while the
// repository breaks an import rule or a role-code ban.
func TestRepo(t *testing.T) {
	root := repoRoot(t)
	module, err := ModulePath(root)
	if err != nil {
		t.Fatal(err)
	}
	found, err := Check(root, module)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range found {
		t.Errorf("%s", v)
	}
	if len(found) > 0 {
		t.Logf("%d violations; the rules and the //lint:allow escape hatch are described in db/lint/doc.go", len(found))
	}
}

// plantedCases name each tree under testdata/planted and the violations it
// holds, as "file:line:col rule".
var plantedCases = []struct {
	tree string
	want []string
}{
	{"import-db-deployer", []string{"db/server/worker/deploy.go:3:8 import-db"}},
	{"import-db-playbooks", []string{"db/cli/playbooks.go:3:8 import-db"}},
	{"import-db-tui", []string{"db/status/view.go:6:7 import-db"}},
	{"import-tui-server", []string{"tui/roles.go:3:8 import-tui"}},
	{"import-tui-sim", []string{"tui/sim.go:3:8 import-tui"}},
	{"import-tui-deployer", []string{"tui/apply.go:3:8 import-tui"}},
	{"import-deployer", []string{"deployer/playbook/gate.go:5:2 import-deployer"}},
	{"time-now", []string{"db/server/sequencer/clock.go:6:9 time"}},
	{"time-renamed", []string{"db/client/retry.go:6:2 time"}},
	{"time-func-value", []string{"db/workloads/cycle/clock.go:5:13 time"}},
	{"time-context", []string{"db/client/timeout.go:9:9 time"}},
	{"rand-math-rand", []string{"db/server/datadist/pick.go:3:8 rand"}},
	{"rand-v2-global", []string{"db/workloads/bank/amount.go:6:9 rand"}},
	{"rand-v2-seeded", []string{"db/server/resolver/seed.go:5:26 rand"}},
	{"rand-crypto", []string{"db/client/id.go:3:8 rand"}},
	{"os-readfile", []string{"db/server/coordinator/load.go:6:15 os"}},
	{"os-getenv", []string{"db/server/ratekeeper/knob.go:5:29 os"}},
	{"os-exec", []string{"db/workloads/attrition/kill.go:3:8 os"}},
	{"os-filepath", []string{"db/server/tlog/files.go:6:9 os"}},
	{"net-net", []string{"db/server/worker/listen.go:5:2 net"}},
	{"net-http", []string{"db/client/status.go:3:8 net"}},
	{"go-statement", []string{"db/server/grvproxy/batch.go:4:2 go"}},
	{"go-in-test", []string{"db/server/grvproxy/batch_test.go:7:2 go"}},
	{"sync-mutex", []string{"db/server/storage/cache.go:6:10 sync"}},
	{"sync-waitgroup", []string{"db/workloads/cycle/wait.go:6:9 sync"}},
	{"chan-make", []string{"db/server/commitproxy/queue.go:4:14 chan"}},
	{"chan-send", []string{"db/server/commitproxy/reply.go:6:6 chan"}},
	{"chan-receive", []string{"db/client/wait.go:6:2 chan"}},
	{"chan-select", []string{"db/server/tlog/idle.go:4:2 chan"}},
	{"dot-import", []string{"db/server/controller/names.go:3:8 dot-import"}},
	{"allow-no-reason", []string{
		"db/server/sequencer/clock.go:6:2 allow",
		"db/server/sequencer/clock.go:7:9 time", // a malformed allow silences nothing
	}},
	{"allow-unknown-rule", []string{
		"db/server/sequencer/clock.go:6:9 time",
		"db/server/sequencer/clock.go:6:20 allow",
	}},
	{"allow-unused", []string{"db/server/sequencer/clock.go:5:1 allow"}},
}

// TestPlanted shows the lint catching a planted violation of each rule, at
// the right place, and nothing else.
func TestPlanted(t *testing.T) {
	for _, tc := range plantedCases {
		t.Run(tc.tree, func(t *testing.T) {
			found := checkTree(t, filepath.Join("testdata", "planted", tc.tree))
			if diff := cmp.Diff(tc.want, placesAndRules(found)); diff != "" {
				t.Errorf("violations (-want +got):\n%s\nall found:\n%s", diff, listing(found))
			}
		})
	}
}

// TestPlantedTreesAreAllListed keeps testdata/planted and plantedCases in
// step, so a planted tree cannot be silently left untested.
func TestPlantedTreesAreAllListed(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join("testdata", "planted"))
	if err != nil {
		t.Fatal(err)
	}
	var trees, listed []string
	for _, e := range entries {
		trees = append(trees, e.Name())
	}
	for _, tc := range plantedCases {
		listed = append(listed, tc.tree)
	}
	slices.Sort(listed)
	if diff := cmp.Diff(trees, listed); diff != "" {
		t.Errorf("planted trees (-on disk +in plantedCases):\n%s", diff)
	}
}

// TestEveryRuleIsPlanted checks that each rule has a planted violation.
func TestEveryRuleIsPlanted(t *testing.T) {
	planted := map[string]bool{}
	for _, tc := range plantedCases {
		for _, w := range tc.want {
			planted[w[strings.LastIndexByte(w, ' ')+1:]] = true
		}
	}
	for _, rule := range append(slices.Clone(allowableRules), RuleAllow) {
		if !planted[rule] {
			t.Errorf("rule %q has no planted violation in testdata/planted", rule)
		}
	}
}

// TestClean checks that what the rules allow passes: role code using
// durations, the flow generator, os error values, sync.Once, atomics and
// netip; the escape hatch in both forms; the runtime and the simulator
// using what role code may not; cmd and other trees importing anything; and
// testdata, hidden, underscore and nested-module directories being skipped.
func TestClean(t *testing.T) {
	found := checkTree(t, filepath.Join("testdata", "clean"))
	if len(found) > 0 {
		t.Errorf("want no violations, got:\n%s", listing(found))
	}
}

// TestViolationString pins the report format editors and CI logs parse.
func TestViolationString(t *testing.T) {
	found := checkTree(t, filepath.Join("testdata", "planted", "time-renamed"))
	want := []string{"db/client/retry.go:6:2: time: time.Sleep reads or waits on the wall clock: " +
		"role code takes time and timers from flow.Env"}
	var got []string
	for _, v := range found {
		got = append(got, v.String())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
}

// TestCheckReportsUnparsableFile checks that a broken role-code file is an
// error naming the file and line, not a silent pass.
func TestCheckReportsUnparsableFile(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "go.mod", "module example.com/m\n")
	writeFile(t, root, "db/server/x/x.go", "package x\n\nfunc f( {\n")
	_, err := Check(root, "example.com/m")
	if err == nil || !strings.Contains(err.Error(), "db/server/x/x.go:3") {
		t.Errorf("Check on a broken file: got error %v, want one naming db/server/x/x.go:3", err)
	}
}

func TestCheckMissingRoot(t *testing.T) {
	_, err := Check(filepath.Join(t.TempDir(), "absent"), "example.com/m")
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Check on a missing root: got %v, want an error wrapping os.ErrNotExist", err)
	}
}

func TestModulePath(t *testing.T) {
	tests := []struct {
		gomod   string
		want    string
		wantErr string
	}{
		{gomod: "module github.com/strata-db/strata\n\ngo 1.26\n", want: "github.com/strata-db/strata"},
		{gomod: "// Strata\nmodule \"example.com/quoted\" // note\n", want: "example.com/quoted"},
		{gomod: "go 1.26\n", wantErr: "no module directive"},
		{gomod: "go 1.26\nmodule a b\n", wantErr: "go.mod:2: module directive needs exactly one path"},
	}
	for _, tc := range tests {
		root := t.TempDir()
		writeFile(t, root, "go.mod", tc.gomod)
		got, err := ModulePath(root)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ModulePath(%q): got %q, %v; want error containing %q", tc.gomod, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ModulePath(%q) = %q, %v; want %q", tc.gomod, got, err, tc.want)
		}
	}
}

// BenchmarkCheckRepo measures a full check of the repository, which runs
// in every `make test`.
func BenchmarkCheckRepo(b *testing.B) {
	root := repoRoot(b)
	module, err := ModulePath(root)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Check(root, module); err != nil {
			b.Fatal(err)
		}
	}
}

// repoRoot walks up from the test's working directory to the directory
// holding go.mod.
func repoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("no go.mod above the test's working directory")
		}
		dir = parent
	}
}

// checkTree checks a fake module tree with its own go.mod.
func checkTree(t *testing.T, root string) []Violation {
	t.Helper()
	module, err := ModulePath(root)
	if err != nil {
		t.Fatal(err)
	}
	found, err := Check(root, module)
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func placesAndRules(found []Violation) []string {
	var out []string
	for _, v := range found {
		out = append(out, fmt.Sprintf("%s:%d:%d %s", v.Pos.Filename, v.Pos.Line, v.Pos.Column, v.Rule))
	}
	return out
}

func listing(found []Violation) string {
	var b strings.Builder
	for _, v := range found {
		fmt.Fprintf(&b, "  %s\n", v)
	}
	return b.String()
}

func writeFile(t *testing.T, root, rel, content string) {
	t.Helper()
	name := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
