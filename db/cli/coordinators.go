package cli

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/clusterfile"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/status"
)

// canonicalAddress is the form two addresses are compared in.
func canonicalAddress(a string) string {
	if e, err := kv.ParseExclusion(a); err == nil && !e.IsLocality() {
		return e.String()
	}
	return a
}

// currentConnection is the cluster's connection string: as status reports
// it, else as the cluster file holds it.
func (in *Interpreter) currentConnection(st *status.Status) (clusterfile.ClusterFile, error) {
	if st != nil && st.Cluster != nil && st.Cluster.ConnectionString != "" {
		if cf, err := clusterfile.Parse(st.Cluster.ConnectionString); err == nil {
			return cf, nil
		}
	}
	if in.cfg.ClusterFile == "" {
		return clusterfile.ClusterFile{}, fmt.Errorf("no connection string: status has none and no cluster file is known")
	}
	return clusterfile.Read(in.cfg.ClusterFile)
}

// coordinatorsRequest is a parsed `coordinators' line.
type coordinatorsRequest struct {
	auto        bool
	addrs       []clusterfile.Coordinator
	description string
}

func (in *Interpreter) parseCoordinators(args []string) (coordinatorsRequest, error) {
	var r coordinatorsRequest
	seen := map[string]bool{}
	for _, tok := range args {
		if d, ok := strings.CutPrefix(tok, "description="); ok {
			if d == "" || strings.Trim(d, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != "" {
				in.errorf("Cluster description must match [A-Za-z0-9_]+")
				return r, errPrinted
			}
			r.description = d
			continue
		}
		if tok == "auto" {
			r.auto = true
			continue
		}
		c, err := clusterfile.ParseCoordinator(tok)
		if err != nil || seen[canonicalAddress(c.String())] {
			in.errorf("The specified network addresses are invalid")
			if err != nil {
				fmt.Fprintf(in.cfg.Err, "%v\n", err)
			} else {
				fmt.Fprintf(in.cfg.Err, "%s is named twice\n", c)
			}
			return r, errPrinted
		}
		seen[canonicalAddress(c.String())] = true
		r.addrs = append(r.addrs, c)
	}
	if r.auto && len(r.addrs) > 0 {
		return r, in.usage("coordinators")
	}
	return r, nil
}

// cmdCoordinators shows the coordinators, or asks for new ones: it writes
// the new connection string to kv.CoordinatorsKey, for the cluster
// controller to act on, and waits until the cluster file or status names
// the new coordinators.
func cmdCoordinators(in *Interpreter, ctx context.Context, args []string) error {
	req, err := in.parseCoordinators(args)
	if err != nil {
		return err
	}
	bctx, cancel := in.bounded(ctx)
	defer cancel()
	st, stErr := in.clusterStatus(bctx)
	cur, err := in.currentConnection(st)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		in.printf("Cluster description: %s\n", cur.Description)
		in.printf("Cluster coordinators (%d): %s\n", len(cur.Coordinators), strings.Join(cur.Addresses(), ","))
		in.printf("Type `help coordinators' to learn how to change this information.\n")
		return nil
	}
	if stErr != nil {
		in.errorf("Database unreachable (%v)", stErr)
		return errPrinted
	}
	want := clusterfile.ClusterFile{Description: cur.Description, ID: cur.ID, Coordinators: req.addrs}
	if req.description != "" {
		want.Description = req.description
	}
	if len(req.addrs) == 0 { // auto, or only a new description
		if want.Coordinators, err = in.autoCoordinators(st, cur, req.auto); err != nil {
			return err
		}
	} else if err := in.checkCoordinatorsRun(st, req.addrs); err != nil {
		return err
	}
	if client.SameCoordinators(cur, want) && want.Description == cur.Description {
		in.printf("No change (existing configuration satisfies request)\n")
		return nil
	}
	want.ID = in.newClusterID()
	err = in.manage(bctx, true, func(tr Transaction) error {
		tr.Set(kv.CoordinatorsKey, []byte(want.String()))
		return nil
	})
	if err != nil {
		return err
	}
	cancel()
	return in.waitCoordinators(ctx, want)
}

