package e2e_test

import (
	"path/filepath"
	"testing"

	"github.com/strata-db/strata/test/e2e/testhost"
)

// benchHosts is the cluster size of the deployer benchmarks: the issue's
// comparison with Ansible deploys to 8 machines.
const benchHosts = 8

// BenchmarkFreshApply measures `strata apply -auto-approve` of a
// description of 8 SSH test hosts that run nothing yet: preflight and
// refresh, the release (the strata binary built as `make build` builds
// it, stripped: ~28 MB) to each, files, monitors, waiting for the servers
// and configuring the database.
// Destroying between runs is not timed. BenchmarkFreshApplyVsAnsible runs
// the same beside Ansible. Every apply connects anew (-ssh-persist=0), as a
// first apply does.
func BenchmarkFreshApply(b *testing.B) {
	c := testhost.New(b, benchHosts)
	dir := b.TempDir()
	config := filepath.Join(dir, "bench.hcl")
	writeSSHDescription(b, c, config, "")
	known := "known_hosts=" + c.KnownHosts
	for b.Loop() {
		b.StopTimer()
		mustRun(b, dir, "destroy", "-auto-approve", "-purge-data", "-ssh-persist=0", "-var", known, config)
		b.StartTimer()
		mustRun(b, dir, "apply", "-auto-approve", "-ssh-persist=0", "-var", known, config)
	}
}

// BenchmarkNoChangePlan measures `strata plan -detailed-exitcode` of 8 SSH
// test hosts that already run their description: connect, preflight,
// refresh of every host and of the database. "kept" is the default, where
// the connections of the previous run (the apply, then each plan) are
// still open in the user's connection-keeping process (-ssh-persist, 60 s,
// as Ansible's ControlPersist): host keys are checked, but no key exchange
// or authentication is made. "cold" is -ssh-persist=0: every run connects.
func BenchmarkNoChangePlan(b *testing.B) {
	c := testhost.New(b, benchHosts)
	dir := b.TempDir()
	config := filepath.Join(dir, "bench.hcl")
	writeSSHDescription(b, c, config, "")
	known := "known_hosts=" + c.KnownHosts
	mustRun(b, dir, "apply", "-auto-approve", "-var", known, config)
	for _, bc := range []struct {
		name    string
		persist string
	}{{"kept", "-ssh-persist=60s"}, {"cold", "-ssh-persist=0"}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				mustRun(b, dir, "plan", "-detailed-exitcode", bc.persist, "-var", known, config)
			}
		})
	}
}
