package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/strata-db/strata/db/clusterfile"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/server/coordinator"
	"github.com/strata-db/strata/db/status"
)

// Changing the coordinators (FoundationDB's changeQuorum): the request is
// the new connection string written to kv.CoordinatorsKey; the cluster
// controller moves the coordinated state to the new coordinators, the old
// ones forward every process there, and every process and client rewrites
// its cluster file.

// ErrCoordinatorsUnreachable refuses new coordinators that do not answer
// (FoundationDB's coordinators_unreachable outcome of changeQuorum).
var ErrCoordinatorsUnreachable = errors.New("client: new coordinators unreachable")

// ErrNotEnoughMachines refuses `coordinators auto` when too few zones have
// processes that are reachable and not excluded (FoundationDB's
// NOT_ENOUGH_MACHINES).
var ErrNotEnoughMachines = errors.New("client: too few server machines to provide coordination at the current redundancy level")

// ErrNoClusterStatus refuses `coordinators auto` when status has no
// cluster section to choose from: no cluster controller answered (during
// a recovery, say). Try again.
var ErrNoClusterStatus = errors.New("client: choosing coordinators needs the cluster's status, and no cluster controller answered")

// CoordinatorsProbeTimeout bounds the check that every new coordinator
// answers before a change is requested.
const CoordinatorsProbeTimeout = 5 * time.Second

// coordinatorsPoll is how often a change is checked for completion.
const coordinatorsPoll = 250 * time.Millisecond

// DesiredCoordinators is how many coordinators a redundancy mode wants
// (fdb.md §6.2): 1, 3, 5, and 9 for three_data_hall.
func DesiredCoordinators(mode string) int {
	switch mode {
	case "double":
		return 3
	case "triple":
		return 5
	case "three_data_hall":
		return 9
	}
	return 1
}

// AutoCoordinators chooses coordinators as `coordinators auto` does: as
// many as the redundancy mode wants, each in its own fault zone, among the
// processes status shows reachable and not excluded, current coordinators
// first, then by address. With fewer zones than wanted it takes the
// largest odd number it can, but never fewer than cur has (FoundationDB's
// AutoQuorumChange): then it fails with ErrNotEnoughMachines.
func AutoCoordinators(st *status.Status, cur clusterfile.ClusterFile) ([]clusterfile.Coordinator, error) {
	if st == nil || st.Cluster == nil || len(st.Cluster.Processes) == 0 {
		return nil, ErrNoClusterStatus
	}
	need := DesiredCoordinators(st.Cluster.Configuration.RedundancyMode)
	current := map[string]bool{}
	for _, c := range cur.Coordinators {
		current[canonicalAddress(c.String())] = true
	}
	var procs []status.Process
	for _, p := range st.Cluster.Processes {
		if !p.Excluded && !isUnreachable(p) {
			procs = append(procs, p)
		}
	}
	sort.Slice(procs, func(i, j int) bool {
		ci, cj := current[canonicalAddress(procs[i].Address)], current[canonicalAddress(procs[j].Address)]
		if ci != cj {
			return ci
		}
		return procs[i].Address < procs[j].Address
	})
	zones := map[string]bool{}
	var out []clusterfile.Coordinator
	for _, p := range procs {
		if len(out) == need || zones[FaultZone(p)] {
			continue
		}
		c, err := clusterfile.ParseCoordinator(p.Address)
		if err != nil {
			continue
		}
		zones[FaultZone(p)] = true
		out = append(out, c)
	}
	if len(out) < need {
		if len(out) == 0 || len(out) < len(cur.Coordinators) {
			return nil, fmt.Errorf("%w: %s wants %d coordinators in different zones; %d zones have reachable processes that are not excluded",
				ErrNotEnoughMachines, st.Cluster.Configuration.RedundancyMode, need, len(out))
		}
		out = out[:(len(out)-1)|1]
	}
	return out, nil
}

