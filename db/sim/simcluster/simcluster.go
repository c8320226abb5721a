// Package simcluster builds a simulated multi-process database cluster for
// simulation tests: server processes on machines spread over zones, each
// running the real server wiring (db/server/node: coordinator, worker
// host, controller membership), and client processes that open the
// database through the coordinators, as a cluster file leads them.
package simcluster

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/clusterfile"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/server/controller"
	"github.com/strata-db/strata/db/server/node"
	"github.com/strata-db/strata/db/server/storage"
	"github.com/strata-db/strata/db/server/worker"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/status"
)

// Options shape a cluster.
type Options struct {
	// Servers is the number of server processes (one per machine); Zones
	// the number of zones they spread over round-robin (default Servers).
	Servers, Zones int
	// Coordinators is how many of the servers coordinate (default 1 for
	// one server, else 3, at most Servers), in distinct zones first.
	Coordinators int
	// Clients is the number of client processes.
	Clients int
	// DataDistribution and StorageKnobs tune the servers' data
	// distribution and storage servers (zero fields: defaults).
	DataDistribution controller.DataDistributionKnobs
	StorageKnobs     storage.Knobs
}

// Cluster is a simulated cluster and its client processes.
type Cluster struct {
	Sim     *sim.Simulation
	Servers []*sim.Process
	Clients []*sim.Process
	File    clusterfile.ClusterFile
	opts    Options
	// files are the cluster files the processes rewrote when they
	// followed the coordinators (coordinators.go); a rebooted server
	// starts from its own.
	files map[flow.Address]clusterfile.ClusterFile
	// bootErr records a server that failed to start (a test failure).
	bootErr error
}

const port = 4500

// New adds the servers and clients to s.
func New(s *sim.Simulation, o Options) *Cluster {
	if o.Zones <= 0 {
		o.Zones = o.Servers
	}
	if o.Coordinators <= 0 {
		o.Coordinators = min(3, o.Servers)
	}
	cl := &Cluster{Sim: s, File: clusterfile.ClusterFile{Description: "sim", ID: "cluster"}, opts: o,
		files: map[flow.Address]clusterfile.ClusterFile{}}
	for i := range o.Servers {
		zone := fmt.Sprintf("z%d", i%o.Zones+1)
		m := s.AddMachine(flow.Locality{Zone: zone, DC: "dc1"})
		p := s.AddProcess(m, port, cl.boot)
		cl.Servers = append(cl.Servers, p)
		if i < o.Coordinators {
			c, err := clusterfile.ParseCoordinator(string(p.Addr))
			if err != nil {
				panic(fmt.Sprintf("simcluster: a simulated address does not parse: %v", err))
			}
			cl.File.Coordinators = append(cl.File.Coordinators, c)
		}
	}
	for i := range o.Clients {
		m := s.AddMachine(flow.Locality{Zone: fmt.Sprintf("zc%d", i+1), DC: "dc1"})
		cl.Clients = append(cl.Clients, s.AddProcess(m, port, func(*flow.Env) {}))
	}
	return cl
}

// boot starts a server process (again after every reboot).
func (cl *Cluster) boot(e *flow.Env) {
	e.Spawn("Node", func(c *flow.Ctx) error {
		loc := e.Locality()
		_, err := node.Start(c, node.Config{
			ClusterFile:      cl.FileOf(e.Address()),
			WriteClusterFile: cl.recordFile(e.Address()),
			Identity: worker.Identity{
				ProcessID: string(e.Address()), Class: "unset", StorageEngine: "memory",
				Locality: map[string]string{"zoneid": loc.Zone, "machineid": loc.Machine, "dcid": loc.DC},
			},
			DataDistribution: cl.opts.DataDistribution,
			StorageKnobs:     cl.opts.StorageKnobs,
		})
		if err != nil && cl.bootErr == nil {
			cl.bootErr = fmt.Errorf("server %s failed to start: %w", e.Address(), err)
		}
		return err
	})
}

// Entries are the addresses clients open the database through.
func (cl *Cluster) Entries() []flow.Address {
	var out []flow.Address
	for _, a := range cl.File.Addresses() {
		out = append(out, flow.Address(a))
	}
	return out
}

// Open opens the database on a client process's Env, through the
// process's cluster file (FileOf).
func (cl *Cluster) Open(e *flow.Env) (*client.Database, error) {
	f := cl.FileOf(e.Address())
	entries := make([]flow.Address, 0, len(f.Coordinators))
	for _, a := range f.Addresses() {
		entries = append(entries, flow.Address(a))
	}
	return client.NewDatabase(e, entries, client.Config{OpenDatabaseToken: kv.TokenOpenDatabase,
		Cluster: &client.ClusterInfo{File: f}, OnCoordinatorsChanged: cl.recordFile(e.Address())})
}

