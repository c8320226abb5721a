// Package simdb builds a simulated database for simulation tests: one
// server process running every role of a single database
// (db/server/worker) and client processes that open it through its
// OpenDatabase endpoint, as a cluster file would lead them.
package simdb

import (
	"fmt"
	"slices"
	"time"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/server/worker"
	"github.com/strata-db/strata/db/sim"
)

// Cluster is a simulated single database and its client processes.
type Cluster struct {
	Sim     *sim.Simulation
	Server  *sim.Process
	Clients []*sim.Process
	// bootErr records a server that failed to start (a test failure).
	bootErr error
}

// New adds the server and clients to s.
func New(s *sim.Simulation, clients int) *Cluster {
	d := &Cluster{Sim: s}
	m := s.AddMachine(flow.Locality{Zone: "z-server", DC: "dc1"})
	d.Server = s.AddProcess(m, 4500, func(e *flow.Env) {
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
		d.Clients = append(d.Clients, s.AddProcess(cm, 4500, func(*flow.Env) {}))
	}
	return d
}

// Open opens the database on a client process's Env.
func (d *Cluster) Open(e *flow.Env) (*client.Database, error) {
	return client.NewDatabase(e, []flow.Address{d.Server.Addr}, client.Config{OpenDatabaseToken: kv.TokenOpenDatabase})
}

// Spawn runs body as an actor on client i (modulo the client count) with
// its own open database.
func (d *Cluster) Spawn(i int, name string, body func(c *flow.Ctx, db *client.Database) error) *flow.Actor {
	e := d.Clients[i%len(d.Clients)].Env()
	return e.Spawn(name, func(c *flow.Ctx) error {
		db, err := d.Open(c.Env)
		if err != nil {
			return err
		}
		defer db.Close()
		return body(c, db)
	})
}

// Clog injects RandomClogging among the cluster's processes until stop.
func (d *Cluster) Clog(stop time.Time) *flow.Actor {
	targets := []flow.Address{d.Server.Addr}
	for _, p := range d.Clients {
		targets = append(targets, p.Addr)
	}
	return d.Sim.Controller().Spawn("RandomClogging", func(c *flow.Ctx) error {
		return d.Sim.RandomClogging(c, stop, sim.ClogOptions{Targets: targets, MeanInterval: 2 * time.Second, MaxClog: time.Second})
	})
}

// WaitAll runs the simulation until every actor is done or limit of
// simulated time passes, and returns the first error among them.
func (d *Cluster) WaitAll(limit time.Duration, actors ...*flow.Actor) error {
	d.Sim.Run(limit, func() bool {
		return d.bootErr != nil || !slices.ContainsFunc(actors, func(a *flow.Actor) bool { return !a.Done().IsReady() })
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
