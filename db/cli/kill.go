package cli

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/server/procctl"
)

// cmdKill lists the processes status knows (`kill', `kill list'), or asks
// processes to restart through their process-control endpoint: those named,
// or `all'. The list is read afresh each time.
func cmdKill(in *Interpreter, ctx context.Context, args []string) error {
	if in.cfg.Processes == nil {
		return fmt.Errorf("kill is not available: this CLI has no process control")
	}
	st, err := in.clusterStatus(ctx)
	if err != nil {
		return err
	}
	var addrs []string
	known := map[string]bool{}
	for _, p := range st.Cluster.Processes {
		addrs = append(addrs, p.Address)
		known[p.Address] = true
	}
	sort.Strings(addrs)
	if len(args) == 0 || (len(args) == 1 && args[0] == "list") {
		switch len(addrs) {
		case 0:
			in.printf("\nNo addresses can be killed.\n")
		case 1:
			in.printf("\nThe following address can be killed:\n")
		default:
			in.printf("\nThe following %d addresses can be killed:\n", len(addrs))
		}
		for _, a := range addrs {
			in.printf("%s\n", a)
		}
		in.printf("\n")
		return nil
	}
	targets := args
	if len(args) == 1 && args[0] == "all" {
		targets = addrs
	} else {
		for _, a := range args {
			if !known[a] {
				in.errorf("process `%s' not recognized.", showToken(a))
				return errPrinted
			}
		}
	}
	failed := false
	for _, a := range targets {
		if err := in.cfg.Processes.Reboot(ctx, a, false); err != nil {
			fmt.Fprintf(in.cfg.Err, "WARNING: process `%s' did not take the kill request: %v\n", a, err)
			failed = true
		}
	}
	if len(targets) == 1 {
		in.printf("Attempted to kill 1 process\n")
	} else {
		in.printf("Attempted to kill %d processes\n", len(targets))
	}
	if failed {
		return errPrinted
	}
	return nil
}

// FlowProcessControl sends process-control requests (db/server/procctl)
// from a flow process of its own, started on first use. It is not safe
// for concurrent use.
type FlowProcessControl struct {
	// Timeout bounds one request; 0 means 5s.
	Timeout time.Duration
	proc    *flow.RealProcess
	stop    func() error
}

// Reboot implements ProcessControl.
func (p *FlowProcessControl) Reboot(ctx context.Context, addr string, checkOnly bool) error {
	if p.proc == nil {
		proc, err := flow.NewRealProcess(flow.RealConfig{ListenAddress: flow.ListenAddressToward(addr), ProcessID: "strata-cli"})
		if err != nil {
			return fmt.Errorf("process control: %w", err)
		}
		p.proc, p.stop = proc, proc.Start()
	}
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	_, err := flow.Go(ctx, p.proc, "Kill", func(c *flow.Ctx) (struct{}, error) {
		_, err := procctl.Reboot(c, flow.Address(addr), 0, checkOnly, timeout)
		return struct{}{}, err
	})
	return err
}

// Close stops the process, if one was started.
func (p *FlowProcessControl) Close() {
	if p.stop != nil {
		_ = p.stop()
		p.proc, p.stop = nil, nil
	}
}