// newClusterID returns a fresh cluster ID: the ID changes with the
// coordinators, as FoundationDB's.
func (in *Interpreter) newClusterID() string {
	if in.clusterIDs != nil {
		return in.clusterIDs()
	}
	return clusterfile.NewID(rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())))
}

// checkCoordinatorsRun refuses coordinators that are not processes of the
// cluster (fdbcli: NOT_COORDINATORS).
func (in *Interpreter) checkCoordinatorsRun(st *status.Status, addrs []clusterfile.Coordinator) error {
	known := map[string]bool{}
	for _, p := range st.Cluster.Processes {
		if !slices.ContainsFunc(p.Messages, func(m status.Message) bool { return m.Name == "unreachable_process" }) {
			known[canonicalAddress(p.Address)] = true
		}
	}
	for _, a := range addrs {
		if !known[canonicalAddress(a.String())] {
			in.errorf("Coordination servers are not running on the specified network addresses")
			fmt.Fprintf(in.cfg.Err, "No process of the cluster listens on %s.\n", a)
			return errPrinted
		}
	}
	return nil
}

// autoCoordinators chooses coordinators as fdbcli's `coordinators auto'
// (client.AutoCoordinators): without auto (only a new description was
// asked for) the current ones; else as many as the redundancy mode wants,
// each in its own zone among the reachable processes that are not
// excluded, keeping current coordinators first, then by address.
func (in *Interpreter) autoCoordinators(st *status.Status, cur clusterfile.ClusterFile, auto bool) ([]clusterfile.Coordinator, error) {
	if !auto {
		return cur.Coordinators, nil
	}
	out, err := client.AutoCoordinators(st, cur)
	if errors.Is(err, client.ErrNotEnoughMachines) {
		in.errorf("Too few strata server machines to provide coordination at the current redundancy level")
		fmt.Fprintf(in.cfg.Err, "%v\n", err)
		return nil, errPrinted
	}
	return out, err
}

// waitCoordinators waits until the cluster file or status names want's
// coordinators and description, or the wait timeout passes.
func (in *Interpreter) waitCoordinators(ctx context.Context, want clusterfile.ClusterFile) error {
	deadline := time.Now().Add(in.waitTimeout())
	for {
		if in.coordinatorsChanged(ctx, want) {
			in.printf("Coordination state changed\n")
			return nil
		}
		if !time.Now().Before(deadline) {
			in.errorf("The coordinators did not change within %v.", in.waitTimeout())
			fmt.Fprintf(in.cfg.Err, "The request (%s) is recorded in %s for the cluster controller, which has not completed it;\n"+
				"the cluster file and status still name the old coordinators. The controller moves only when every new coordinator answers:\n"+
				"check `status' and the new coordinators' processes, and run `coordinators' again to keep waiting.\n",
				want, kv.Printable(kv.CoordinatorsKey))
			return errPrinted
		}
		if err := sleep(ctx, min(in.pollInterval(), time.Until(deadline))); err != nil {
			return &dbError{err}
		}
	}
}

// coordinatorsChanged reports whether the change took: status names
// want's coordinators and description, or the cluster file does (this
// client followed the old coordinators' forward and rewrote it) and a
// cluster controller answers status again, elected on the new ones.
func (in *Interpreter) coordinatorsChanged(ctx context.Context, want clusterfile.ClusterFile) bool {
	match := func(cf clusterfile.ClusterFile) bool {
		return cf.Description == want.Description && client.SameCoordinators(cf, want)
	}
	fileMatches := false
	if in.cfg.ClusterFile != "" {
		if text, err := os.ReadFile(in.cfg.ClusterFile); err == nil {
			if cf, err := clusterfile.Parse(string(text)); err == nil && match(cf) {
				fileMatches = true
			}
		}
	}
	bctx, cancel := in.bounded(ctx)
	defer cancel()
	st, err := in.clusterStatus(bctx)
	if err != nil || st.Cluster == nil {
		return false
	}
	if fileMatches {
		return true
	}
	cf, err := clusterfile.Parse(st.Cluster.ConnectionString)
	return err == nil && match(cf)
}
