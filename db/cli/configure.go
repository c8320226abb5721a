package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/status"
)

// configureRequest is a parsed `configure' line.
type configureRequest struct {
	create, force bool
	conf          kv.Configuration
}

// parseConfigure reads configure's tokens: [new] [FORCE] then modes,
// engines and role counts in any order, as fdbcli. It prints fdbcli's
// message and returns errPrinted when they are wrong.
func (in *Interpreter) parseConfigure(args []string) (configureRequest, error) {
	var r configureRequest
	if len(args) == 0 {
		in.errorf("No options provided")
		return r, errPrinted
	}
	counts := map[string]*int{
		kv.ConfCommitProxies: &r.conf.CommitProxies, kv.ConfGRVProxies: &r.conf.GRVProxies,
		kv.ConfResolvers: &r.conf.Resolvers, kv.ConfLogs: &r.conf.Logs,
	}
	conflict := func() error {
		in.errorf("Conflicting options")
		return errPrinted
	}
	for _, tok := range args {
		name, value, isCount := strings.Cut(tok, "=")
		_, isMode := kv.RedundancyModes[tok]
		switch {
		case tok == "new":
			r.create = true
		case tok == "FORCE":
			r.force = true
		case isMode:
			if r.conf.RedundancyMode != "" && r.conf.RedundancyMode != tok {
				return r, conflict()
			}
			r.conf.RedundancyMode = tok
		case isEngine(tok):
			if r.conf.StorageEngine != "" && r.conf.StorageEngine != tok {
				return r, conflict()
			}
			r.conf.StorageEngine = tok
		case isCount && counts[name] != nil:
			n, err := strconv.Atoi(value)
			if err != nil || n < 1 || n > kv.MaxRoleCount {
				in.errorf("These changes would make the configuration invalid: %s needs a number from 1 to %d", showToken(tok), kv.MaxRoleCount)
				return r, errPrinted
			}
			if *counts[name] != 0 && *counts[name] != n {
				return r, conflict()
			}
			*counts[name] = n
		default:
			in.errorf("Unknown option `%s'", showToken(tok))
			return r, errPrinted
		}
	}
	if r.create && (r.conf.RedundancyMode == "" || r.conf.StorageEngine == "") {
		in.errorf("Must specify both a replication level and a storage engine when creating a new database")
		return r, errPrinted
	}
	if r.conf == (kv.Configuration{}) {
		in.errorf("No options provided")
		return r, errPrinted
	}
	return r, nil
}

// confNames are the configuration settings configure reads and writes.
var confNames = []string{kv.ConfRedundancyMode, kv.ConfStorageEngine, kv.ConfCommitProxies, kv.ConfGRVProxies, kv.ConfResolvers, kv.ConfLogs}

func isEngine(tok string) bool {
	for _, e := range kv.StorageEngines {
		if e == tok {
			return true
		}
	}
	return false
}

// cmdConfigure writes the configuration keys (kv.ConfKey) in one
// transaction: `new' only on a database never configured, and otherwise
// only on one that was. Unless FORCE, a redundancy mode needs as many
// fault zones (data halls for three_data_hall) as it keeps replicas among
// the processes status lists (when it lists any), and a change needs an
// available database.
func cmdConfigure(in *Interpreter, ctx context.Context, args []string) error {
	req, err := in.parseConfigure(args)
	if err != nil {
		return err
	}
	if !req.force {
		if err := in.checkConfigurable(ctx, req); err != nil {
			return err
		}
	}
	err = in.manage(ctx, true, func(tr Transaction) error {
		// Key by key: a range read of \xff/conf/ would also hold the
		// exclusions, which may be many.
		var rows []kv.KeyValue
		for _, name := range confNames {
			v, found, err := tr.Get(ctx, kv.ConfKey(name))
			if err != nil {
				return err
			}
			if found {
				rows = append(rows, kv.KeyValue{Key: kv.ConfKey(name), Value: v})
			}
		}
		old, err := kv.DecodeConfiguration(rows)
		if err != nil {
			return err
		}
		switch {
		case req.create && old.Configured():
			in.errorf("Database already exists! To change configuration, don't say `new'")
			return errPrinted
		case !req.create && !old.Configured():
			in.errorf("The database is not configured yet; type `configure new <MODE> <ENGINE>' to create it")
			return errPrinted
		}
		for _, w := range req.conf.Encode() {
			tr.Set(w.Key, w.Value)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if req.create {
		in.printf("Database created\n")
	} else {
		in.printf("Configuration changed\n")
	}
	return nil
}

// checkConfigurable applies fdbcli's checks that FORCE skips: the database
// is available (for a change), and enough fault zones exist.
func (in *Interpreter) checkConfigurable(ctx context.Context, req configureRequest) error {
	st, err := in.clusterStatus(ctx)
	if err != nil {
		if req.create {
			return nil // a new database is not available yet; nothing to count
		}
		in.errorf("The database is unavailable (%v)", err)
		in.errorf("Type `configure FORCE <TOKEN...>' to configure without this check")
		return errPrinted
	}
	mode := req.conf.RedundancyMode
	if mode == "" || len(st.Cluster.Processes) == 0 {
		return nil // no mode to check, or the controller knows no process yet
	}
	need, have := kv.RedundancyModes[mode], countZones(st, mode)
	if have < need {
		in.errorf("Not enough processes exist to support the specified configuration")
		fmt.Fprintf(in.cfg.Err, "%s keeps %d replicas in different %s, and the cluster has %d.\n", mode, need, zoneWord(mode), have)
		in.errorf("Type `configure FORCE <TOKEN...>' to configure without this check")
		return errPrinted
	}
	return nil
}

func zoneWord(mode string) string {
	if mode == "three_data_hall" {
		return "data halls"
	}
	return "zones"
}

// countZones counts the distinct fault zones (data halls for
// three_data_hall) of the processes that are not excluded.
func countZones(st *status.Status, mode string) int {
	zones := map[string]bool{}
	for _, p := range st.Cluster.Processes {
		if p.Excluded {
			continue
		}
		z := client.FaultZone(p)
		if mode == "three_data_hall" {
			z = p.Locality["data_hall"]
			if z == "" {
				continue
			}
		}
		zones[z] = true
	}
	return len(zones)
}
