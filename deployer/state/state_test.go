package state

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSaveLoadRoundTripAndSerial(t *testing.T) {
	path := filepath.Join(t.TempDir(), "strata.state")
	s, err := New("prod")
	if err != nil {
		t.Fatal(err)
	}
	s.Put(Resource{Address: "process.db2:4500", Type: "process", Attributes: map[string]string{"argv": "abc"}})
	s.Put(Resource{Address: "host.db1.release", Type: "release", Attributes: map[string]string{"sha256": "ff"}})
	if err := Save(path, s); err != nil {
		t.Fatal(err)
	}
	if s.Serial != 1 {
		t.Fatalf("serial after first save = %d, want 1", s.Serial)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(s, got); diff != "" {
		t.Fatalf("round trip (-saved +loaded):\n%s", diff)
	}
	if got.Resources[0].Address != "host.db1.release" {
		t.Fatalf("resources not sorted: %v", got.Resources)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("state file mode %v, want 0600", st.Mode().Perm())
	}
	got.Remove("process.db2:4500")
	if err := Save(path, got); err != nil {
		t.Fatal(err)
	}
	if backup, err := Load(path + ".backup"); err != nil || backup.Serial != 1 {
		t.Fatalf("backup = %+v, %v; want the serial-1 state", backup, err)
	}
}

func TestSaveRefusesStaleOrForeignState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "strata.state")
	a, _ := New("a")
	if err := Save(path, a); err != nil {
		t.Fatal(err)
	}
	stale := *a
	if err := Save(path, a); err != nil { // a moves to serial 2
		t.Fatal(err)
	}
	stale.Serial = 0
	if err := Save(path, &stale); err == nil || !strings.Contains(err.Error(), "changed underneath") {
		t.Fatalf("stale save: %v", err)
	}
	other, _ := New("b")
	if err := Save(path, other); err == nil || !strings.Contains(err.Error(), "another cluster") {
		t.Fatalf("foreign save: %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "missing")); !errors.Is(err, ErrNoState) {
		t.Fatalf("missing file: %v", err)
	}
	for name, content := range map[string]string{
		"garbage":    "{not json",
		"future":     `{"version": 99, "lineage": "x"}`,
		"no-lineage": `{"version": 1}`,
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: got %v, want an error naming the file", name, err)
		}
	}
}

func TestLockExcludesAndForceUnlock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "strata.state")
	l, err := Acquire(path, "apply", "alice@host")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Acquire(path, "apply", "bob@host")
	var locked *LockedError
	if !errors.As(err, &locked) || locked.Holder.Who != "alice@host" {
		t.Fatalf("second acquire: %v, want LockedError naming alice", err)
	}
	if !strings.Contains(err.Error(), "strata state force-unlock "+l.Info().ID) {
		t.Fatalf("lock error does not say how to force-unlock: %v", err)
	}
	if err := ForceUnlock(path, "wrong-id"); err == nil {
		t.Fatal("force-unlock with a wrong ID succeeded")
	}
	if err := ForceUnlock(path, l.Info().ID); err != nil {
		t.Fatal(err)
	}
	l2, err := Acquire(path, "plan", "bob@host")
	if err != nil {
		t.Fatalf("acquire after force-unlock: %v", err)
	}
	if err := l.Release(); err == nil {
		t.Fatal("a force-unlocked holder released someone else's lock")
	}
	if err := l2.Release(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(LockPath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("lock file left after release: %v", err)
	}
}

func TestJournalSurvivesTornLineAndFindsUnfinishedSteps(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal")
	j, err := OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []Entry{
		{Run: "r1", Status: RunStarted},
		{Run: "r1", Status: StepStarted, Step: "upload", Resource: "host.a.release"},
		{Run: "r1", Status: StepDone, Step: "upload", Resource: "host.a.release"},
		{Run: "r1", Status: StepStarted, Step: "upload", Resource: "host.b.release"},
		{Run: "r1", Status: StepStarted, Step: "conf", Resource: "host.a.conf"},
		{Run: "r1", Status: StepFailed, Step: "conf", Resource: "host.a.conf", Error: "permission denied"},
	} {
		if err := j.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	j.Close()
	// A crash mid-write leaves half a line.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"run":"r1","status":"star`)
	f.Close()

	entries, err := ReadJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 6 {
		t.Fatalf("read %d entries, want 6", len(entries))
	}
	un := Unfinished(entries)
	if len(un) != 1 || un[0].Resource != "host.b.release" {
		t.Fatalf("unfinished = %+v, want the upload to host b", un)
	}
	j, err = OpenJournal(path) // appending after the torn line was cut
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Append(Entry{Run: "r2", Status: RunStarted}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	entries, err = ReadJournal(path)
	if err != nil || len(entries) != 7 {
		t.Fatalf("after reopen: %d entries, %v", len(entries), err)
	}
	if un := Unfinished(entries); len(un) != 0 {
		t.Fatalf("a new run has no unfinished steps yet, got %+v", un)
	}
}
