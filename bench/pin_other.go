//go:build !linux

package bench

import (
	"errors"
	"os/exec"
)

// cpuSplit is empty where CPU affinity is not implemented.
type cpuSplit struct{}

func splitCPUs(int) (cpuSplit, bool, error) {
	return cpuSplit{}, false, errors.New("placing processes on CPUs is implemented on Linux only")
}

func (cpuSplit) String() string { return "" }

func (cpuSplit) startServer(cmd *exec.Cmd) error { return cmd.Start() }

func (cpuSplit) pinClients() error { return nil }
