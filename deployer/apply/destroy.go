package apply

import (
	"context"
	"fmt"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/strata-db/strata/deployer/event"
	"github.com/strata-db/strata/deployer/plan"
	"github.com/strata-db/strata/deployer/render"
)

// DestroyTarget is one host to take down, with the directories the
// description gives it beyond what plan.DesiredHost holds.
type DestroyTarget struct {
	Host *plan.DesiredHost
	// LogDir holds the monitor's <ID>.out files and the servers' trace logs.
	LogDir string
	// ProcessDataDirs are the server processes' data directories.
	ProcessDataDirs []string
	// ExtraFiles are more files to remove, such as the binaries of
	// releases the state says were installed before.
	ExtraFiles []string
}

// DestroyOptions configure Destroy.
type DestroyOptions struct {
	// PurgeData also removes the processes' data directories.
	PurgeData bool
	Parallel  int
	Events    event.Sink
	RunID     string
	// StopTimeout bounds the wait for a monitor to stop its processes.
	StopTimeout time.Duration
	// HostDone is called after each host is cleaned, so the caller can
	// update its state as it goes.
	HostDone func(host string)
}

// Destroy stops each host's monitor (which stops its server processes) and
// removes the files apply installed: conf, cluster file, release, the
// monitor's state, pidfile and logs, and the servers' logs. Data
// directories stay unless PurgeData. Every host is attempted; the error
// names each host and step that failed.
func Destroy(ctx context.Context, targets []DestroyTarget, hosts map[string]Host, opts DestroyOptions) error {
	if opts.Events == nil {
		opts.Events = event.Discard{}
	}
	if opts.StopTimeout <= 0 {
		opts.StopTimeout = 60 * time.Second
	}
	var mu sync.Mutex
	var errs []string
	g, gctx := errgroupWithLimit(ctx, opts.Parallel)
	for _, t := range targets {
		g.Go(func() error {
			if err := destroyHost(gctx, t, hosts[t.Host.Name], opts); err != nil {
				mu.Lock()
				errs = append(errs, err.Error())
				mu.Unlock()
				return nil
			}
			if opts.HostDone != nil {
				mu.Lock()
				opts.HostDone(t.Host.Name)
				mu.Unlock()
			}
			return nil
		})
	}
	_ = g.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("destroy: %s", strings.Join(errs, "; "))
	}
	return ctx.Err()
}

func destroyHost(ctx context.Context, t DestroyTarget, h Host, opts DestroyOptions) error {
	name := t.Host.Name
	emit := func(step string, st event.Status, detail string, err error) {
		e := event.Event{Time: time.Now(), Run: opts.RunID, Phase: "destroy", Host: name, Step: step, Status: st, Detail: detail}
		if err != nil {
			e.Error = err.Error()
		}
		opts.Events.Emit(e)
	}
	if h == nil {
		err := fmt.Errorf("%s: no connection to the host", name)
		emit("connect", event.Failed, "", err)
		return err
	}
	steps := []struct {
		name, detail, script string
	}{
		{"stop monitor", "stop the monitor and its processes", stopMonitorScript(t.Host, opts.StopTimeout)},
		{"remove files", "conf, cluster file, release, monitor state and logs", removeFilesScript(t)},
	}
	if opts.PurgeData {
		steps = append(steps, struct{ name, detail, script string }{"purge data", strings.Join(t.ProcessDataDirs, " "), purgeDataScript(t)})
	}
	for _, s := range steps {
		emit(s.name, event.Started, s.detail, nil)
		// As root, as apply installed them: systemctl and the files
		// under /etc, /opt and /var need it.
		if _, err := h.Exec(ctx, s.script, t.Host.Sudo); err != nil {
			err = fmt.Errorf("%s: %s: %w", name, s.name, err)
			emit(s.name, event.Failed, "", err)
			return err
		}
		emit(s.name, event.Done, "", nil)
	}
	return nil
}

