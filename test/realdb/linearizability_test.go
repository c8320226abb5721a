package realdb

import (
	"context"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/test/register"
	"github.com/strata-db/strata/test/testserver"
)

// TestRegisterIsLinearizableAcrossKillNine runs concurrent clients reading,
// writing and compare-and-setting one key through the Go client while the
// server is killed with SIGKILL and restarted, and checks the history with
// porcupine (package register). A write whose outcome is unknown stays
// open-ended in the history: it may or may not have happened. A check that
// cannot decide (porcupine's Unknown) fails the test.
func TestRegisterIsLinearizableAcrossKillNine(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real server and kills it")
	}
	srv := testserver.Start(t, testserver.Binary(t))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	db, err := client.Open(ctx, srv.ClusterFile)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The history starts once the database answers: a new cluster elects
	// its controller and recovers first.
	if _, err := db.ReadTransact(ctx, func(tx *client.Tx) (any, error) { return tx.Get([]byte("linearizability/")) }); err != nil {
		t.Fatal(err)
	}

	h := register.NewHistory(db, "linearizability/")
	const clients = 6
	loadEnd := time.Now().Add(6 * time.Second)
	var wg sync.WaitGroup
	for id := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(id), 7))
			for n := 0; time.Now().Before(loadEnd); n++ {
				opCtx, opCancel := context.WithTimeout(ctx, 3*time.Second)
				value := strconv.Itoa(id) + "-" + strconv.Itoa(n)
				switch rng.IntN(3) {
				case 0:
					h.Write(opCtx, id, "register", value)
				case 1:
					h.Read(opCtx, id, "register")
				default:
					if v, ok := h.Read(opCtx, id, "register"); ok {
						h.CompareAndSet(opCtx, id, "register", v, value)
					}
				}
				opCancel()
			}
		}()
	}
	time.Sleep(3 * time.Second)
	srv.Kill()
	time.Sleep(500 * time.Millisecond)
	srv.Restart()
	wg.Wait()

	register.Check(t, h.Operations(), time.Minute)
}
