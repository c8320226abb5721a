package apply

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
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

// refreshScript reads a host in one round trip: the digests of the
// release, conf and cluster file ("-" when absent), then, when the release
// and the conf are there, the monitor's status and its exit code.
//
// Hashing a release of tens of megabytes on every host at every plan
// dominated a no-change plan, so the release's digest is cached beside it
// (digestCachePath, written by the upload) with the file's size, mtime and
// inode, as git's index does: when those still match, the cached digest is
// used. A file replaced or rewritten changes at least one of them.
const refreshScript = `d() { if [ -e "$1" ]; then s=$(sha256sum -- "$1") || exit 1; echo "${s%%%% *}"; else echo -; fi; }
r() { if [ -e "$1" ] && [ -e "$1.sha256" ] && read -r c k < "$1.sha256" && [ "$k" = "$(stat -c '%%s %%Y %%i' -- "$1")" ]; then echo "$c"; else d "$1"; fi; }
r %[1]s; d %[2]s; d %[3]s
[ -e %[1]s ] && [ -e %[2]s ] || exit 0
%[1]s monitor status --json --conffile %[2]s
rc=$?
echo
echo "monitor-exit $rc"
[ $rc = 0 ] || [ $rc = 3 ] || exit $rc
`

func refreshHost(ctx context.Context, d *plan.DesiredHost, h Host) *plan.ObservedHost {
	oh := &plan.ObservedHost{Processes: map[string]plan.ObservedProcess{}}
	if h == nil {
		oh.Error = "no connection to the host"
		return oh
	}
	out, err := h.Exec(ctx, fmt.Sprintf(refreshScript, shQuote(d.Release.Path), shQuote(d.Conf.Path), shQuote(d.Cluster.Path)), false)
	if err != nil {
		oh.Error = "refresh: " + err.Error()
		return oh
	}
	lines := strings.SplitN(string(out), "\n", 4)
	if len(lines) < 4 {
		oh.Error = fmt.Sprintf("refresh: unexpected output %q", out)
		return oh
	}
	digests := []*string{&oh.ReleaseSHA256, &oh.ConfSHA256, &oh.ClusterFileSHA256}
	for i, p := range digests {
		if lines[i] != "-" {
			*p = lines[i]
		}
	}
	rest := strings.TrimSpace(lines[3])
	if rest == "" {
		return oh // no binary to ask, or no conf for a monitor to run
	}
	body, exit, ok := strings.Cut(rest, "monitor-exit ")
	if !ok {
		oh.Error = fmt.Sprintf("refresh monitor: unexpected output %q", rest)
		return oh
	}
	st := MonitorStatus{}
	if body = strings.TrimSpace(body); body != "" {
		if err := json.Unmarshal([]byte(body), &st); err != nil {
			oh.Error = "refresh monitor: reading monitor status: " + err.Error()
			return oh
		}
	}
	oh.MonitorRunning = st.Running && strings.TrimSpace(exit) == "0"
	if oh.MonitorRunning {
		for _, p := range st.Processes {
			oh.Processes[p.ID] = plan.ObservedProcess{PID: p.PID, LaunchDigest: p.ArgvDigest, Running: p.Status == monitor.StatusRunning}
		}
	}
	return oh
}

// digestCachePath is where the release's cached digest lives.
func digestCachePath(release string) string { return release + ".sha256" }

// statKeyCommand prints the cache key of a file: size, mtime, inode.
func statKeyCommand(path string) string { return "stat -c '%s %Y %i' -- " + shQuote(path) }

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