// stopMonitorScript stops and removes the monitor's systemd unit when apply
// installed one (systemd waits for the monitor, which stops its children
// first) and forgets a failed state it may have had, which would keep the
// removed unit listed by `systemctl --failed`; otherwise it sends SIGTERM
// to the monitor named by the pidfile apply wrote, if that process is
// still a strata monitor (the pid may have been reused), and waits for it
// to exit.
func stopMonitorScript(dh *plan.DesiredHost, timeout time.Duration) string {
	pidfile := path.Join(path.Dir(dh.MonitorState), "monitor.pid")
	tenths := int(timeout / (100 * time.Millisecond))
	unit := render.MonitorUnitName(dh.Conf.Path)
	return fmt.Sprintf(`unit=%s
if [ -e %s ]; then
  systemctl disable --now "$unit" >/dev/null 2>&1 || systemctl stop "$unit"
  rm -f -- %s
  systemctl daemon-reload
  systemctl reset-failed "$unit" >/dev/null 2>&1 || true
fi
pidfile=%s
[ -f "$pidfile" ] || exit 0
pid=$(cat "$pidfile")
case "$pid" in ''|*[!0-9]*) exit 0 ;; esac
kill -0 "$pid" 2>/dev/null || exit 0
tr '\0' ' ' < /proc/"$pid"/cmdline 2>/dev/null | grep -q ' monitor ' || exit 0
kill -TERM "$pid"
i=0
while kill -0 "$pid" 2>/dev/null; do
  i=$((i+1))
  if [ $i -gt %d ]; then echo "monitor (pid $pid) did not stop within %v" >&2; exit 1; fi
  sleep 0.1
done
`, shQuote(unit), shQuote(render.MonitorUnitPath(dh.Conf.Path)), shQuote(render.MonitorUnitPath(dh.Conf.Path)), shQuote(pidfile), tenths, timeout)
}

func removeFilesScript(t DestroyTarget) string {
	dh := t.Host
	dataDir := path.Dir(dh.MonitorState)
	files := []string{
		dh.Conf.Path, dh.Conf.Path + ".lock", dh.Cluster.Path, dh.Release.Path, digestCachePath(dh.Release.Path),
		dh.MonitorState, path.Join(dataDir, "monitor.pid"), path.Join(dataDir, "monitor.log"),
	}
	for _, f := range t.ExtraFiles {
		files = append(files, f, digestCachePath(f))
	}
	var b strings.Builder
	b.WriteString("set -e\n")
	for _, f := range files {
		fmt.Fprintf(&b, "rm -f -- %s\n", shQuote(f))
	}
	if t.LogDir != "" {
		// Only what strata writes there: the monitor's <port>.out files
		// (and rotations) and the servers' trace logs.
		for _, p := range dh.Processes {
			fmt.Fprintf(&b, "rm -f -- %s/%d.out %s/%d.out.*\n", shQuote(t.LogDir), p.Port, shQuote(t.LogDir), p.Port)
		}
		fmt.Fprintf(&b, "rm -f -- %s/trace.*.json\n", shQuote(t.LogDir))
	}
	// Directories left empty go too; rmdir never removes anything else.
	releases := path.Dir(path.Dir(dh.Release.Path))
	dirs := []string{path.Dir(dh.Release.Path)}
	for _, f := range t.ExtraFiles {
		dirs = append(dirs, path.Dir(f))
	}
	dirs = append(dirs, releases, path.Dir(releases), path.Dir(dh.Conf.Path), t.LogDir)
	for _, d := range dirs {
		if d != "" && d != "/" {
			fmt.Fprintf(&b, "rmdir -- %s 2>/dev/null || true\n", shQuote(d))
		}
	}
	return b.String()
}

func purgeDataScript(t DestroyTarget) string {
	var b strings.Builder
	b.WriteString("set -e\n")
	for _, d := range t.ProcessDataDirs {
		fmt.Fprintf(&b, "rm -rf -- %s\n", shQuote(d))
	}
	fmt.Fprintf(&b, "rmdir -- %s 2>/dev/null || true\n", shQuote(path.Dir(t.Host.MonitorState)))
	return b.String()
}
