package cli

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/status"
)

// maxExclusions bounds the exclusions listed or cleared in one read.
const maxExclusions = 10_000

// excludeRequest is a parsed `exclude' or `include' line.
type excludeRequest struct {
	force, failed, noWait, all bool
	targets                    []kv.Exclusion
}

// parseExclusions reads [FORCE] [failed] [no_wait|--no-wait] [all]
// targets...; flags are recognised anywhere, as fdbcli does.
func (in *Interpreter) parseExclusions(args []string, allowAll bool) (excludeRequest, error) {
	var r excludeRequest
	for _, tok := range args {
		switch {
		case tok == "FORCE":
			r.force = true
		case tok == "failed":
			r.failed = true
		case tok == "no_wait" || tok == "--no-wait":
			r.noWait = true
		case tok == "all" && allowAll:
			r.all = true
		default:
			e, err := kv.ParseExclusion(tok)
			if err != nil {
				in.errorf("'%s' is neither a valid network endpoint address nor a locality", showToken(tok))
				if strings.HasSuffix(tok, ":tls") {
					fmt.Fprintf(in.cfg.Out, "        Do not include the `:tls' suffix when naming a process\n")
				}
				return r, errPrinted
			}
			r.targets = append(r.targets, e)
		}
	}
	return r, nil
}

// listExclusions reads every exclusion, excluded then failed.
func listExclusions(ctx context.Context, tr Transaction) (excluded, failed []kv.Exclusion, err error) {
	for _, prefix := range [][]byte{kv.ExcludedPrefix, kv.FailedPrefix} {
		rows, err := readRange(ctx, tr, kv.PrefixRange(prefix), maxExclusions)
		if err != nil {
			return nil, nil, err
		}
		for _, r := range rows {
			e, isFailed, err := kv.DecodeExclusionKey(r.Key)
			if err != nil {
				continue // not Strata's; `include all' clears it
			}
			if isFailed {
				failed = append(failed, e)
			} else {
				excluded = append(excluded, e)
			}
		}
	}
	return excluded, failed, nil
}

// cmdExclude lists the exclusions, or excludes processes: it writes their
// keys (kv.ExclusionKey) and, unless failed or no_wait, waits until status
// shows no storage or log role on a process they match.
func cmdExclude(in *Interpreter, ctx context.Context, args []string) error {
	req, err := in.parseExclusions(args, false)
	if err != nil {
		return err
	}
	bctx, cancel := in.bounded(ctx)
	defer cancel()
	if len(req.targets) == 0 {
		if len(args) > 0 {
			return in.usage("exclude")
		}
		return in.printExclusions(bctx)
	}
	st, stErr := in.clusterStatus(bctx)
	if !req.force {
		if err := in.checkExcludeSafe(st, stErr, req); err != nil {
			return err
		}
	}
	err = in.manage(bctx, true, func(tr Transaction) error {
		for _, e := range req.targets {
			tr.Set(kv.ExclusionKey(e, req.failed), nil)
		}
		return nil
	})
	if err != nil {
		return err
	}
	cancel()
	if req.failed || req.noWait {
		return in.reportExclusions(ctx, req.targets, false)
	}
	in.printf("Waiting for state to be removed from all excluded servers. This may take a while.\n")
	in.printf("(Interrupting this wait with CTRL+C will not cancel the data movement.)\n")
	deadline := time.Now().Add(in.waitTimeout())
	for {
		st, err := in.pollStatus(ctx)
		if err == nil && len(holding(st, req.targets)) == 0 {
			return in.reportExclusions(ctx, req.targets, false)
		}
		if !time.Now().Before(deadline) {
			in.errorf("Data is still on the excluded processes after %v; the exclusion stays recorded and data distribution keeps moving it.", in.waitTimeout())
			fmt.Fprintf(in.cfg.Err, "Run `exclude' with the same processes again to keep waiting, or check `status'.\n")
			_ = in.reportExclusions(ctx, req.targets, true)
			return errPrinted
		}
		if err := sleep(ctx, min(in.pollInterval(), time.Until(deadline))); err != nil {
			return &dbError{err}
		}
	}
}

// pollStatus reads status within the per-command timeout.
func (in *Interpreter) pollStatus(ctx context.Context) (*status.Status, error) {
	bctx, cancel := in.bounded(ctx)
	defer cancel()
	return in.clusterStatus(bctx)
}

// holding returns the addresses of the processes matched by targets that
// still hold a storage or log role.
func holding(st *status.Status, targets []kv.Exclusion) []string {
	var out []string
	for _, p := range st.Cluster.Processes {
		if matchesAny(targets, p) && hasRole(p, "storage", "log") {
			out = append(out, p.Address)
		}
	}
	sort.Strings(out)
	return out
}

func matchesAny(targets []kv.Exclusion, p status.Process) bool {
	for _, e := range targets {
		if e.Matches(p.Address, processLocality(p)) {
			return true
		}
	}
	return false
}

