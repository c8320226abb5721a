package apply

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/clusterfile"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/status"
	"github.com/strata-db/strata/deployer/plan"
)

// The keys that record the database configuration, as FoundationDB's
// `configure` writes them under \xff/conf/; the cluster controller
// recovers into the configuration they name.
const (
	RedundancyKey    = "\xff/conf/redundancy_mode"
	StorageEngineKey = "\xff/conf/storage_engine"
)

// roleKeys are the keys of the role counts, in plan.RoleCounts' order.
var roleKeys = [4]string{"\xff/conf/commit_proxies", "\xff/conf/grv_proxies", "\xff/conf/resolvers", "\xff/conf/logs"}

func roleCounts(r plan.RoleCounts) [4]int {
	return [4]int{r.CommitProxies, r.GRVProxies, r.Resolvers, r.Logs}
}

// Database reaches the cluster's database through a cluster file's
// content, for configure and for refreshing its configuration.
type Database struct {
	// ClusterFile is the cluster file text (description:ID@coordinators).
	ClusterFile []byte
	// Timeout bounds each operation, retries included.
	Timeout time.Duration
	// HealthTimeout bounds the wait, after a configuration change, until
	// the cluster reports the new configuration healthy; 0 means 2 minutes.
	HealthTimeout time.Duration
}

// run opens the database on a client process of its own and runs fn on
// it. The servers answer by dialling the client's address, so the client
// listens on this machine's address toward the first coordinator (the
// loopback address serves only local clusters).
func (db Database) run(ctx context.Context, fn func(c *flow.Ctx, d *client.Database) error) (client.ClusterFile, error) {
	return db.runFor(ctx, db.Timeout, fn)
}

// runFor is run with timeout as each operation's limit (0: none).
func (db Database) runFor(ctx context.Context, timeout time.Duration, fn func(c *flow.Ctx, d *client.Database) error) (client.ClusterFile, error) {
	cf, err := client.ParseClusterFile(string(db.ClusterFile))
	if err != nil {
		return cf, fmt.Errorf("cluster file: %w", err)
	}
	ip, err := flow.LocalAddressToward(string(cf.Coordinators[0]))
	if err != nil {
		return cf, err
	}
	proc, err := flow.NewRealProcess(flow.RealConfig{ListenAddress: net.JoinHostPort(ip, "0"), ProcessID: "strata-deployer"})
	if err != nil {
		return cf, fmt.Errorf("client process: %w", err)
	}
	stop := proc.Start()
	defer stop()
	opts := client.DefaultOptions()
	opts.AccessSystemKeys = true
	opts.Timeout = timeout
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout+time.Second)
		defer cancel()
	}
	_, err = flow.Go(ctx, proc, "deployer", func(c *flow.Ctx) (struct{}, error) {
		cfg := client.Config{OpenDatabaseToken: client.DefaultOpenDatabaseToken, Defaults: &opts}
		if file, err := clusterfile.Parse(string(db.ClusterFile)); err == nil {
			cfg.Cluster = &client.ClusterInfo{File: file}
		}
		d, err := client.NewDatabase(c.Env, cf.Coordinators, cfg)
		if err != nil {
			return struct{}{}, err
		}
		defer d.Close()
		return struct{}{}, fn(c, d)
	})
	return cf, err
}

