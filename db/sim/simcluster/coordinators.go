package simcluster

import (
	"fmt"
	"time"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/clusterfile"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/status"
)

// FileOf returns the cluster file of the process at addr: the one it last
// rewrote after following the coordinators, else the cluster's initial
// one.
func (cl *Cluster) FileOf(addr flow.Address) clusterfile.ClusterFile {
	if f, ok := cl.files[addr]; ok {
		return f
	}
	return cl.File
}

// recordFile returns the process's cluster-file writer: the simulation
// keeps the file, durable at once, for the process's next boot and for
// the test to check.
func (cl *Cluster) recordFile(addr flow.Address) func(*flow.Ctx, clusterfile.ClusterFile) error {
	return func(_ *flow.Ctx, cf clusterfile.ClusterFile) error {
		cl.files[addr] = cf
		return nil
	}
}

// ChangeCoordinators asks for new coordinators through a client, as
// `strata cli coordinators auto|<addr>...` does, and waits until the
// database runs on them: addrs names them, or none means auto. It returns
// the new connection string.
func ChangeCoordinators(c *flow.Ctx, db *client.Database, addrs []flow.Address, limit time.Duration) (clusterfile.ClusterFile, error) {
	cur, ok := db.CurrentClusterFile()
	if !ok {
		return cur, fmt.Errorf("simcluster: the database has no cluster file")
	}
	want := clusterfile.ClusterFile{Description: cur.Description, ID: clusterfile.NewID(c.Rand())}
	for _, a := range addrs {
		co, err := clusterfile.ParseCoordinator(string(a))
		if err != nil {
			return cur, err
		}
		want.Coordinators = append(want.Coordinators, co)
	}
	if len(addrs) == 0 {
		// Not ReadStatus: a status without a cluster section (no
		// controller answered it) is AutoCoordinators'
		// ErrNoClusterStatus, which callers retry.
		var doc []byte
		err := db.Transact(c, func(tr *client.Transaction) error {
			var err error
			doc, err = tr.Get(c, client.StatusJSONKey)
			return err
		})
		if err != nil {
			return cur, fmt.Errorf("simcluster: status for coordinators auto: %w", err)
		}
		st, err := status.Parse(doc)
		if err != nil {
			return cur, fmt.Errorf("simcluster: status for coordinators auto: %w", err)
		}
		if want.Coordinators, err = client.AutoCoordinators(st, cur); err != nil {
			return cur, err
		}
	}
	if err := db.ChangeCoordinators(c, want, limit); err != nil {
		return cur, err
	}
	return want, nil
}