// isUnreachable reports whether status marks p as not answering.
func isUnreachable(p status.Process) bool {
	return slices.ContainsFunc(p.Messages, func(m status.Message) bool { return m.Name == "unreachable_process" })
}

// FaultZone is the zone a process counts in for replication and for
// coordinators: its zoneid, else its machine, else its host.
func FaultZone(p status.Process) string {
	if z := p.Locality["zoneid"]; z != "" {
		return z
	}
	if m := p.Locality["machineid"]; m != "" {
		return m
	}
	if p.MachineID != "" {
		return p.MachineID
	}
	if e, err := kv.ParseExclusion(p.Address); err == nil {
		return e.Host
	}
	return p.Address
}

// canonicalAddress is the form two addresses are compared in.
func canonicalAddress(a string) string {
	if e, err := kv.ParseExclusion(a); err == nil && !e.IsLocality() {
		return e.String()
	}
	return a
}

// SameCoordinators reports whether a and b name the same coordinators.
func SameCoordinators(a, b clusterfile.ClusterFile) bool {
	set := func(f clusterfile.ClusterFile) []string {
		var out []string
		for _, c := range f.Coordinators {
			out = append(out, canonicalAddress(c.String()))
		}
		sort.Strings(out)
		return out
	}
	return slices.Equal(set(a), set(b))
}

// ChangeCoordinators moves the cluster to want's coordinators (FoundationDB's
// `coordinators`): it checks that every one of them answers, writes want
// to kv.CoordinatorsKey, and waits until the database runs on them —
// status names want as its connection string and this database follows
// it — or wait passes. want must carry a new ID (the ID names the
// coordinator set). Nothing is lost: the coordinated state moves with the
// coordinators and the next generation recovers from it.
func (d *Database) ChangeCoordinators(c *flow.Ctx, want clusterfile.ClusterFile, wait time.Duration) error {
	cur, ok := d.CurrentClusterFile()
	if !ok {
		return errors.New("client: changing the coordinators needs the cluster file (Config.Cluster)")
	}
	if err := want.Validate(); err != nil {
		return fmt.Errorf("client: new coordinators: %w", err)
	}
	if want.Key() == cur.Key() {
		return fmt.Errorf("client: new coordinators %s need a new ID", want)
	}
	conn := d.coordinatorConn()
	conn.File = want
	down, err := unreachable(c, conn)
	if err != nil {
		return fmt.Errorf("client: checking the new coordinators: %w", err)
	}
	if len(down) > 0 {
		return fmt.Errorf("%w: %s did not answer within %v", ErrCoordinatorsUnreachable, strings.Join(down, ","), CoordinatorsProbeTimeout)
	}
	err = d.Transact(c, func(tr *Transaction) error {
		tr.Options().SetAccessSystemKeys()
		tr.Options().SetLockAware()
		tr.Set(kv.CoordinatorsKey, []byte(want.String()))
		return nil
	})
	if err != nil {
		return fmt.Errorf("client: requesting the new coordinators: %w", err)
	}
	return d.WaitCoordinators(c, want, wait)
}

// unreachable probes conn's coordinators until each answered or
// CoordinatorsProbeTimeout passed, and returns those that never did. A
// probe that fails at once (this process still counts a restarted
// coordinator as failed) is sent again.
func unreachable(c *flow.Ctx, conn coordinator.Conn) ([]string, error) {
	deadline := c.Now().Add(CoordinatorsProbeTimeout)
	for {
		reach, err := coordinator.Reachable(c, conn, max(deadline.Sub(c.Now()), 0))
		if err != nil {
			return nil, err
		}
		var down []string
		for i, ok := range reach {
			if !ok {
				down = append(down, conn.File.Coordinators[i].String())
			}
		}
		if len(down) == 0 || !c.Now().Before(deadline) {
			return down, nil
		}
		if err := c.Sleep(coordinatorsProbeRetry); err != nil {
			return nil, err
		}
	}
}

