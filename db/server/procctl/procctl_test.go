package procctl_test

import (
	"testing"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/server/procctl"
	"github.com/strata-db/strata/db/sim"
)

// A check is answered without a reboot; a reboot request is answered, and
// Reboot runs once after the delay and the grace, however many requests
// follow.
func TestRebootRequests(t *testing.T) {
	s := sim.New(1, sim.Options{})
	var reboots []time.Duration
	var start time.Time
	server := s.AddProcess(s.AddMachine(flow.Locality{}), 1, func(e *flow.Env) {
		start = e.Now()
		if _, err := procctl.Start(e, procctl.Config{ProcessID: "p1", Reboot: func() {
			reboots = append(reboots, e.Now().Sub(start))
		}}); err != nil {
			t.Fatal(err)
		}
	})
	client := s.AddProcess(s.AddMachine(flow.Locality{}), 1, func(*flow.Env) {}).Env()
	addr := server.Env().Address()
	var afterCheck int
	a := client.Spawn("client", func(c *flow.Ctx) error {
		rep, err := procctl.Reboot(c, addr, 0, true, time.Second)
		if err != nil {
			return err
		}
		if rep.GetProcessId() != "p1" {
			t.Errorf("reply from %q, want p1", rep.GetProcessId())
		}
		if err := c.Sleep(time.Second); err != nil {
			return err
		}
		afterCheck = len(reboots)
		if _, err := procctl.Reboot(c, addr, 2*time.Second, false, time.Second); err != nil {
			return err
		}
		if _, err := procctl.Reboot(c, addr, 0, false, time.Second); err != nil {
			return err
		}
		return c.Sleep(5 * time.Second)
	})
	s.Run(time.Minute, func() bool { return a.Done().IsReady() })
	if err := a.Done().Err(); err != nil {
		t.Fatal(err)
	}
	if afterCheck != 0 {
		t.Errorf("a check-only request rebooted the process")
	}
	if len(reboots) != 1 {
		t.Fatalf("rebooted %d times, want once: %v", len(reboots), reboots)
	}
	// Requested at about 1s with a 2s delay, plus the grace.
	if want := 3*time.Second + procctl.DefaultReplyGrace; reboots[0] < want || reboots[0] > want+50*time.Millisecond {
		t.Errorf("rebooted at %v, want about %v", reboots[0], want)
	}
}

// A process that does not answer fails the request within the timeout.
func TestRebootUnreachable(t *testing.T) {
	s := sim.New(2, sim.Options{})
	client := s.AddProcess(s.AddMachine(flow.Locality{}), 1, func(*flow.Env) {}).Env()
	var err error
	a := client.Spawn("client", func(c *flow.Ctx) error {
		_, err = procctl.Reboot(c, "10.9.9.9:1", 0, false, time.Second)
		return nil
	})
	s.Run(time.Minute, func() bool { return a.Done().IsReady() })
	if err == nil {
		t.Fatal("reboot of a process that does not exist succeeded")
	}
}

func TestStartNeedsReboot(t *testing.T) {
	s := sim.New(3, sim.Options{})
	s.AddProcess(s.AddMachine(flow.Locality{}), 1, func(e *flow.Env) {
		if _, err := procctl.Start(e, procctl.Config{}); err == nil {
			t.Error("Start without Reboot succeeded")
		}
	})
}
