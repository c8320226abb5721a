package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-db/strata/deployer/state"
)

func TestStateCommands(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "prod.hcl")
	st, err := state.New("prod")
	if err != nil {
		t.Fatal(err)
	}
	st.Put(state.Resource{Address: "host.db1.release", Type: "release", Attributes: map[string]string{"version": "0.2", "host": "db1"}})
	st.Put(state.Resource{Address: "host.db1.conf", Type: "conf", Attributes: map[string]string{"sha256": "abcdef0123456789", "host": "db1"}})
	if err := state.Save(statePathFor(config), st); err != nil {
		t.Fatal(err)
	}
	out, err := runStrata(t, "state", "list", config)
	if err != nil || out != "host.db1.conf\nhost.db1.release\n" {
		t.Fatalf("state list: %q, %v", out, err)
	}
	out, err = runStrata(t, "state", "show", config, "host.db1.release")
	if err != nil || !strings.Contains(out, "version  0.2") {
		t.Fatalf("state show: %q, %v", out, err)
	}
	if _, err := runStrata(t, "state", "rm", config, "host.db1.nope"); err == nil {
		t.Fatal("removing an unknown address succeeded")
	}
	if _, err := runStrata(t, "state", "rm", config, "host.db1.conf"); err != nil {
		t.Fatal(err)
	}
	out, _ = runStrata(t, "show", "-state", statePathFor(config))
	if strings.Contains(out, "host.db1.conf") || !strings.Contains(out, "host.db1.release") {
		t.Fatalf("show after rm:\n%s", out)
	}

	lock, err := state.Acquire(statePathFor(config), "apply", "someone")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runStrata(t, "state", "rm", config, "host.db1.release"); err == nil || !strings.Contains(err.Error(), "force-unlock") {
		t.Fatalf("rm under someone else's lock: %v", err)
	}
	if _, err := runStrata(t, "state", "force-unlock", config, lock.Info().ID); err != nil {
		t.Fatal(err)
	}
}