// checkExcludeSafe refuses (unless FORCE) an exclusion that would leave no
// process to hold data: every process of the cluster would be excluded.
func (in *Interpreter) checkExcludeSafe(st *status.Status, stErr error, req excludeRequest) error {
	if stErr != nil {
		in.errorf("Cannot check that the exclusion is safe: %v", stErr)
		in.errorf("Type `exclude FORCE <ADDRESS...>' to exclude without checking.")
		return errPrinted
	}
	for _, p := range st.Cluster.Processes {
		if !p.Excluded && !matchesAny(req.targets, p) {
			return nil
		}
	}
	if len(st.Cluster.Processes) == 0 {
		return nil
	}
	if req.failed {
		in.errorf("It is unsafe to exclude the specified servers at this time.")
		fmt.Fprintf(in.cfg.Err, "No process of the cluster would be left to hold its data.\n")
		in.errorf("Type `exclude FORCE failed <ADDRESS...>' to exclude without performing safety checks.")
		return errPrinted
	}
	in.errorf("This exclude would leave no process of the cluster to hold its data.")
	in.errorf("Type `exclude FORCE <ADDRESS...>' to exclude without this check.")
	return errPrinted
}

// reportExclusions prints fdbcli's verdict on each target, and warns about
// excluded coordinators. gaveUp (the wait timed out) makes a target still
// holding data fail the command.
func (in *Interpreter) reportExclusions(ctx context.Context, targets []kv.Exclusion, gaveUp bool) error {
	st, err := in.pollStatus(ctx)
	if err != nil {
		in.errorf("Cannot tell whether the excluded processes still hold data: %v", err)
		return errPrinted
	}
	failed := false
	for _, e := range targets {
		what, name := "process", e.String()
		if !e.IsLocality() && e.Port == 0 {
			what, name = "machine", e.String()+"(Whole machine)"
		}
		matched, busy := false, false
		for _, p := range st.Cluster.Processes {
			if e.Matches(p.Address, processLocality(p)) {
				matched = true
				busy = busy || hasRole(p, "storage", "log")
			}
		}
		switch {
		case !matched:
			fmt.Fprintf(in.cfg.Err, "  %s  ---- WARNING: Missing from cluster! Be sure that you excluded the correct %ses before removing them from the cluster!\n", name, what)
		case busy:
			failed = failed || gaveUp
			fmt.Fprintf(in.cfg.Err, "  %s  ---- WARNING: Exclusion in progress! It is not safe to remove this %s from the cluster\n", name, what)
		default:
			in.printf("  %s  ---- Successfully excluded. It is now safe to remove this %s from the cluster.\n", name, what)
		}
	}
	in.warnCoordinators(st, targets)
	if failed {
		return errPrinted
	}
	return nil
}

// warnCoordinators warns about coordinators among the excluded processes.
func (in *Interpreter) warnCoordinators(st *status.Status, targets []kv.Exclusion) {
	cur, err := in.currentConnection(st)
	if err != nil {
		return
	}
	locality := map[string]map[string]string{}
	for _, p := range st.Cluster.Processes {
		locality[canonicalAddress(p.Address)] = processLocality(p)
	}
	found := false
	for _, c := range cur.Coordinators {
		addr := c.String()
		loc := locality[canonicalAddress(addr)]
		if loc == nil {
			loc = map[string]string{"processid": addr}
		}
		for _, e := range targets {
			if e.Matches(addr, loc) {
				fmt.Fprintf(in.cfg.Err, "WARNING: %s is a coordinator!\n", addr)
				found = true
				break
			}
		}
	}
	if found {
		in.printf("Type `help coordinators' for information on how to change the\ncluster's coordination servers before removing them.\n")
	}
}

func (in *Interpreter) printExclusions(ctx context.Context) error {
	var excluded, failed []kv.Exclusion
	err := in.manage(ctx, false, func(tr Transaction) error {
		var err error
		excluded, failed, err = listExclusions(ctx, tr)
		return err
	})
	if err != nil {
		return err
	}
	if len(excluded)+len(failed) == 0 {
		in.printf("There are currently no servers or localities excluded from the database.\n")
		in.printf("To learn how to exclude a server, type `help exclude'.\n")
		return nil
	}
	in.printf("There are currently %d servers or localities being excluded from the database:\n", len(excluded)+len(failed))
	for _, e := range excluded {
		in.printf("  %s\n", e)
	}
	for _, e := range failed {
		in.printf("  %s (failed)\n", e)
	}
	in.printf("To find out whether it is safe to remove one or more of these\nservers from the cluster, type `exclude <addresses>'.\n")
	in.printf("To return one of these servers to the cluster, type `include <addresses>'.\n")
	return nil
}

// cmdInclude clears exclusions: `all' of them (or all failed ones with
// `failed'), or the targets named; a whole machine also clears the
// exclusions of its processes, as fdbcli.
func cmdInclude(in *Interpreter, ctx context.Context, args []string) error {
	req, err := in.parseExclusions(args, true)
	if err != nil {
		return err
	}
	if req.force || req.noWait || (req.all == (len(req.targets) > 0)) {
		return in.usage("include")
	}
	prefix := kv.ExcludedPrefix
	if req.failed {
		prefix = kv.FailedPrefix
	}
	return in.manage(ctx, true, func(tr Transaction) error {
		if req.all {
			r := kv.PrefixRange(prefix)
			tr.ClearRange(r.Begin, r.End)
			return nil
		}
		for _, e := range req.targets {
			key := kv.ExclusionKey(e, req.failed)
			tr.Clear(key)
			if !e.IsLocality() && e.Port == 0 {
				// The machine's processes: "<ip>:<port>" or "[<ipv6>]:<port>".
				host := e.Host
				if strings.Contains(host, ":") {
					host = "[" + host + "]"
				}
				r := kv.PrefixRange(append(bytes.Clone(prefix), host+":"...))
				tr.ClearRange(r.Begin, r.End)
			}
		}
		return nil
	})
}
