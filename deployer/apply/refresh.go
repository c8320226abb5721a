package apply

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/strata-db/strata/db/monitor"
	"github.com/strata-db/strata/deployer/plan"
)

// MonitorStatus is what `strata monitor status --json` prints.
type MonitorStatus struct {
	Running bool `json:"running"`
	monitor.State
}

// Refresh observes every desired host, at most parallel at once. A host
// that cannot be read gets an Error naming the failed step; the others are
// still refreshed.
func Refresh(ctx context.Context, d *plan.Desired, hosts map[string]Host, parallel int) *plan.Observed {
	o := &plan.Observed{Hosts: map[string]*plan.ObservedHost{}}
	var mu sync.Mutex
	g, ctx := errgroupWithLimit(ctx, parallel)
	for i := range d.Hosts {
		dh := &d.Hosts[i]
		g.Go(func() error {
			oh := refreshHost(ctx, dh, hosts[dh.Name])
			mu.Lock()
			o.Hosts[dh.Name] = oh
			mu.Unlock()
			return nil
		})
	}
	_ = g.Wait()
	return o
}

func errgroupWithLimit(ctx context.Context, n int) (*errgroup.Group, context.Context) {
	g, ctx := errgroup.WithContext(ctx)
	if n <= 0 {
		n = 8
	}
	g.SetLimit(n)
	return g, ctx
}

func refreshHost(ctx context.Context, d *plan.DesiredHost, h Host) *plan.ObservedHost {
	oh := &plan.ObservedHost{Processes: map[string]plan.ObservedProcess{}}
	if h == nil {
		oh.Error = "no connection to the host"
		return oh
	}
	var err error
	if oh.ReleaseSHA256, err = digestOrEmpty(ctx, h, d.Release.Path); err != nil {
		oh.Error = "refresh release: " + err.Error()
		return oh
	}
	if oh.ConfSHA256, err = digestOrEmpty(ctx, h, d.Conf.Path); err != nil {
		oh.Error = "refresh conf: " + err.Error()
		return oh
	}
	if oh.ClusterFileSHA256, err = digestOrEmpty(ctx, h, d.Cluster.Path); err != nil {
		oh.Error = "refresh cluster file: " + err.Error()
		return oh
	}
	if oh.ReleaseSHA256 == "" || oh.ConfSHA256 == "" {
		return oh // no binary to ask, or no conf for a monitor to run
	}
	st, err := monitorStatus(ctx, h, d)
	if err != nil {
		oh.Error = "refresh monitor: " + err.Error()
		return oh
	}
	oh.MonitorRunning = st.Running
	if st.Running {
		for _, p := range st.Processes {
			oh.Processes[p.ID] = plan.ObservedProcess{PID: p.PID, LaunchDigest: p.ArgvDigest, Running: p.Status == monitor.StatusRunning}
		}
	}
	return oh
}

func digestOrEmpty(ctx context.Context, h Host, path string) (string, error) {
	d, err := h.Digest(ctx, path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	return d, err
}

// monitorStatus asks the host's installed strata for its monitor's state.
// Exit status 3 means no monitor runs (the state file may still exist).
func monitorStatus(ctx context.Context, h Host, d *plan.DesiredHost) (*MonitorStatus, error) {
	cmd := fmt.Sprintf("%s monitor status --json --conffile %s", shQuote(d.Release.Path), shQuote(d.Conf.Path))
	out, err := h.Exec(ctx, cmd, false)
	var ec ExitCoder
	if err != nil && !(errors.As(err, &ec) && ec.ExitStatus() == 3) {
		return nil, err
	}
	if err != nil && len(out) == 0 {
		return &MonitorStatus{}, nil
	}
	var st MonitorStatus
	if jerr := json.Unmarshal(out, &st); jerr != nil {
		return nil, fmt.Errorf("reading monitor status: %w", jerr)
	}
	if err != nil {
		st.Running = false
	}
	return &st, nil
}

// shQuote quotes s for /bin/sh.
func shQuote(s string) string {
	out := []byte{'\''}
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			out = append(out, `'\''`...)
		} else {
			out = append(out, s[i])
		}
	}
	return string(append(out, '\''))
}
