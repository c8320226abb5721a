package simtests

import (
	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/sim/simdb"
	"github.com/strata-db/strata/db/workloads"
)

// dbCluster is simdb's cluster with the workloads' view of the client.
type dbCluster struct{ *simdb.Cluster }

func newDBCluster(s *sim.Simulation, clients int) *dbCluster {
	return &dbCluster{simdb.New(s, clients)}
}

// db opens a client database on a client process, as the workloads see it.
func (d *dbCluster) db(e *flow.Env) (workloads.DB, error) {
	db, err := d.Open(e)
	if err != nil {
		return nil, err
	}
	return workloads.FromClient(db), nil
}

// spawn runs body as an actor on client i with an open database.
func (d *dbCluster) spawn(i int, name string, body func(c *flow.Ctx, db workloads.DB) error) *flow.Actor {
	return d.Spawn(i, name, func(c *flow.Ctx, db *client.Database) error { return body(c, workloads.FromClient(db)) })
}
