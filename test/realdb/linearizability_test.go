package realdb

import (
	"context"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/test/testserver"
)

// registerInput is one operation on a single register: a write of a value
// or a read.
type registerInput struct {
	write bool
	value string
}

// registerModel is a single register that starts empty ("").
var registerModel = porcupine.Model{
	Init: func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		in := input.(registerInput)
		if in.write {
			return true, in.value
		}
		return output.(string) == state.(string), state
	},
	DescribeOperation: func(input, output any) string {
		in := input.(registerInput)
		if in.write {
			return "write(" + in.value + ")"
		}
		return "read() -> " + output.(string)
	},
}

// TestRegisterIsLinearizableAcrossKillNine runs concurrent clients reading
// and writing one key through the Go client while the server is killed with
// SIGKILL and restarted, and checks the history with porcupine. A write
// whose outcome is unknown (its call failed) stays pending forever in the
// history: it may or may not have happened. A check that cannot decide
// (porcupine's Unknown) fails the test.
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
	key := []byte("linearizability/register")
	// The history starts once the database answers: a new cluster elects
	// its controller and recovers first.
	if _, err := db.Transact(ctx, func(tx *client.Tx) (any, error) { tx.Set(key, []byte("")); return nil, nil }); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	var mu sync.Mutex
	var history []porcupine.Operation
	record := func(op porcupine.Operation) {
		mu.Lock()
		history = append(history, op)
		mu.Unlock()
	}
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
				call := time.Since(start).Nanoseconds()
				if rng.IntN(2) == 0 {
					value := strconv.Itoa(id) + "-" + strconv.Itoa(n)
					_, err := db.Transact(opCtx, func(tx *client.Tx) (any, error) {
						tx.Set(key, []byte(value))
						return nil, nil
					})
					ret := time.Since(start).Nanoseconds()
					if err != nil {
						ret = math.MaxInt64 // unknown: may have happened at any time after the call
					}
					record(porcupine.Operation{ClientId: id, Input: registerInput{write: true, value: value}, Call: call, Output: "", Return: ret})
				} else {
					v, err := db.ReadTransact(opCtx, func(tx *client.Tx) (any, error) { return tx.Get(key) })
					ret := time.Since(start).Nanoseconds()
					if err == nil {
						got := ""
						if b, _ := v.([]byte); b != nil {
							got = string(b)
						}
						record(porcupine.Operation{ClientId: id, Input: registerInput{}, Call: call, Output: got, Return: ret})
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

	reads, unknown := 0, 0
	for _, op := range history {
		if !op.Input.(registerInput).write {
			reads++
		} else if op.Return == math.MaxInt64 {
			unknown++
		}
	}
	t.Logf("%d operations (%d reads, %d writes of unknown outcome)", len(history), reads, unknown)
	if reads == 0 || len(history)-reads-unknown == 0 {
		t.Fatalf("the history has no reads or no acknowledged writes: %d operations", len(history))
	}
	checkStart := time.Now()
	res, _ := porcupine.CheckOperationsVerbose(registerModel, history, time.Minute)
	t.Logf("porcupine: %s in %v", res, time.Since(checkStart))
	switch res {
	case porcupine.Ok:
	case porcupine.Illegal:
		t.Fatal("the register's history is not linearizable")
	default:
		t.Fatalf("porcupine could not decide within a minute (%s)", res)
	}
}
