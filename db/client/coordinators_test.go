package client

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/strata-db/strata/db/clusterfile"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/server/coordinator"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/status"
)

// A database follows its coordinators' forward: it opens the database
// through the new ones and persists the new connection string once.
func TestDatabaseFollowsTheCoordinators(t *testing.T) {
	s := sim.New(5, sim.Options{})
	var addrs []string
	for range 2 {
		p := s.AddProcess(s.AddMachine(flow.Locality{}), 4500, func(e *flow.Env) {
			if _, err := coordinator.Start(e, coordinator.Config{BaseToken: kv.TokenCoordinatorBase}); err != nil {
				t.Error(err)
			}
		})
		addrs = append(addrs, string(p.Addr))
	}
	from, _ := clusterfile.Parse("d:one@" + addrs[0])
	to, _ := clusterfile.Parse("d:two@" + addrs[1])
	cl := s.AddProcess(s.AddMachine(flow.Locality{}), 4500, func(*flow.Env) {})
	var written []string
	a := cl.Env().Spawn("Test", func(c *flow.Ctx) error {
		db, err := NewDatabase(c.Env, []flow.Address{flow.Address(addrs[0])}, Config{
			OpenDatabaseToken: kv.TokenOpenDatabase,
			Cluster:           &ClusterInfo{File: from},
			OnCoordinatorsChanged: func(_ *flow.Ctx, cf clusterfile.ClusterFile) error {
				written = append(written, cf.String())
				return nil
			},
		})
		if err != nil {
			return err
		}
		defer db.Close()
		conn := func(f clusterfile.ClusterFile) coordinator.Conn {
			return coordinator.Conn{File: f, BaseToken: kv.TokenCoordinatorBase}
		}
		if err := coordinator.MoveCoordinatedState(c, conn(from), conn(to)); err != nil {
			return err
		}
		for range 100 {
			if cur, _ := db.CurrentClusterFile(); cur.String() == to.String() {
				break
			}
			if err := c.Sleep(100 * time.Millisecond); err != nil {
				return err
			}
		}
		if cur, _ := db.CurrentClusterFile(); cur.String() != to.String() {
			t.Errorf("the database follows %s, want %s", cur, to)
		}
		if !slices.Equal(db.entry, []flow.Address{flow.Address(addrs[1])}) {
			t.Errorf("the database opens through %v, want %s", db.entry, addrs[1])
		}
		return nil
	})
	s.Run(time.Minute, func() bool { return a.Done().IsReady() })
	if err := a.Done().Err(); err != nil || !a.Done().IsReady() {
		t.Fatalf("test actor: ready %v, %v", a.Done().IsReady(), err)
	}
	if !slices.Equal(written, []string{to.String()}) {
		t.Errorf("persisted %q, want exactly [%s]", written, to)
	}
}

func statusWith(mode string, procs ...status.Process) *status.Status {
	st := &status.Status{Cluster: &status.Cluster{Processes: map[string]status.Process{}}}
	st.Cluster.Configuration.RedundancyMode = mode
	for i, p := range procs {
		st.Cluster.Processes[string(rune('a'+i))] = p
	}
	return st
}

func proc(addr, zone string, unreachable bool) status.Process {
	p := status.Process{Address: addr, Locality: map[string]string{"zoneid": zone}}
	if unreachable {
		p.Messages = []status.Message{{Name: "unreachable_process"}}
	}
	return p
}

func TestAutoCoordinators(t *testing.T) {
	cur, _ := clusterfile.Parse("t:a@10.0.0.1:1,10.0.0.2:1,10.0.0.3:1")
	five := []status.Process{
		proc("10.0.0.1:1", "z1", false), proc("10.0.0.2:1", "z2", true), proc("10.0.0.3:1", "z3", false),
		proc("10.0.0.4:1", "z4", false), proc("10.0.0.5:1", "z5", false),
	}
	// triple wants five; four zones are alive: the largest odd number, three,
	// current live coordinators first, never the unreachable one.
	got, err := AutoCoordinators(statusWith("triple", five...), cur)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.1:1", "10.0.0.3:1", "10.0.0.4:1"}
	var addrs []string
	for _, c := range got {
		addrs = append(addrs, c.String())
	}
	if !slices.Equal(addrs, want) {
		t.Errorf("triple with one of five down: %v, want %v", addrs, want)
	}
	// Fewer live zones than current coordinators: refused.
	if _, err := AutoCoordinators(statusWith("triple", five[:2]...), cur); !errors.Is(err, ErrNotEnoughMachines) {
		t.Errorf("two processes, one down: %v, want ErrNotEnoughMachines", err)
	}
	// No cluster section: say so.
	if _, err := AutoCoordinators(&status.Status{}, cur); !errors.Is(err, ErrNoClusterStatus) {
		t.Errorf("no cluster section: %v, want ErrNoClusterStatus", err)
	}
}
