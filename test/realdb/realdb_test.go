package realdb

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/workloads"
	"github.com/strata-db/strata/test/testserver"
)

// runActor runs body on the client process and waits for it.
func runActor(t *testing.T, p *flow.RealProcess, limit time.Duration, body func(c *flow.Ctx) error) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	_, err := flow.Go(ctx, p, "test", func(c *flow.Ctx) (struct{}, error) { return struct{}{}, body(c) })
	return err
}

func TestKillNineUnderLoadLosesNoAcknowledgedCommit(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real server under load for half a minute")
	}
	srv := testserver.Start(t, testserver.Binary(t))

	proc, err := flow.NewRealProcess(flow.RealConfig{ListenAddress: "127.0.0.1:0", ProcessID: "realdb-client"})
	if err != nil {
		t.Fatal(err)
	}
	stop := proc.Start()
	defer stop()

	var db workloads.DB
	cycle := workloads.NewCycle("cycle/", 50)
	bank := workloads.NewBank("bank/", 20, 1000)
	durable := workloads.NewDurable("durable/")
	if err := runActor(t, proc, 60*time.Second, func(c *flow.Ctx) error {
		cdb, err := client.NewDatabase(c.Env, []flow.Address{flow.Address(srv.Address)}, client.Config{OpenDatabaseToken: kv.TokenOpenDatabase})
		if err != nil {
			return err
		}
		db = workloads.FromClient(cdb)
		if err := cycle.Setup(c, db); err != nil {
			return err
		}
		return bank.Setup(c, db)
	}); err != nil {
		t.Fatalf("setup: %v", err)
	}

	const load = 30 * time.Second
	loadDone := make(chan error, 1)
	go func() {
		loadDone <- runActor(t, proc, load+2*time.Minute, func(c *flow.Ctx) error {
			until := c.Now().Add(load)
			var actors []flow.Future[struct{}]
			for i := range 4 {
				actors = append(actors, c.Spawn(fmt.Sprint("cycle", i), func(c *flow.Ctx) error { return cycle.Run(c, db, until, 5*time.Millisecond) }).Done())
				actors = append(actors, c.Spawn(fmt.Sprint("bank", i), func(c *flow.Ctx) error { return bank.Run(c, db, until, 5*time.Millisecond, false) }).Done())
				actors = append(actors, c.Spawn(fmt.Sprint("durable", i), func(c *flow.Ctx) error { return durable.Run(c, db, until, 5*time.Millisecond) }).Done())
			}
			_, err := flow.WaitAll(c, actors)
			return err
		})
	}()

	time.Sleep(12 * time.Second)
	srv.Kill()
	t.Log("server killed with SIGKILL")
	time.Sleep(time.Second)
	srv.Restart()
	t.Log("server restarted")

	if err := <-loadDone; err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := runActor(t, proc, time.Minute, func(c *flow.Ctx) error {
		if err := cycle.Check(c, db); err != nil {
			return err
		}
		if err := bank.Check(c, db); err != nil {
			return err
		}
		return durable.Check(c, db)
	}); err != nil {
		t.Fatalf("after kill -9 and restart: %v", err)
	}
	t.Logf("cycle commits %d, bank transfers %d, durable writes acknowledged %d (unknown %d)",
		cycle.Committed, bank.Transfers, durable.Acked(), durable.Unknown)
	if cycle.Committed == 0 || durable.Acked() == 0 {
		t.Fatal("the load committed nothing")
	}
}
