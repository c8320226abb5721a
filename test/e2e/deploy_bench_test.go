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
// refresh, the release (the strata test binary, ~38 MB) to each, files,
// monitors, waiting for the servers and configuring the database.
// Destroying between runs is not timed. BenchmarkFreshApplyVsAnsible runs
// the same beside Ansible.
func BenchmarkFreshApply(b *testing.B) {
	c := testhost.New(b, benchHosts)
	dir := b.TempDir()
	config := filepath.Join(dir, "bench.hcl")
	writeSSHDescription(b, c, config, "")
	known := "known_hosts=" + c.KnownHosts
	for b.Loop() {
		b.StopTimer()
		mustRun(b, dir, "destroy", "-auto-approve", "-purge-data", "-var", known, config)
		b.StartTimer()
		mustRun(b, dir, "apply", "-auto-approve", "-var", known, config)
	}
}

// BenchmarkNoChangePlan measures `strata plan -detailed-exitcode` of 8 SSH
// test hosts that already run their description: connect, preflight,
// refresh of every host and of the database.
func BenchmarkNoChangePlan(b *testing.B) {
	c := testhost.New(b, benchHosts)
	dir := b.TempDir()
	config := filepath.Join(dir, "bench.hcl")
	writeSSHDescription(b, c, config, "")
	known := "known_hosts=" + c.KnownHosts
	mustRun(b, dir, "apply", "-auto-approve", "-var", known, config)
	for b.Loop() {
		mustRun(b, dir, "plan", "-detailed-exitcode", "-var", known, config)
	}
}