// coordinatorsProbeRetry is the pause between probes of new coordinators.
const coordinatorsProbeRetry = 250 * time.Millisecond

// WaitCoordinators waits until status names want as the cluster's
// connection string and this database follows it, or wait passes; then it
// says what it last saw.
func (d *Database) WaitCoordinators(c *flow.Ctx, want clusterfile.ClusterFile, wait time.Duration) error {
	deadline := c.Now().Add(wait)
	last := "no status read yet"
	for {
		cur, _ := d.CurrentClusterFile()
		st, err := d.readStatus(c)
		switch {
		case errors.Is(err, flow.ErrOperationCancelled):
			return err
		case err != nil:
			last = "status: " + err.Error()
		case st.Cluster == nil:
			last = "status has no cluster section (no cluster controller)"
		case st.Cluster.ConnectionString != want.String():
			last = "status names " + st.Cluster.ConnectionString
		case cur.String() != want.String():
			last = "this client still follows " + cur.String()
		default:
			return nil
		}
		if !c.Now().Before(deadline) {
			return fmt.Errorf("client: the cluster did not move to %s within %v (requested in %s): %s",
				want, wait, kv.Printable(kv.CoordinatorsKey), last)
		}
		if err := c.Sleep(coordinatorsPoll); err != nil {
			return err
		}
	}
}

// readStatus reads the status document.
func (d *Database) readStatus(c *flow.Ctx) (*status.Status, error) {
	doc, err := d.CreateTransaction().Get(c, StatusJSONKey)
	if err != nil {
		return nil, err
	}
	return status.Parse(doc)
}

// CoordinatorsChange asks for new coordinators through DB.ChangeCoordinators.
type CoordinatorsChange struct {
	// Addresses are the new coordinators; none means `coordinators auto`
	// (AutoCoordinators).
	Addresses []string
	// Description, if set, replaces the cluster's description.
	Description string
}

// ChangeCoordinators is `strata cli coordinators auto|<addr>...
// [description=...]` for Go callers (the deployer): it chooses the
// coordinators (req), and unless they are the current ones, moves the
// cluster to them with a fresh ID and waits until the database runs on
// them and this DB's cluster file names them. It returns the connection
// string the cluster runs on. It fails with ErrCoordinatorsUnreachable or
// ErrNotEnoughMachines before changing anything, and with ctx's error or a
// description of what it last saw if the change does not complete within
// ctx's deadline (or wait, whichever is first).
func (d *DB) ChangeCoordinators(ctx context.Context, req CoordinatorsChange, wait time.Duration) (clusterfile.ClusterFile, error) {
	var want clusterfile.ClusterFile
	for _, a := range req.Addresses {
		co, err := clusterfile.ParseCoordinator(a)
		if err != nil {
			return want, fmt.Errorf("client: coordinator %q: %w", a, err)
		}
		want.Coordinators = append(want.Coordinators, co)
	}
	return flow.Go(ctx, d.proc, "ChangeCoordinators", func(c *flow.Ctx) (clusterfile.ClusterFile, error) {
		cur, ok := d.db.CurrentClusterFile()
		if !ok {
			return cur, errors.New("client: changing the coordinators needs a database opened from a cluster file")
		}
		want.Description, want.ID = cur.Description, cur.ID
		if req.Description != "" {
			want.Description = req.Description
		}
		if len(want.Coordinators) == 0 {
			st, err := d.db.readStatus(c)
			if err != nil {
				return cur, fmt.Errorf("client: reading status to choose coordinators: %w", err)
			}
			if want.Coordinators, err = AutoCoordinators(st, cur); err != nil {
				return cur, err
			}
		}
		if SameCoordinators(cur, want) && want.Description == cur.Description {
			return cur, nil
		}
		want.ID = clusterfile.NewID(c.Rand())
		if err := d.db.ChangeCoordinators(c, want, wait); err != nil {
			return cur, err
		}
		return want, nil
	})
}