// Spawn runs body as an actor on client i (modulo the client count) with
// its own open database.
func (cl *Cluster) Spawn(i int, name string, body func(c *flow.Ctx, db *client.Database) error) *flow.Actor {
	e := cl.Clients[i%len(cl.Clients)].Env()
	return e.Spawn(name, func(c *flow.Ctx) error {
		db, err := cl.Open(c.Env)
		if err != nil {
			return err
		}
		defer db.Close()
		return body(c, db)
	})
}

// ServerAddrs returns the servers' addresses.
func (cl *Cluster) ServerAddrs() []flow.Address {
	out := make([]flow.Address, len(cl.Servers))
	for i, p := range cl.Servers {
		out[i] = p.Addr
	}
	return out
}

// Clog injects RandomClogging among every process until stop.
func (cl *Cluster) Clog(stop time.Time) *flow.Actor {
	targets := cl.ServerAddrs()
	for _, p := range cl.Clients {
		targets = append(targets, p.Addr)
	}
	return cl.Sim.Controller().Spawn("RandomClogging", func(c *flow.Ctx) error {
		return cl.Sim.RandomClogging(c, stop, sim.ClogOptions{Targets: targets, MeanInterval: 2 * time.Second, MaxClog: time.Second})
	})
}

// WaitAll runs the simulation until every actor is done or limit of
// simulated time passes, and returns the first error among them.
func (cl *Cluster) WaitAll(limit time.Duration, actors ...*flow.Actor) error {
	cl.Sim.Run(limit, func() bool {
		return cl.bootErr != nil || !slices.ContainsFunc(actors, func(a *flow.Actor) bool { return !a.Done().IsReady() })
	})
	if cl.bootErr != nil {
		return cl.bootErr
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

// Configure sets the database's redundancy mode and storage engine
// through a client, as `strata cli configure` does.
func Configure(c *flow.Ctx, db *client.Database, mode string) error {
	return db.Transact(c, func(tr *client.Transaction) error {
		tr.Options().SetAccessSystemKeys()
		tr.Options().SetLockAware()
		tr.Set(kv.ConfKey(kv.ConfRedundancyMode), []byte(mode))
		tr.Set(kv.ConfKey(kv.ConfStorageEngine), []byte("memory"))
		return nil
	})
}

// ReadStatus reads the status document through a client.
func ReadStatus(c *flow.Ctx, db *client.Database) (*status.Status, error) {
	tr := db.CreateTransaction()
	doc, err := tr.Get(c, client.StatusJSONKey)
	if err != nil {
		return nil, err
	}
	st, err := status.Parse(doc)
	if err != nil {
		return nil, err
	}
	if st.Cluster == nil {
		return nil, fmt.Errorf("status has no cluster section: %v", st.Client.Messages)
	}
	return st, nil
}

// Poll calls check every half second until it reports done, fails, or
// limit passes; the error then says what and the last state check saw.
// check's state describes what it saw (a failed read of status, say).
func Poll(c *flow.Ctx, limit time.Duration, what string, check func(c *flow.Ctx) (done bool, state string)) error {
	deadline := c.Now().Add(limit)
	last := "nothing seen yet"
	for c.Now().Before(deadline) {
		done, state := check(c)
		if done {
			return nil
		}
		last = state
		if err := c.Sleep(500 * time.Millisecond); err != nil {
			return err
		}
	}
	return fmt.Errorf("%s: not within %v: %s", what, limit, last)
}

// WaitHealthy polls status until the cluster runs mode with its data
// healthy (fully replicated, nothing moving) and the database available,
// or until limit passes.
func WaitHealthy(c *flow.Ctx, db *client.Database, mode string, limit time.Duration) error {
	return Poll(c, limit, "the cluster healthy in "+mode, func(c *flow.Ctx) (bool, string) {
		st, err := ReadStatus(c, db)
		if err != nil {
			return false, err.Error()
		}
		cl := st.Cluster
		return cl.Configuration.RedundancyMode == mode && cl.Data.State.Healthy && cl.DatabaseAvailable,
			fmt.Sprintf("mode %s, data %s, available %v, recovery %s", cl.Configuration.RedundancyMode,
				cl.Data.State.Name, cl.DatabaseAvailable, cl.RecoveryState.Name)
	})
}

// MaxPoppedLag bounds how far a healthy log's reclaimable point may trail
// its durable version: storage servers keep the last five seconds in
// memory and pop what they made durable, every half second or so.
const MaxPoppedLag = 10 * time.Second

// WaitLogsPopped waits until every log in status reclaims its queue up to
// within MaxPoppedLag of its durable version: every tag a log holds is
// popped by a live storage server or released as dead. A tag nobody pops
// holds a log's queue forever, so its lag only grows (FoundationDB's
// QuietDatabase likewise waits for the logs' queues before its check).
func WaitLogsPopped(c *flow.Ctx, db *client.Database, limit time.Duration) error {
	return Poll(c, limit, "logs reclaiming their queues", func(c *flow.Ctx) (bool, string) {
		st, err := ReadStatus(c, db)
		if err != nil {
			return false, err.Error()
		}
		behind := ""
		for _, p := range slices.Sorted(maps.Keys(st.Cluster.Processes)) {
			for _, r := range st.Cluster.Processes[p].Roles {
				if r.Role != status.RoleLog || r.PoppedLag == nil || r.PoppedLag.Seconds <= MaxPoppedLag.Seconds() {
					continue
				}
				tag := "none"
				if r.MinPoppedTag != nil {
					tag = fmt.Sprintf("%d of %q", *r.MinPoppedTag, r.MinPoppedStorageServer)
				}
				behind += fmt.Sprintf("log %s on %s popped %.1fs behind (tag %s); ", r.ID, p, r.PoppedLag.Seconds, tag)
			}
		}
		return behind == "", behind
	})
}

// Exclude writes an exclusion of addr, as `strata cli exclude` does, and
// waits until status shows no storage or log role on it and the data
// healthy again.
func Exclude(c *flow.Ctx, db *client.Database, addr, mode string, limit time.Duration) error {
	e, err := kv.ParseExclusion(addr)
	if err != nil {
		return err
	}
	err = db.Transact(c, func(tr *client.Transaction) error {
		tr.Options().SetAccessSystemKeys()
		tr.Options().SetLockAware()
		tr.Set(kv.ExclusionKey(e, false), nil)
		return nil
	})
	if err != nil {
		return err
	}
	deadline := c.Now().Add(limit)
	last := "no status yet"
	for c.Now().Before(deadline) {
		if err := c.Sleep(500 * time.Millisecond); err != nil {
			return err
		}
		st, err := ReadStatus(c, db)
		if err != nil {
			last = err.Error()
			continue
		}
		holding := false
		for _, p := range st.Cluster.Processes {
			if p.Address != addr {
				continue
			}
			for _, r := range p.Roles {
				if r.Role == status.RoleStorage || r.Role == status.RoleLog {
					holding = true
					last = "it still has the " + r.Role + " role"
				}
			}
		}
		if !holding && st.Cluster.Data.State.Healthy && st.Cluster.Configuration.RedundancyMode == mode {
			return nil
		}
		if !holding {
			last = "data " + st.Cluster.Data.State.Name
		}
	}
	return fmt.Errorf("the exclusion of %s did not finish in %v: %s", addr, limit, last)
}

// ProxyAndLogs reads status and returns the process of a commit proxy
// and the processes of the current generation's logs: what the Rollback
// fault cuts apart.
func ProxyAndLogs(c *flow.Ctx, db *client.Database) (flow.Address, []flow.Address, error) {
	st, err := ReadStatus(c, db)
	if err != nil {
		return "", nil, err
	}
	var proxy flow.Address
	for _, addr := range slices.Sorted(maps.Keys(st.Cluster.Processes)) {
		p := st.Cluster.Processes[addr]
		if slices.ContainsFunc(p.Roles, func(r status.Role) bool { return r.Role == status.RoleCommitProxy }) {
			proxy = flow.Address(p.Address)
			break
		}
	}
	var logs []flow.Address
	for _, g := range st.Cluster.Logs {
		if !g.Current {
			continue
		}
		for _, l := range g.LogServers {
			logs = append(logs, flow.Address(l.Address))
		}
	}
	if proxy == "" || len(logs) == 0 {
		return "", nil, fmt.Errorf("status names no commit proxy or no current log (recovery %s)", st.Cluster.RecoveryState.Name)
	}
	return proxy, logs, nil
}

// CheckTeams checks every shard's team against the redundancy mode's
// policy: exactly its replica count of storage servers, each in a
// different zone.
func (cl *Cluster) CheckTeams(c *flow.Ctx, db *client.Database, mode string) error {
	replicas := map[string]int{"single": 1, "double": 2, "triple": 3}[mode]
	if replicas == 0 {
		return fmt.Errorf("checking teams: no policy for mode %q", mode)
	}
	shards, err := db.ShardMap(c)
	if err != nil {
		return fmt.Errorf("checking teams: %w", err)
	}
	for _, sh := range shards {
		zones := map[string]bool{}
		for _, addr := range sh.Servers {
			p := cl.Sim.Process(flow.Address(addr))
			if p == nil {
				return fmt.Errorf("shard %s: storage server at %s, which is no simulated process", sh.Range, addr)
			}
			zones[p.Machine.Locality.Zone] = true
		}
		if len(sh.Servers) != replicas || len(zones) != replicas {
			return fmt.Errorf("shard %s (%s): team %v spans %d zones, want %d servers in %d zones",
				sh.Range, mode, sh.Servers, len(zones), replicas, replicas)
		}
	}
	return nil
}
