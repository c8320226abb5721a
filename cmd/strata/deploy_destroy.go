package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/strata-db/strata/deployer/apply"
	"github.com/strata-db/strata/deployer/plan"
	"github.com/strata-db/strata/deployer/state"
)

func runDestroy(cmd *cobra.Command, configPath string, f *deployFlags) error {
	ctx := cmd.Context()
	d, err := loadDeployment(cmd, configPath, f)
	if err != nil {
		return err
	}
	defer d.close()
	lock, err := state.Acquire(d.statePath, "destroy", operator())
	if err != nil {
		return err
	}
	defer lock.Release()
	if err := d.reloadState(); err != nil {
		return err
	}
	if fails := d.connect(ctx, true); len(fails) > 0 {
		return &apply.PreflightError{Failures: fails}
	}
	targets := d.destroyTargets()
	if err := d.confirmDestroy(cmd, targets); err != nil {
		return err
	}
	var names []string
	for _, t := range targets {
		names = append(names, t.Host.Name)
	}
	out := cmd.OutOrStdout()
	sink := progressSink(out, cmd.ErrOrStderr(), f.jsonOut, names)
	runID, err := newRunID()
	if err != nil {
		return err
	}
	derr := apply.Destroy(ctx, targets, d.hosts, apply.DestroyOptions{
		PurgeData: f.purgeData, Parallel: f.parallel, Events: sink, RunID: runID,
		HostDone: func(host string) { d.forgetHost(host) },
	})
	if derr == nil {
		d.state.Remove(plan.DatabaseAddress)
		d.state.Remove(plan.CoordinatorsAddress)
	}
	if d.stateIsNew {
		// Nothing was ever applied from this machine; keep no state.
		return derr
	}
	if err := state.Save(d.statePath, d.state); err != nil {
		return errors.Join(derr, err)
	}
	if derr != nil {
		return derr
	}
	if !f.jsonOut {
		fmt.Fprintf(out, "\nDestroy complete! %d host(s) cleaned.\n", len(targets))
	}
	return nil
}

// confirmDestroy shows what destroy removes and asks for "yes", or for
// the cluster's name when data is deleted too (unless -auto-approve).
func (d *deployment) confirmDestroy(cmd *cobra.Command, targets []apply.DestroyTarget) error {
	out, f := cmd.OutOrStdout(), d.flags
	fmt.Fprintf(out, "Strata will destroy cluster %q:\n", d.spec.Cluster.Name)
	for _, t := range targets {
		fmt.Fprintf(out, "  - host %s: stop the monitor and %d process(es), remove %s, %s, %s\n",
			t.Host.Name, len(t.Host.Processes), t.Host.Conf.Path, t.Host.Cluster.Path, t.Host.Release.Path)
		if f.purgeData {
			fmt.Fprintf(out, "    and DELETE the data in %s\n", strings.Join(t.ProcessDataDirs, " "))
		}
	}
	if !f.purgeData {
		fmt.Fprintln(out, "Data directories are kept (-purge-data deletes them).")
	}
	if f.autoApprove {
		return nil
	}
	if f.purgeData {
		return confirm(cmd, fmt.Sprintf("This deletes the database's data. Type the cluster's name (%s) to confirm.", d.spec.Cluster.Name), d.spec.Cluster.Name)
	}
	return confirm(cmd, "Do you really want to destroy the cluster?\n  Only 'yes' will be accepted to confirm.", "yes")
}

// destroyTargets lists each described host with its directories, and the
// binaries of other releases the state says were installed there (the one
// it names and those installed before it).
func (d *deployment) destroyTargets() []apply.DestroyTarget {
	var out []apply.DestroyTarget
	for i := range d.desired.Hosts {
		dh := &d.desired.Hosts[i]
		sh := d.spec.Host(dh.Name)
		t := apply.DestroyTarget{Host: dh, LogDir: sh.Paths.Log}
		for _, p := range dh.Processes {
			t.ProcessDataDirs = append(t.ProcessDataDirs, sh.Paths.ProcessData(p.Port))
		}
		if r := d.state.Resource("host." + dh.Name + "." + plan.TypeRelease); r != nil {
			t.ExtraFiles = append(t.ExtraFiles, apply.PreviousReleases(r.Attributes, dh.Release.Path)...)
		}
		out = append(out, t)
	}
	return out
}

// forgetHost removes a destroyed host's resources from the state.
func (d *deployment) forgetHost(host string) {
	var gone []string
	for _, r := range d.state.Resources {
		if r.Attributes["host"] == host {
			gone = append(gone, r.Address)
		}
	}
	for _, a := range gone {
		d.state.Remove(a)
	}
}
