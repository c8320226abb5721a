package bench

import (
	"os"
	"os/exec"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

func TestSplitCPUsPlacesServerAndClientsApart(t *testing.T) {
	var allowed unix.CPUSet
	if err := unix.SchedGetaffinity(0, &allowed); err != nil {
		t.Fatal(err)
	}
	split, ok, err := splitCPUs(1)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		if allowed.Count() > 1 {
			t.Fatalf("%d CPUs were not split", allowed.Count())
		}
		t.Skip("one CPU: nothing to split")
	}
	if split.server.Count() != 1 || split.clients.Count() != allowed.Count()-1 {
		t.Fatalf("split %s of %d CPUs", split, allowed.Count())
	}
	for cpu := 0; cpu < len(allowed)*64; cpu++ {
		inServer, inClients := split.server.IsSet(cpu), split.clients.IsSet(cpu)
		if inServer && inClients || (inServer || inClients) != allowed.IsSet(cpu) {
			t.Fatalf("CPU %d: server %v, clients %v, allowed %v", cpu, inServer, inClients, allowed.IsSet(cpu))
		}
	}

	// The server child runs on the server's CPUs; this process keeps its own.
	cmd := exec.Command("sleep", "10")
	if err := split.startServer(cmd); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	var child unix.CPUSet
	if err := unix.SchedGetaffinity(cmd.Process.Pid, &child); err != nil {
		t.Fatal(err)
	}
	if child != split.server {
		t.Fatalf("server child runs on CPU %s, want %s", cpuList(child), cpuList(split.server))
	}
	assertThreadsOn(t, allowed)

	// Pinning the clients moves every thread of this process.
	if err := split.pinClients(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := pinProcess(allowed); err != nil {
			t.Fatal(err)
		}
	}()
	assertThreadsOn(t, split.clients)
}

func assertThreadsOn(t *testing.T, want unix.CPUSet) {
	t.Helper()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		tid, _ := strconv.Atoi(task.Name())
		var got unix.CPUSet
		if err := unix.SchedGetaffinity(tid, &got); err != nil {
			continue // exited
		}
		if got != want {
			t.Fatalf("thread %d runs on CPU %s, want %s", tid, cpuList(got), cpuList(want))
		}
	}
}
