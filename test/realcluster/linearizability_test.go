package realcluster

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strata-db/strata/db/status"
	"github.com/strata-db/strata/test/register"
	"github.com/strata-db/strata/test/testserver"
)

// TestTripleRegisterIsLinearizableAcrossKills runs concurrent clients
// reading, writing and compare-and-setting a few keys of a triple cluster
// while processes are killed with SIGKILL and restarted, one at a time: the
// sequencer's process (one with logs too, if there is one), a log process
// if that one had none, and a storage process. porcupine checks the
// history; operations of unknown outcome stay open-ended in it, and a
// history porcupine cannot decide in time fails like an illegal one.
func TestTripleRegisterIsLinearizableAcrossKills(t *testing.T) {
	tc := startTriple(t, nil)
	h := register.NewHistory(tc.db, "linearizability/")
	stopLoad := startRegisterClients(h, 6, []string{"a", "b", "c"})
	defer stopLoad()

	killed := map[string]bool{}
	// pick returns a process playing role, preferring one that is not the
	// controller (whose kill waits for an election), then one not killed
	// yet, then one that also plays role2.
	pick := func(role, role2 string) func(st *status.Status) string {
		return func(st *status.Status) string {
			best, bestScore := "", -1
			for _, addr := range testserver.WithRole(st, role) {
				p, _ := testserver.ProcessAt(st, addr)
				score := 0
				if !testserver.HasRole(p, status.RoleClusterController) {
					score += 4
				}
				if !killed[addr] {
					score += 2
				}
				if testserver.HasRole(p, role2) {
					score++
				}
				if score > bestScore {
					best, bestScore = addr, score
				}
			}
			return best
		}
	}
	time.Sleep(2 * time.Second)
	if roles := killAndRestart(t, tc, h, "the sequencer's process", pick(status.RoleMaster, status.RoleLog), killed); !slices.Contains(roles, status.RoleLog) {
		tc.WaitStatus(t, 30*time.Second, "healthy triple after the restart", healthyTriple)
		killAndRestart(t, tc, h, "a log process", pick(status.RoleLog, status.RoleMaster), killed)
	}
	tc.WaitStatus(t, 30*time.Second, "healthy triple after the restart", healthyTriple)
	killAndRestart(t, tc, h, "a storage process", pick(status.RoleStorage, ""), killed)
	time.Sleep(time.Second)
	stopLoad()

	register.Check(t, h.Operations(), 30*time.Second)
}

// startRegisterClients runs clients goroutines each doing random reads,
// writes of values unique in h and compare-and-sets (from the value the
// client last saw, or from a read just before) on keys, until the returned
// stop, which waits for them.
func startRegisterClients(h *register.History, clients int, keys []string) (stop func()) {
	var stopped atomic.Bool
	var wg sync.WaitGroup
	for id := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(id), uint64(time.Now().UnixNano())))
			seen := map[string]string{}
			for n := 0; !stopped.Load(); n++ {
				key, value := keys[rng.IntN(len(keys))], fmt.Sprintf("%d-%d", id, n)
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				switch x := rng.IntN(10); {
				case x < 4:
					if v, ok := h.Read(ctx, id, key); ok {
						seen[key] = v
					}
				case x < 7:
					h.Write(ctx, id, key, value)
				case x < 8:
					if h.CompareAndSet(ctx, id, key, seen[key], value) {
						seen[key] = value
					}
				default: // read, then swap from what it read: more swaps succeed
					if v, ok := h.Read(ctx, id, key); ok && h.CompareAndSet(ctx, id, key, v, value) {
						seen[key] = value
					}
				}
				cancel()
				time.Sleep(time.Duration(rng.IntN(10)) * time.Millisecond)
			}
		}()
	}
	var once sync.Once
	return func() { once.Do(func() { stopped.Store(true); wg.Wait() }) }
}

// killAndRestart kills the process pick chooses from the current status
// with SIGKILL, restarts it a second later and waits until a write that
// started after the kill is acknowledged. It adds the process to killed
// and returns the roles it had.
func killAndRestart(t *testing.T, tc *tripleCluster, h *register.History, what string, pick func(*status.Status) string, killed map[string]bool) []string {
	t.Helper()
	st, err := tc.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	victim := tc.Server(pick(st))
	if victim == nil {
		t.Fatalf("no %s to kill: %s", what, testserver.Summary(st))
	}
	p, _ := testserver.ProcessAt(st, victim.Address)
	var roles []string
	for _, r := range p.Roles {
		roles = append(roles, r.Role)
	}
	slices.Sort(roles)
	victim.Kill()
	killed[victim.Address] = true
	at := time.Now()
	t.Logf("killed %s %s (zone %s, roles %v) with SIGKILL", what, victim.Address, victim.Zone, roles)
	time.Sleep(time.Second)
	victim.Restart()
	for !h.AckedSince(at) {
		if time.Since(at) > 30*time.Second {
			t.Fatalf("no write acknowledged within 30 s of killing %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("writes resumed %v after the kill", time.Since(at).Round(10*time.Millisecond))
	return roles
}
