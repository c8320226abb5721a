package apply

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/deployer/plan"
)

// The keys that record the database configuration, as FoundationDB's
// `configure` writes them under \xff/conf/. Strata's cluster recruitment
// (the cluster issue) reads them; until it does, they record the operator's
// configuration and nothing acts on them.
const (
	RedundancyKey    = "\xff/conf/redundancy_mode"
	StorageEngineKey = "\xff/conf/storage_engine"
)

// Database reaches the cluster's database through a cluster file's
// content, for configure and for refreshing its configuration.
type Database struct {
	// ClusterFile is the cluster file text (description:ID@coordinators).
	ClusterFile []byte
	// Timeout bounds each operation, retries included.
	Timeout time.Duration
}

func (db Database) open(ctx context.Context) (*client.DB, client.ClusterFile, error) {
	cf, err := client.ParseClusterFile(string(db.ClusterFile))
	if err != nil {
		return nil, cf, fmt.Errorf("cluster file: %w", err)
	}
	opts := client.DefaultOptions()
	opts.AccessSystemKeys = true
	opts.Timeout = db.Timeout
	d, err := client.OpenCluster(ctx, cf.Coordinators, client.Config{OpenDatabaseToken: client.DefaultOpenDatabaseToken, Defaults: &opts})
	if err != nil {
		return nil, cf, fmt.Errorf("opening the database at %s: %w", cf, err)
	}
	return d, cf, nil
}

// Configure writes the desired configuration (configure new, or a change
// of redundancy or storage engine) in one transaction. Coordinator changes
// are refused: the database cannot move its coordinators yet.
func (db Database) Configure(ctx context.Context, want plan.DesiredDatabase, c plan.Change) error {
	if c.Address == "cluster.coordinators" {
		return errors.New("changing the coordinators of a running database is not supported yet; " +
			"the cluster file on the hosts keeps the old coordinators")
	}
	d, cf, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer d.Close()
	_, err = d.Transact(ctx, func(tx *client.Tx) (any, error) {
		tx.Set([]byte(RedundancyKey), []byte(want.Redundancy))
		tx.Set([]byte(StorageEngineKey), []byte(want.StorageEngine))
		return nil, nil
	})
	if err != nil {
		return fmt.Errorf("writing the configuration through %s: %w", cf, err)
	}
	return nil
}

// Observe reads the configuration back. A database that cannot be reached
// within the timeout is an error; one never configured is Configured false.
// The coordinators are those of the cluster file it was reached through.
func (db Database) Observe(ctx context.Context) (*plan.ObservedDatabase, error) {
	d, cf, err := db.open(ctx)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	v, err := d.ReadTransact(ctx, func(tx *client.Tx) (any, error) {
		r, err := tx.Get([]byte(RedundancyKey))
		if err != nil {
			return nil, err
		}
		e, err := tx.Get([]byte(StorageEngineKey))
		if err != nil {
			return nil, err
		}
		return [2][]byte{r, e}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the configuration through %s: %w", cf, err)
	}
	kvs := v.([2][]byte)
	o := &plan.ObservedDatabase{
		Configured:    kvs[0] != nil,
		Redundancy:    string(kvs[0]),
		StorageEngine: string(kvs[1]),
	}
	for _, c := range cf.Coordinators {
		o.Coordinators = append(o.Coordinators, string(c))
	}
	return o, nil
}
