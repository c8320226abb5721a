package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/strata-db/strata/deployer/apply"
	"github.com/strata-db/strata/deployer/plan"
	"github.com/strata-db/strata/deployer/state"
)

func runApply(cmd *cobra.Command, arg string, f *deployFlags) error {
	var saved *plan.File
	configPath := arg
	if !strings.HasSuffix(arg, ".hcl") {
		var err error
		if saved, err = plan.LoadFile(arg); err != nil {
			return err
		}
		configPath = saved.ConfigPath
	}
	d, err := loadDeployment(cmd, configPath, f)
	if err != nil {
		return err
	}
	defer d.close()
	lock, err := state.Acquire(d.statePath, "apply", operator())
	if err != nil {
		return err
	}
	defer lock.Release()
	// Reload under the lock: another run may have finished meanwhile.
	if err := d.reloadState(); err != nil {
		return err
	}
	p, desired, err := d.approvedPlan(cmd, saved)
	if err != nil || p.Empty() {
		return err
	}
	return d.carryOut(cmd, p, desired)
}

// approvedPlan is the plan to apply with the desired configuration it was
// made for: a saved plan still fresh, or a new plan the operator approved.
func (d *deployment) approvedPlan(cmd *cobra.Command, saved *plan.File) (*plan.Plan, *plan.Desired, error) {
	ctx, stdout := cmd.Context(), cmd.OutOrStdout()
	if saved != nil {
		p, desired, err := d.checkSavedPlan(saved)
		if err != nil {
			return nil, nil, err
		}
		if _, err := d.preflight(ctx, d.connect(ctx, false)); err != nil {
			return nil, nil, err
		}
		return p, desired, writePlan(stdout, p, d.flags.jsonOut)
	}
	p, err := d.makePlan(ctx, stdout, cmd.ErrOrStderr())
	if err != nil {
		return nil, nil, err
	}
	if err := writePlan(stdout, p, d.flags.jsonOut); err != nil {
		return nil, nil, err
	}
	if !p.Empty() && !d.flags.autoApprove {
		if err := confirm(cmd, "Do you want to perform these actions?\n  Only 'yes' will be accepted to approve.", "yes"); err != nil {
			return nil, nil, err
		}
	}
	return p, d.desired, nil
}

// carryOut applies p with the state lock held: journal beside the state,
// the cluster's lease, progress to the terminal.
func (d *deployment) carryOut(cmd *cobra.Command, p *plan.Plan, desired *plan.Desired) error {
	ctx, stdout, stderr := cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr()
	f := d.flags
	if d.stateIsNew {
		// Saved before anything changes, so the cluster ID (from the
		// lineage) is fixed even if the first apply stops early.
		if err := state.Save(d.statePath, d.state); err != nil {
			return err
		}
	}
	journal, err := state.OpenJournal(d.statePath + ".journal")
	if err != nil {
		return err
	}
	defer journal.Close()
	runID, err := newRunID()
	if err != nil {
		return err
	}
	release, err := d.takeLease(ctx, p, runID, stderr)
	if err != nil {
		return err
	}
	defer release()
	dbFile := desired.Hosts[0].Cluster.Content
	if d.dbClusterFile != nil {
		// The running cluster's file: its coordinators and ID may have
		// moved on from what the description renders.
		dbFile = d.dbClusterFile
		desired = desired.WithClusterFile(d.dbClusterFile)
	}
	changed := onlyChangedHosts(desired, p)
	var names []string
	for _, h := range changed.Hosts {
		names = append(names, h.Name)
	}
	db := apply.Database{ClusterFile: dbFile, Timeout: f.waitTimeout}
	err = apply.Apply(ctx, p, changed, d.hosts, apply.Options{
		Parallel:    f.parallel,
		Release:     d.openRelease,
		Events:      progressSink(stdout, stderr, f.jsonOut, names),
		Journal:     journal,
		RunID:       runID,
		State:       d.state,
		StatePath:   d.statePath,
		WaitTimeout: f.waitTimeout,
		Configure:   db.Configure,
		Systemd:     systemdHosts(d.facts),
	})
	switch {
	case err != nil && ctx.Err() != nil:
		return fmt.Errorf("apply interrupted; what finished is in %s and %s.journal, and the next apply resumes from what the hosts run: %w", d.statePath, d.statePath, err)
	case err != nil:
		return fmt.Errorf("apply failed; what finished is in %s; fix the cause and apply again: %w", d.statePath, err)
	}
	if !f.jsonOut {
		add, change, destroy, restart := p.Counts()
		fmt.Fprintf(stdout, "\nApply complete! Resources: %d added, %d changed, %d destroyed, %d restarted.\n", add, change, destroy, restart)
	}
	return nil
}

