package bench

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// cpuSplit places a server of our own and the clients on disjoint CPUs:
// the server on the first serverCores CPUs this process may use, the
// clients (this process and its workers) on the rest. On a small machine
// a server sharing its cores with the load generator measures the
// generator as much as itself: its requests wait while a client process
// holds the CPU.
type cpuSplit struct {
	server, clients unix.CPUSet
}

// splitCPUs divides the CPUs this process may run on; ok is false when
// there are too few to give both sides at least one.
func splitCPUs(serverCores int) (s cpuSplit, ok bool, err error) {
	var allowed unix.CPUSet
	if err := unix.SchedGetaffinity(0, &allowed); err != nil {
		return s, false, fmt.Errorf("reading the CPUs this process may use: %w", err)
	}
	if allowed.Count() <= serverCores {
		return s, false, nil
	}
	for cpu, given := 0, 0; given < allowed.Count(); cpu++ {
		if !allowed.IsSet(cpu) {
			continue
		}
		if given < serverCores {
			s.server.Set(cpu)
		} else {
			s.clients.Set(cpu)
		}
		given++
	}
	return s, true, nil
}

// String describes the split for the report.
func (s cpuSplit) String() string {
	return fmt.Sprintf("server on CPU %s, clients on CPU %s", cpuList(s.server), cpuList(s.clients))
}

func cpuList(set unix.CPUSet) string {
	out := ""
	for cpu := 0; cpu < len(set)*64; cpu++ {
		if set.IsSet(cpu) {
			if out != "" {
				out += ","
			}
			out += strconv.Itoa(cpu)
		}
	}
	return out
}

// startServer starts cmd (the server) on the server's CPUs. A child
// inherits the CPU mask of the thread that forks it, so the fork happens
// on a thread of ours limited to them for the moment (and put back after).
func (s cpuSplit) startServer(cmd *exec.Cmd) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var mine unix.CPUSet
	if err := unix.SchedGetaffinity(0, &mine); err != nil {
		return fmt.Errorf("reading this thread's CPUs: %w", err)
	}
	if err := unix.SchedSetaffinity(0, &s.server); err != nil {
		return fmt.Errorf("limiting this thread's CPUs: %w", err)
	}
	startErr := cmd.Start()
	if err := unix.SchedSetaffinity(0, &mine); err != nil && startErr == nil {
		return fmt.Errorf("restoring this thread's CPUs: %w", err)
	}
	return startErr
}

// pinClients limits this process, and the client processes it starts
// after, to the clients' CPUs.
func (s cpuSplit) pinClients() error { return pinProcess(s.clients) }

// pinProcess limits every thread of this process to set; threads started
// later inherit it from the thread that starts them, and so do children.
// A thread started during a pass by one not yet limited escapes that pass,
// so passes repeat until one finds no thread it had not seen.
func pinProcess(set unix.CPUSet) error {
	seen := map[int]bool{}
	for {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return fmt.Errorf("listing this process's threads: %w", err)
		}
		fresh := 0
		for _, t := range tasks {
			tid, err := strconv.Atoi(t.Name())
			if err != nil || seen[tid] {
				continue
			}
			seen[tid] = true
			fresh++
			// A thread that exited since the listing is no error.
			if err := unix.SchedSetaffinity(tid, &set); err != nil && err != unix.ESRCH {
				return fmt.Errorf("limiting thread %d's CPUs: %w", tid, err)
			}
		}
		if fresh == 0 {
			return nil
		}
	}
}
