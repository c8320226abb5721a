package e2e_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/strata-db/strata/db/clusterfile"
	"github.com/strata-db/strata/db/status"
	"github.com/strata-db/strata/test/e2e/testhost"
)

// tripleDescription is a triple cluster: one storage and one log process
// on each host, every host its own zone.
const tripleDescription = `
variable "known_hosts" {
  type = string
}

cluster "ssh_triple" {
  redundancy     = "triple"
  storage_engine = "memory"
}

release "dev" {
  source = "file"
  path   = %[1]q
}

ssh {
  user              = "root"
  agent             = false
  private_key_files = [%[2]q]
  known_hosts       = var.known_hosts
}

defaults {
  memory    = "1GiB"
  processes = { storage = 1, log = 1 }
}
%[3]s`

// TestSSHApplyTripleToFiveHosts is issue #7's first acceptance: a triple
// cluster applied to five SSH test hosts from nothing runs under the
// monitor, is configured, and status shows it healthy (apply itself waits
// for that); a second plan has no changes.
func TestSSHApplyTripleToFiveHosts(t *testing.T) {
	if testing.Short() {
		t.Skip("makes test hosts")
	}
	c := testhost.New(t, 5)
	dir := t.TempDir()
	config := filepath.Join(dir, "triple.hcl")
	text := strings.Replace(tripleDescription, "%[1]q", quote(strataBin), 1)
	text = strings.Replace(text, "%[2]q", quote(c.ClientKey), 1)
	text = strings.Replace(text, "%[3]s", sshHosts(c, ""), 1)
	if err := os.WriteFile(config, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	known := "known_hosts=" + c.KnownHosts

	r := mustRun(t, dir, "apply", "-auto-approve", "-connect-timeout", "5s", "-wait-timeout", "60s", "-var", known, config)
	if !strings.Contains(r.stdout, "Apply complete!") {
		t.Fatalf("fresh apply:\n%s", r)
	}
	// Read status through the cluster file the deployer wrote on a host.
	cf, err := c.Exec(context.Background(), c.Hosts[0], "cat", "/etc/strata/strata.cluster")
	if err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(dir, "strata.cluster")
	if err := os.WriteFile(local, cf, 0o644); err != nil {
		t.Fatal(err)
	}
	r = mustRun(t, dir, "status", "--json", "-C", local)
	st, err := status.Parse([]byte(r.stdout))
	if err != nil {
		t.Fatalf("status: %v\n%s", err, r)
	}
	cl := st.Cluster
	if cl.Configuration.RedundancyMode != "triple" || !cl.Data.State.Healthy || !cl.DatabaseAvailable ||
		cl.RecoveryState.Name != status.RecoveryFullyRecovered || len(cl.Processes) != 10 {
		t.Fatalf("status after apply: mode %s, data %s, available %v, recovery %s, %d processes",
			cl.Configuration.RedundancyMode, cl.Data.State.Name, cl.DatabaseAvailable, cl.RecoveryState.Name, len(cl.Processes))
	}
	if r := strata(t, dir, "", "plan", "-detailed-exitcode", "-var", known, config); r.code != 0 || !strings.Contains(r.stdout, "No changes.") {
		t.Fatalf("no-change plan: %s", r)
	}

	// Coordinators are changed through the database: the plan shows it, the
	// apply moves the coordinated state, and every server rewrites its own
	// cluster file (with a new ID); a new plan has no changes.
	old, err := clusterfile.Parse(string(cf))
	if err != nil {
		t.Fatal(err)
	}
	three := old.Addresses()[:3]
	text = strings.Replace(text, `storage_engine = "memory"`,
		`storage_engine = "memory"`+"\n  coordinators   = [\""+strings.Join(three, `", "`)+"\"]", 1)
	if err := os.WriteFile(config, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := strata(t, dir, "", "plan", "-detailed-exitcode", "-var", known, config); r.code != 2 || !strings.Contains(r.stdout, "cluster.coordinators") {
		t.Fatalf("plan with new coordinators: %s", r)
	}
	r = mustRun(t, dir, "apply", "-auto-approve", "-connect-timeout", "5s", "-wait-timeout", "60s", "-var", known, config)
	if !strings.Contains(r.stdout, "Apply complete!") {
		t.Fatalf("coordinators apply:\n%s", r)
	}
	for _, h := range c.Hosts {
		text, err := c.Exec(context.Background(), h, "cat", "/etc/strata/strata.cluster")
		if err != nil {
			t.Fatal(err)
		}
		got, err := clusterfile.Parse(string(text))
		if err != nil {
			t.Fatalf("%s's cluster file: %v", h.Name, err)
		}
		if !slices.Equal(slices.Sorted(slices.Values(got.Addresses())), slices.Sorted(slices.Values(three))) || got.ID == old.ID {
			t.Fatalf("%s's cluster file after the move: %s; want coordinators %v and a new ID", h.Name, got, three)
		}
	}
	if r := strata(t, dir, "", "plan", "-detailed-exitcode", "-var", known, config); r.code != 0 || !strings.Contains(r.stdout, "No changes.") {
		t.Fatalf("plan after the coordinators moved: %s", r)
	}
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }
