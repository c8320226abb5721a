package e2e_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/strata-db/strata/deployer/layout"
	"github.com/strata-db/strata/deployer/plan"
	"github.com/strata-db/strata/deployer/spec"
	"github.com/strata-db/strata/deployer/state"
)

// bigPlanHosts is the size of the description issue #7's -refresh=false
// goal is stated for.
const bigPlanHosts = 1000

// bigDescription is a triple-redundancy cluster of n SSH hosts in 50
// zones with six processes each, written with a dynamic block as an
// operator would; none of the addresses exists (a plan without refresh
// never connects).
func bigDescription(n int) string {
	return fmt.Sprintf(`
cluster "big" {
  redundancy = "triple"
}
release "1" {
  source = "file"
  path   = %q
}
ssh {
  user        = "root"
  known_hosts = "/nonexistent/known_hosts"
}
defaults {
  processes = { storage = 4, log = 1, stateless = 1 }
}
dynamic "host" {
  for_each = { for i in range(%d) : format("db%%04d", i) => i }
  labels   = [host.key]
  content {
    address = cidrhost("10.0.0.0/16", host.value + 1)
    zone    = format("zone%%02d", host.value %% 50)
  }
}
`, strataBin, n)
}

// appliedState is the state an apply of d leaves: every host's release,
// conf, cluster file, monitor and processes, and the database.
func appliedState(b *testing.B, d *plan.Desired, lineage string) *state.State {
	st := &state.State{Version: state.FormatVersion, Lineage: lineage, Cluster: d.Cluster}
	now := time.Now().UTC()
	put := func(addr, typ string, attrs map[string]string) {
		st.Put(state.Resource{Address: addr, Type: typ, Attributes: attrs, UpdatedAt: now})
	}
	for _, h := range d.Hosts {
		prefix := "host." + h.Name + "."
		put(prefix+plan.TypeRelease, plan.TypeRelease, map[string]string{"host": h.Name, "version": h.Release.Version, "sha256": h.Release.SHA256, "path": h.Release.Path})
		put(prefix+plan.TypeConf, plan.TypeConf, map[string]string{"host": h.Name, "sha256": h.Conf.SHA256, "path": h.Conf.Path})
		put(prefix+plan.TypeClusterFile, plan.TypeClusterFile, map[string]string{"host": h.Name, "sha256": h.Cluster.SHA256, "path": h.Cluster.Path})
		put(prefix+plan.TypeMonitor, plan.TypeMonitor, map[string]string{"host": h.Name, "conf": h.Conf.Path})
		for _, p := range h.Processes {
			put("process."+h.Name+":"+strconv.Itoa(p.Port), plan.TypeProcess, map[string]string{"host": h.Name, "launch_digest": p.LaunchDigest, "class": p.Class})
		}
	}
	put("cluster.database", plan.TypeDatabase, map[string]string{"redundancy": d.Database.Redundancy, "storage_engine": d.Database.StorageEngine})
	return st
}

func fileDigest(b *testing.B, path string) string {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		b.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// BenchmarkPlanNoRefresh1000 measures `strata plan -refresh=false
// -detailed-exitcode` of a 1,000-host description (6,000 processes)
// against the state its apply would have left: loading and validating
// the HCL, the layout, the release digest, rendering every host's files,
// reading the state and planning. Issue #7 asks for at most 1 s.
func BenchmarkPlanNoRefresh1000(b *testing.B) {
	dir := b.TempDir()
	config := filepath.Join(dir, "big.hcl")
	src := bigDescription(bigPlanHosts)

	if err := os.WriteFile(config, []byte(src), 0o644); err != nil {
		b.Fatal(err)
	}
	s, _, diags := spec.LoadSource(config, []byte(src), spec.Options{})
	if diags.HasErrors() {
		b.Fatal(diags.Error())
	}
	l, diags := layout.Compute(s)
	if diags.HasErrors() {
		b.Fatal(diags.Error())
	}
	fresh, err := state.New(s.Cluster.Name)
	if err != nil {
		b.Fatal(err)
	}
	d, err := plan.BuildDesired(s, l, fileDigest(b, strataBin), fresh.Lineage[:16])
	if err != nil {
		b.Fatal(err)
	}
	if err := state.Save(filepath.Join(dir, "big.state"), appliedState(b, d, fresh.Lineage)); err != nil {
		b.Fatal(err)
	}
	// The first run may fill caches (the release digest); what is measured
	// is the steady state an operator sees.
	mustRun(b, dir, "plan", "-refresh=false", "-detailed-exitcode", config)
	for b.Loop() {
		r := mustRun(b, dir, "plan", "-refresh=false", "-detailed-exitcode", config)
		if len(r.stdout) == 0 {
			b.Fatal("no plan output")
		}
	}
}
