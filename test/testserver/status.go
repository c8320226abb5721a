package testserver

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/strata-db/strata/db/status"
)

// CLI runs `strata cli -C <cluster file> --exec commands` with --timeout
// timeout and returns what it printed (standard output, then standard
// error). err is set when the CLI exits non-zero or ctx ends first.
func (c *Cluster) CLI(ctx context.Context, timeout time.Duration, commands string) (string, error) {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, c.Binary, "cli", "-C", c.ClusterFile, "--timeout", timeout.String(), "--exec", commands)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("strata cli --exec %q: %w", commands, err)
	}
	return out.String(), nil
}

// Status runs `strata status --json` and parses the document. A document
// without a cluster section (no controller reached) is an error.
func (c *Cluster) Status(ctx context.Context) (*status.Status, error) {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, c.Binary, "status", "--json", "-C", c.ClusterFile, "--timeout", "5s")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("strata status: %w: %s", err, stderr.String())
	}
	st, err := status.Parse(out)
	if err != nil {
		return nil, err
	}
	if st.Cluster == nil {
		return nil, fmt.Errorf("strata status: no cluster section: %+v", st.Client.Messages)
	}
	return st, nil
}

// WaitStatus polls Status until ok accepts a document and returns it; the
// test fails if none does within limit. what names the awaited condition
// in the failure, which also shows the last document's summary.
func (c *Cluster) WaitStatus(t testing.TB, limit time.Duration, what string, ok func(*status.Status) bool) *status.Status {
	t.Helper()
	st, err := c.AwaitStatus(limit, ok)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return st
}

// AwaitStatus polls Status until ok accepts a document, for up to limit.
// The error describes the last document (or the last error) seen.
func (c *Cluster) AwaitStatus(limit time.Duration, ok func(*status.Status) bool) (*status.Status, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var last string
	for {
		st, err := c.Status(ctx)
		switch {
		case err == nil && ok(st):
			return st, nil
		case err == nil:
			last = Summary(st)
		default:
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("not within %v; last: %s", limit, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Summary is a one-line account of a status document for test logs: the
// configuration, recovery and data states, generation, and each process's
// roles.
func Summary(st *status.Status) string {
	if st.Cluster == nil {
		return "no cluster section"
	}
	cl := st.Cluster
	s := fmt.Sprintf("mode=%s recovery=%s data=%s(min replicas %d) gen=%d available=%v",
		cl.Configuration.RedundancyMode, cl.RecoveryState.Name, cl.Data.State.Name,
		cl.Data.State.MinReplicasRemaining, cl.Generation, cl.DatabaseAvailable)
	if cl.Data.Teams != nil {
		s += fmt.Sprintf(" teams=%d/%d healthy", cl.Data.Teams.Healthy, cl.Data.Teams.Count)
	}
	addrs := make([]string, 0, len(cl.Processes))
	byAddr := map[string]status.Process{}
	for _, p := range cl.Processes {
		addrs = append(addrs, p.Address)
		byAddr[p.Address] = p
	}
	slices.Sort(addrs)
	for _, a := range addrs {
		p := byAddr[a]
		var roles []string
		for _, r := range p.Roles {
			roles = append(roles, r.Role)
		}
		state := ""
		if Unreachable(p) {
			state = " UNREACHABLE"
		}
		if p.Excluded {
			state += " excluded"
		}
		s += fmt.Sprintf(" | %s[%s]%s %v", a, p.Zone(), state, roles)
	}
	return s
}

// Unreachable reports whether status marks p as not reached.
func Unreachable(p status.Process) bool {
	return slices.ContainsFunc(p.Messages, func(m status.Message) bool { return m.Name == "unreachable_process" })
}

// HasRole reports whether p plays role.
func HasRole(p status.Process, role string) bool {
	return slices.ContainsFunc(p.Roles, func(r status.Role) bool { return r.Role == role })
}

// WithRole returns the addresses of the reachable processes that play
// role, sorted.
func WithRole(st *status.Status, role string) []string {
	var out []string
	for _, p := range st.Cluster.Processes {
		if !Unreachable(p) && HasRole(p, role) {
			out = append(out, p.Address)
		}
	}
	slices.Sort(out)
	return out
}

// ProcessAt returns the process at address in st.
func ProcessAt(st *status.Status, address string) (status.Process, bool) {
	for _, p := range st.Cluster.Processes {
		if p.Address == address {
			return p, true
		}
	}
	return status.Process{}, false
}

// Healthy accepts a fully recovered cluster in redundancy mode whose data
// is healthy with at least replicas replicas of every shard, whose current
// logs are in replicas distinct zones (or more) and whose storage servers
// are in at least replicas distinct zones.
func Healthy(st *status.Status, mode string, replicas int) bool {
	cl := st.Cluster
	if cl.Configuration.RedundancyMode != mode || cl.RecoveryState.Name != status.RecoveryFullyRecovered ||
		cl.Data.State.Name != status.DataHealthy || cl.Data.State.MinReplicasRemaining < replicas {
		return false
	}
	return len(ZonesWith(st, status.RoleLog)) >= replicas && len(ZonesWith(st, status.RoleStorage)) >= replicas
}

// ZonesWith returns the distinct zones of the reachable processes that
// play role.
func ZonesWith(st *status.Status, role string) map[string]bool {
	zones := map[string]bool{}
	for _, p := range st.Cluster.Processes {
		if !Unreachable(p) && HasRole(p, role) {
			zones[p.Zone()] = true
		}
	}
	return zones
}

// Sequencer returns the server holding the sequencer (status's master role)
// and the roles that process plays, failing the test unless exactly one
// does.
func (c *Cluster) Sequencer(t testing.TB) (*Server, []string) {
	t.Helper()
	st, err := c.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	masters := WithRole(st, status.RoleMaster)
	if len(masters) != 1 {
		t.Fatalf("want one master, status has %v: %s", masters, Summary(st))
	}
	victim := c.Server(masters[0])
	p, _ := ProcessAt(st, victim.Address)
	var roles []string
	for _, r := range p.Roles {
		roles = append(roles, r.Role)
	}
	return victim, roles
}