// Configure writes the desired configuration (configure new, or a change
// of redundancy or storage engine) in one transaction, or moves the cluster
// to the desired coordinators, then waits until the cluster is healthy.
// The write and the wait share one client connection.
func (db Database) Configure(ctx context.Context, want plan.DesiredDatabase, c plan.Change) error {
	if c.Address == plan.CoordinatorsAddress {
		if err := db.ChangeCoordinators(ctx, want.Coordinators); err != nil {
			return err
		}
		return db.WaitHealthy(ctx, want.Redundancy)
	}
	limit := db.healthLimit()
	written := false
	cf, err := db.runFor(ctx, db.Timeout+limit, func(c *flow.Ctx, d *client.Database) error {
		err := d.Transact(c, func(tr *client.Transaction) error {
			if db.Timeout > 0 {
				if err := tr.Options().SetTimeout(db.Timeout); err != nil {
					return err
				}
			}
			tr.Set([]byte(RedundancyKey), []byte(want.Redundancy))
			tr.Set([]byte(StorageEngineKey), []byte(want.StorageEngine))
			for i, n := range roleCounts(want.Roles) {
				if n == 0 {
					tr.Clear([]byte(roleKeys[i])) // back to the database's default
				} else {
					tr.Set([]byte(roleKeys[i]), []byte(strconv.Itoa(n)))
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		written = true
		return waitHealthy(c, d, want.Redundancy, limit)
	})
	switch {
	case err != nil && !written:
		return fmt.Errorf("writing the configuration through %s: %w", cf, err)
	case err != nil:
		return err
	}
	return nil
}

// ChangeCoordinators moves the cluster to the coordinators at addrs through
// the database, as `coordinators <addr>...` does: the cluster controller
// copies the coordinated state to them, and every server and client
// follows and rewrites its cluster file (with a new cluster ID). It returns
// once the database runs on them. The hosts' cluster files are the
// servers' to rewrite: the deployer never writes new coordinators into
// them, or a restarted server would look for state the new coordinators do
// not hold yet.
func (db Database) ChangeCoordinators(ctx context.Context, addrs []string) error {
	if len(addrs) == 0 {
		return errors.New("moving the coordinators: no coordinators named")
	}
	want := clusterfile.ClusterFile{}
	for _, a := range addrs {
		co, err := clusterfile.ParseCoordinator(a)
		if err != nil {
			return fmt.Errorf("coordinator %q: %w", a, err)
		}
		want.Coordinators = append(want.Coordinators, co)
	}
	limit := db.HealthTimeout
	if limit <= 0 {
		limit = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, limit+time.Second)
	defer cancel()
	cf, err := db.runFor(ctx, limit, func(c *flow.Ctx, d *client.Database) error {
		cur, ok := d.CurrentClusterFile()
		if !ok {
			return errors.New("the database was not opened from a cluster file")
		}
		if client.SameCoordinators(cur, want) {
			return nil
		}
		want.Description, want.ID = cur.Description, clusterfile.NewID(c.Rand())
		return d.ChangeCoordinators(c, want, limit)
	})
	if err != nil {
		return fmt.Errorf("moving the coordinators of %s to %s: %w", cf, strings.Join(addrs, ","), err)
	}
	return nil
}

// WaitHealthy waits until the cluster's status says it runs mode with the
// database available, fully recovered and its data healthy (fully
// replicated, nothing moving), or until HealthTimeout, then says what is
// still missing.
func (db Database) WaitHealthy(ctx context.Context, mode string) error {
	limit := db.healthLimit()
	_, err := db.runFor(ctx, limit, func(c *flow.Ctx, d *client.Database) error {
		return waitHealthy(c, d, mode, limit)
	})
	return err
}

func (db Database) healthLimit() time.Duration {
	if db.HealthTimeout <= 0 {
		return 2 * time.Minute
	}
	return db.HealthTimeout
}

// Status reads while waiting for health: each is bounded by
// statusReadTimeout, and the next is asked healthPollInterval after the
// previous answered. A read waits for the cluster to have a controller,
// so the interval only bounds how late a change of status is seen; every
// look was a new client process and connection before (500 ms apart).
const (
	statusReadTimeout  = 10 * time.Second
	healthPollInterval = 100 * time.Millisecond
)

// waitHealthy reads the status on d until unhealthy finds nothing missing
// or limit has passed.
func waitHealthy(c *flow.Ctx, d *client.Database, mode string, limit time.Duration) error {
	deadline := c.Now().Add(limit)
	missing := "no status yet"
	for {
		st, err := readStatus(c, d, min(statusReadTimeout, max(deadline.Sub(c.Now()), time.Millisecond)))
		if err != nil {
			missing = "status: " + err.Error()
		} else if missing = unhealthy(st, mode); missing == "" {
			return nil
		}
		if !c.Now().Add(healthPollInterval).Before(deadline) {
			return fmt.Errorf("the cluster is not healthy after %v: %s", limit, missing)
		}
		if err := c.Sleep(healthPollInterval); err != nil {
			return err
		}
	}
}

func readStatus(c *flow.Ctx, d *client.Database, timeout time.Duration) (*status.Status, error) {
	tr := d.CreateTransaction()
	if err := tr.Options().SetTimeout(timeout); err != nil {
		return nil, err
	}
	doc, err := tr.Get(c, client.StatusJSONKey)
	if err != nil {
		return nil, err
	}
	return status.Parse(doc)
}

// unhealthy says what keeps st from being a healthy cluster in mode ("" if
// nothing).
func unhealthy(st *status.Status, mode string) string {
	cl := st.Cluster
	var missing []string
	if cl.Configuration.RedundancyMode != mode {
		missing = append(missing, fmt.Sprintf("redundancy %q, want %q", cl.Configuration.RedundancyMode, mode))
	}
	if cl.RecoveryState.Name != status.RecoveryFullyRecovered {
		missing = append(missing, "recovery state "+cl.RecoveryState.Name)
	}
	if !cl.DatabaseAvailable {
		missing = append(missing, "database unavailable")
	}
	if !cl.Data.State.Healthy {
		missing = append(missing, fmt.Sprintf("data %s (%s)", cl.Data.State.Name, cl.Data.State.Description))
	}
	return strings.Join(missing, "; ")
}

// Observe reads the configuration back. A database that cannot be reached
// within the timeout is an error; one never configured is Configured false.
// The coordinators are those of the cluster file it was reached through.
func (db Database) Observe(ctx context.Context) (*plan.ObservedDatabase, error) {
	var redundancy, engine []byte
	var roles [4][]byte
	cf, err := db.run(ctx, func(c *flow.Ctx, d *client.Database) error {
		return d.ReadTransact(c, func(tr *client.Transaction) error {
			var err error
			if redundancy, err = tr.Get(c, []byte(RedundancyKey)); err != nil {
				return err
			}
			for i, k := range roleKeys {
				if roles[i], err = tr.Get(c, []byte(k)); err != nil {
					return err
				}
			}
			engine, err = tr.Get(c, []byte(StorageEngineKey))
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("reading the configuration through %s: %w", cf, err)
	}
	var n [4]int
	for i, v := range roles {
		if v == nil {
			continue
		}
		if n[i], err = strconv.Atoi(string(v)); err != nil {
			return nil, fmt.Errorf("reading the configuration through %s: %s holds %q, not a count", cf, roleKeys[i], v)
		}
	}
	o := &plan.ObservedDatabase{
		Configured:    redundancy != nil,
		Redundancy:    string(redundancy),
		StorageEngine: string(engine),
		Roles:         plan.RoleCounts{CommitProxies: n[0], GRVProxies: n[1], Resolvers: n[2], Logs: n[3]},
	}
	for _, c := range cf.Coordinators {
		o.Coordinators = append(o.Coordinators, string(c))
	}
	return o, nil
}
