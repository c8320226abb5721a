package simtests

import (
	"fmt"
	"time"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/server/worker"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/workloads"
)

// dbCluster is a simulated `single` database: one server process running
// every role (db/server/worker) and client processes that reach it through
// its OpenDatabase endpoint, as a real cluster file would lead them.
type dbCluster struct {
	s       *sim.Simulation
	server  *sim.Process
	clients []*sim.Process
	// bootErr records a server that failed to start (a test failure).
	bootErr error
}

func newDBCluster(s *sim.Simulation, clients int) *dbCluster {
	d := &dbCluster{s: s}
	m := s.AddMachine(flow.Locality{Zone: "z-server", DC: "dc1"})
	d.server = s.AddProcess(m, 4500, func(e *flow.Env) {
		e.Spawn("Worker", func(c *flow.Ctx) error {
			if _, err := worker.StartSingle(c, worker.Config{}); err != nil {
				d.bootErr = fmt.Errorf("server %s failed to start: %w", e.Address(), err)
				return err
			}
			return nil
		})
	})
	for i := range clients {
		cm := s.AddMachine(flow.Locality{Zone: fmt.Sprintf("z-client%d", i), DC: "dc1"})
		d.clients = append(d.clients, s.AddProcess(cm, 4500, func(*flow.Env) {}))
	}
	return d
}

// db opens a client database on a client process.
func (d *dbCluster) db(e *flow.Env) (workloads.DB, error) {
	db, err := client.NewDatabase(e, []flow.Address{d.server.Addr}, client.Config{OpenDatabaseToken: kv.TokenOpenDatabase})
	if err != nil {
		return nil, err
	}
	return workloads.FromClient(db), nil
}

// spawn runs body as an actor on client i with an open database, and
// returns the actor.
func (d *dbCluster) spawn(i int, name string, body func(c *flow.Ctx, db workloads.DB) error) *flow.Actor {
	e := d.clients[i%len(d.clients)].Env()
	return e.Spawn(name, func(c *flow.Ctx) error {
		db, err := d.db(c.Env)
		if err != nil {
			return err
		}
		return body(c, db)
	})
}

// clog injects RandomClogging among the cluster's processes until stop.
func (d *dbCluster) clog(stop time.Time) *flow.Actor {
	targets := []flow.Address{d.server.Addr}
	for _, p := range d.clients {
		targets = append(targets, p.Addr)
	}
	return d.s.Controller().Spawn("RandomClogging", func(c *flow.Ctx) error {
		return d.s.RandomClogging(c, stop, sim.ClogOptions{Targets: targets, MeanInterval: 2 * time.Second, MaxClog: time.Second})
	})
}

// waitAll runs the simulation until every actor is done or limit passes,
// and returns the first error among them.
func (d *dbCluster) waitAll(limit time.Duration, actors ...*flow.Actor) error {
	d.s.Run(limit, func() bool {
		if d.bootErr != nil {
			return true
		}
		for _, a := range actors {
			if !a.Done().IsReady() {
				return false
			}
		}
		return true
	})
	if d.bootErr != nil {
		return d.bootErr
	}
	for _, a := range actors {
		if !a.Done().IsReady() {
			return fmt.Errorf("an actor was still running after %v of simulated time", limit)
		}
		if err := a.Done().Err(); err != nil {
			return err
		}
	}
	return nil
}