// systemdHosts lists the hosts whose init is systemd.
func systemdHosts(facts map[string]apply.HostFacts) map[string]bool {
	out := map[string]bool{}
	for name, f := range facts {
		out[name] = f.Systemd
	}
	return out
}

// leaseTTL bounds how long a lease left by a run that died blocks others.
const leaseTTL = 30 * time.Minute

// takeLease takes the cluster's lease when its database is reachable: the
// one this run's refresh reached, or, for a saved plan that does not
// create the database, the desired one. Without a database (a new
// cluster) only the state lock guards the run. It returns the release.
func (d *deployment) takeLease(ctx context.Context, p *plan.Plan, runID string, warn io.Writer) (func(), error) {
	noop := func() {}
	cf := d.dbClusterFile
	if cf == nil && d.flags.refresh && !slices.ContainsFunc(p.Changes, func(c plan.Change) bool {
		return c.Address == plan.DatabaseAddress && c.Action == plan.Create
	}) {
		cf = d.desired.Hosts[0].Cluster.Content
	}
	if cf == nil || d.flags.ignoreLease {
		return noop, nil
	}
	db := apply.Database{ClusterFile: cf, Timeout: 5 * time.Second}
	err := db.AcquireLease(ctx, apply.Lease{ID: runID, Who: operator(), Op: "apply", Expires: time.Now().Add(leaseTTL)}, time.Now())
	var held *apply.LeaseHeldError
	switch {
	case errors.As(err, &held):
		return nil, err
	case err != nil:
		fmt.Fprintf(warn, "Warning: the cluster's lease could not be taken (%v); only the state lock guards this run.\n", err)
		return noop, nil
	}
	return func() {
		if err := db.ReleaseLease(context.WithoutCancel(ctx), runID); err != nil {
			fmt.Fprintf(warn, "Warning: %v; it expires by itself within %v.\n", err, leaseTTL)
		}
	}, nil
}

// checkSavedPlan refuses a plan file whose state or description moved on,
// and returns its plan and the desired configuration it was made for.
func (d *deployment) checkSavedPlan(f *plan.File) (*plan.Plan, *plan.Desired, error) {
	if d.stateIsNew && f.Plan.Lineage != "" {
		// The plan was made before the first apply: the state begins with
		// its lineage, so the cluster ID it rendered holds.
		d.state.Lineage = f.Plan.Lineage
		var err error
		if d.desired, err = plan.BuildDesired(d.spec, d.layout, d.binarySum, clusterID(d.state)); err != nil {
			return nil, nil, err
		}
	}
	if err := f.CheckFresh(d.state, d.desired); err != nil {
		if d.state.Lineage == f.Plan.Lineage && d.state.Serial == f.Plan.Serial {
			return nil, nil, fmt.Errorf("%w (or the release binary or the -var values differ from the plan's)", err)
		}
		return nil, nil, err
	}
	return f.Plan, f.Desired, nil
}

// onlyChangedHosts narrows d to the hosts the plan changes, so that a
// -target plan does not wait for hosts it leaves alone.
func onlyChangedHosts(d *plan.Desired, p *plan.Plan) *plan.Desired {
	out := *d
	out.Hosts = slices.DeleteFunc(slices.Clone(d.Hosts), func(h plan.DesiredHost) bool {
		return !slices.ContainsFunc(p.Changes, func(c plan.Change) bool { return c.Host == h.Name })
	})
	return &out
}

func newRunID() (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("making a run ID: %w", err)
	}
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:]), nil
}
