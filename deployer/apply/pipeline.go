package apply

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/strata-db/strata/deployer/event"
	"github.com/strata-db/strata/deployer/plan"
	"github.com/strata-db/strata/deployer/render"
	"github.com/strata-db/strata/deployer/state"
)

// hostWork is what one host's pipeline does, in this order: install the
// release, the cluster file and the conf, start the monitor, wait for its
// processes. A nil change is not planned.
type hostWork struct {
	dh                          *plan.DesiredHost
	release, clusterFile, conf  *plan.Change
	monitor                     *plan.Change
	wait                        bool
	systemd                     bool
	phaseOf                     map[string]string // step -> event phase
	releaseSize                 int64
	releaseSrc                  io.Reader
	waitMonitor, waitConverged  bool
	monitorDeadline, convergeBy time.Time
	// monitorStarted and waitStarted say the steps were reported started.
	monitorStarted, waitStarted bool
}

// change is w's change of the given type, or nil.
func (w *hostWork) change(typ string) *plan.Change {
	switch typ {
	case plan.TypeRelease:
		return w.release
	case plan.TypeClusterFile:
		return w.clusterFile
	case plan.TypeConf:
		return w.conf
	case plan.TypeMonitor:
		return w.monitor
	}
	return nil
}

// nextSteps reports the monitor step started once no file is pending, and
// the wait once the monitor runs too.
func (r *runner) nextSteps(w *hostWork, pending map[string]*plan.Change) {
	for _, typ := range []string{plan.TypeRelease, plan.TypeClusterFile, plan.TypeConf} {
		if pending[typ] != nil {
			return
		}
	}
	if c := pending[plan.TypeMonitor]; c != nil {
		if !w.monitorStarted {
			w.monitorStarted = true
			r.started(w.phaseOf[plan.TypeMonitor], *c)
		}
		return
	}
	if w.waitConverged && !w.waitStarted {
		w.waitStarted = true
		r.emit(event.Event{Phase: "processes", Host: w.dh.Name, Step: "wait processes", Status: event.Started})
	}
}

// busy reports whether the pipeline has anything to do.
func (w *hostWork) busy() bool {
	return w.release != nil || w.clusterFile != nil || w.conf != nil || w.monitor != nil || w.waitConverged
}

// Pipeline protocol: the script prints "strata-step NAME" after each step
// is durable, and "strata-monitor HELD" + the monitor's state file +
// "strata-end" whenever either changed, then reads one line: "done" ends
// it, anything else makes it look again. The host polls its own files with
// a short backoff (no round trip per look, no fixed sleep on this side);
// apply decides from each state it is sent, with the same checks as ever.
const (
	stepMarker    = "strata-step "
	monitorMarker = "strata-monitor "
	endMarker     = "strata-end"
)

// pipelineScript is one shell script doing all of w on the host. The
// release streams in on stdin (exactly its size, so that the replies that
// follow stay readable); the small files travel inside the script. Every
// file goes to a temporary file beside its destination (mode 0600 until
// checked), is checked with sha256sum against the planned digest, gets its
// mode, is synced and renamed over the destination; the directories are
// synced after the renames.
func pipelineScript(w *hostWork, suffix string) (string, error) {
	var b strings.Builder
	// Files are private (077) until checked and given their mode;
	// directories are made 0755, as a package install makes them, so
	// refresh can read what is installed as a login user without sudo.
	b.WriteString("set -e\numask 077\nmkdirs() { (umask 022 && mkdir -p -- \"$@\"); }\ntmps=\ntrap 'rm -f -- $tmps' EXIT\n")
	type file struct {
		step, dst, sum string
		mode           int
		content        []byte // nil: the release, from stdin
	}
	var files []file
	dh := w.dh
	if w.release != nil {
		files = append(files, file{plan.TypeRelease, dh.Release.Path, dh.Release.SHA256, 0o755, nil})
	}
	if w.clusterFile != nil {
		files = append(files, file{plan.TypeClusterFile, dh.Cluster.Path, dh.Cluster.SHA256, 0o644, dh.Cluster.Content})
	}
	if w.conf != nil {
		files = append(files, file{plan.TypeConf, dh.Conf.Path, dh.Conf.SHA256, 0o644, dh.Conf.Content})
	}
	if w.monitor != nil && w.systemd {
		files = append(files, file{"unit", dh.MonitorUnit.Path, dh.MonitorUnit.SHA256, 0o644, dh.MonitorUnit.Content})
	}
	var tmps, tmpPaths, dirs []string
	for _, f := range files {
		tmp := fmt.Sprintf("%s.strata-tmp.%s", f.dst, suffix)
		if strings.ContainsAny(tmp, "\n\\") {
			return "", fmt.Errorf("%s: a path with a newline or backslash cannot be installed", f.dst)
		}
		tmps, tmpPaths = append(tmps, shQuote(tmp)), append(tmpPaths, tmp)
		dir := path.Dir(f.dst)
		if !slices.Contains(dirs, dir) {
			dirs = append(dirs, dir)
		}
		fmt.Fprintf(&b, "mkdirs %s\ntmps=\"$tmps \"%s\n", shQuote(dir), shQuote(tmp))
		if f.content == nil {
			b.WriteString(growStdinPipe)
			fmt.Fprintf(&b, "head -c %d > %s\n", w.releaseSize, shQuote(tmp))
		} else {
			if len(f.content) > maxInlineFile {
				return "", fmt.Errorf("%s is %d bytes, more than the %d a script carries", f.dst, len(f.content), maxInlineFile)
			}
			fmt.Fprintf(&b, "printf '%%s' %s > %s\n", shQuote(string(f.content)), shQuote(tmp))
		}
	}
	if len(files) > 0 {
		// One sha256sum, chmod and sync for all: fewer processes, same checks.
		b.WriteString("sha256sum -c --quiet --strict - <<'STRATA_SUMS' >&2 || { echo 'digest mismatch after transfer' >&2; exit 3; }\n")
		for i, f := range files {
			fmt.Fprintf(&b, "%s  %s\n", f.sum, tmpPaths[i])
		}
		b.WriteString("STRATA_SUMS\n")
		for i, f := range files {
			fmt.Fprintf(&b, "chmod %o -- %s\n", f.mode, tmps[i])
		}
		fmt.Fprintf(&b, "sync -- %s 2>/dev/null || sync\n", strings.Join(tmps, " "))
		for i, f := range files {
			fmt.Fprintf(&b, "mv -f -- %s %s\n", tmps[i], shQuote(f.dst))
			if f.content == nil {
				// The digest cache refresh reads (see refreshScript).
				c, ct := shQuote(digestCachePath(f.dst)), shQuote(digestCachePath(f.dst)+".strata-tmp."+suffix)
				fmt.Fprintf(&b, "printf '%%s %%s\\n' %s \"$(%s)\" > %s && chmod 644 -- %s && mv -f -- %s %s\n",
					f.sum, statKeyCommand(f.dst), ct, ct, ct, c)
			}
		}
		fmt.Fprintf(&b, "tmps=\nsync -- %s 2>/dev/null || sync\n", quoteAll(dirs))
		for _, f := range files {
			if f.step != "unit" {
				fmt.Fprintf(&b, "echo '%s%s'\n", stepMarker, f.step)
			}
		}
	}
	if w.monitor != nil {
		b.WriteString(startMonitorCommand(dh, w.systemd) + "\n")
	}
	if w.waitMonitor || w.waitConverged {
		b.WriteString(watchMonitorLoop(dh))
	}
	return b.String(), nil
}

// growStdinPipe makes the pipe sshd feeds stdin through 1 MiB instead of
// 64 KiB (F_SETPIPE_SZ is fcntl 1031 on Linux; either end may set it).
// OpenSSH's sshd reads up to 256 KiB of the connection per loop but writes
// at most a pipe's worth to the command: with 64 KiB its channel buffer
// stays full at the window (2 MiB), and each packet appended to it moves
// the whole buffer and grows it into fresh pages. Measured on 8 test hosts
// at once with the 41 MB release: sshd CPU 7.9-9.3 s -> 2.1-3.4 s, all
// uploads 9.0-9.7 s -> 2.7-4.5 s. Best effort, with what a host has (perl
// is essential on Debian and Ubuntu, python3 on most others); without
// either the upload only stays slower.
const growStdinPipe = "perl -e 'fcntl(STDIN, 1031, 1 << 20)' 2>/dev/null || " +
	"python3 -c 'import fcntl; fcntl.fcntl(0, 1031, 1 << 20)' 2>/dev/null || :\n"

// maxInlineFile bounds a file carried inside a script: one argument of
// the remote shell's command line may hold 128 KiB on Linux.
const maxInlineFile = 96 << 10

func quoteAll(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = shQuote(x)
	}
	return strings.Join(q, " ")
}

func monitorLog(dh *plan.DesiredHost) string { return dh.MonitorLog() }

// monitorLogHint says where to look when the monitor does not start: a
// unit that cannot even exec it (a missing binary, a bad option) leaves
// its reason in the journal, not the log.
func monitorLogHint(w *hostWork) string {
	if w.systemd {
		return fmt.Sprintf("%s and `systemctl status %s`", monitorLog(w.dh), render.MonitorUnitName(w.dh.Conf.Path))
	}
	return monitorLog(w.dh)
}

func monitorPidfile(dh *plan.DesiredHost) string {
	return path.Join(path.Dir(dh.MonitorState), "monitor.pid")
}

// startMonitorCommand starts the host's monitor: as a systemd service where
// systemd is PID 1 (restarted by systemd, started at boot), else detached
// with a pidfile.
func startMonitorCommand(dh *plan.DesiredHost, systemd bool) string {
	dataDir, confDir := path.Dir(dh.MonitorState), path.Dir(dh.Conf.Path)
	if systemd {
		unit := render.MonitorUnitName(dh.Conf.Path)
		return fmt.Sprintf("mkdirs %s %s\nsystemctl daemon-reload\nsystemctl enable --now %s >/dev/null 2>&1 || systemctl enable --now %s",
			shQuote(dataDir), shQuote(confDir), shQuote(unit), shQuote(unit))
	}
	// Only the monitor goes to the background: a background subshell would
	// wait for it holding the command's stdout, and the command never ends.
	// It gets the umask systemd gives a unit (022), not the script's.
	return fmt.Sprintf("mkdirs %s %s\ncd /\n(umask 022; setsid %s monitor --conffile %s --lockfile %s </dev/null >>%s 2>&1 & echo $! > %s)",
		shQuote(dataDir), shQuote(confDir), shQuote(dh.Release.Path), shQuote(dh.Conf.Path),
		shQuote(dh.Conf.Path+".lock"), shQuote(monitorLog(dh)), shQuote(monitorPidfile(dh)))
}

// monitorSnapshot prints whether the host's monitor runs (it holds the
// conf's lockfile; `flock -n -s` fails exactly then, as `strata monitor
// status` decides) and its state file, read with the shell's builtins
// instead of the release binary: starting a 40 MB Go program per look cost
// ~30 ms of CPU. Every process counts (a fork and exec cost 5-10 ms of CPU
// on the 2-core machine the benchmarks run on, for each of 8 hosts): flock
// locks an fd the shell opened instead of running `true` under the lock,
// and the state file is read into $s without a subshell.
func monitorSnapshot(dh *plan.DesiredHost) string {
	return fmt.Sprintf(`lock=%s; state=%s; nl='
'
held=0; if [ -e "$lock" ]; then { flock -n -s 9; } 9<"$lock" 2>/dev/null; [ $? = 1 ] && held=1; fi
s=; if [ -e "$state" ]; then while IFS= read -r l || [ -n "$l" ]; do s="$s$l$nl"; done < "$state"; s=${s%%"$nl"}; fi
`, shQuote(dh.Conf.Path+".lock"), shQuote(dh.MonitorState))
}

// watchMonitorLoop sends the monitor's snapshot whenever it changes (and
// about once a second regardless, so apply can give up in time) and waits
// for apply's answer; looks back off from 10 ms to 200 ms while nothing
// changes.
func watchMonitorLoop(dh *plan.DesiredHost) string {
	return "set +e\nlast=\nd=0.01\nquiet=0\nwhile :; do\n" + indent(monitorSnapshot(dh)) + `  if [ "$held $s" != "$last" ] || [ $quiet -ge 8 ]; then
    last="$held $s"
    quiet=0
    printf '` + monitorMarker + `%s\n%s\n` + endMarker + `\n' "$held" "$s"
    read -r ack || exit 0
    [ "$ack" = done ] && exit 0
    d=0.01
  else
    sleep $d
    quiet=$((quiet+1))
    case $d in 0.01) d=0.02 ;; 0.02) d=0.05 ;; 0.05) d=0.1 ;; *) d=0.2 ;; esac
  fi
done
`
}

func indent(s string) string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	return "  " + strings.Join(lines, "\n  ") + "\n"
}

// parseSnapshot reads "HELD" and the state file's text into a status.
func parseSnapshot(held string, body []byte) (*MonitorStatus, error) {
	st := &MonitorStatus{Running: strings.TrimSpace(held) == "1"}
	if len(strings.TrimSpace(string(body))) == 0 {
		return st, nil
	}
	if err := json.Unmarshal(body, &st.State); err != nil {
		return nil, fmt.Errorf("reading the monitor's state file: %w", err)
	}
	return st, nil
}

func newSuffix() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("temporary file name: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// runPipeline does w on its host in one remote command, recording each
// step as the host reports it done.
func (r *runner) runPipeline(ctx context.Context, w *hostWork) error {
	h := r.hosts[w.dh.Name]
	if h == nil {
		return fmt.Errorf("%s: no connection to the host", w.dh.Name)
	}
	// The files are written together; the monitor starts once they are in
	// place, and the wait once the monitor runs: each step is reported
	// started when the host begins it.
	pending := map[string]*plan.Change{}
	for _, typ := range []string{plan.TypeRelease, plan.TypeClusterFile, plan.TypeConf, plan.TypeMonitor} {
		if c := w.change(typ); c != nil {
			pending[typ] = c
		}
	}
	for _, typ := range []string{plan.TypeRelease, plan.TypeClusterFile, plan.TypeConf} {
		if c := pending[typ]; c != nil {
			r.started(w.phaseOf[typ], *c)
		}
	}
	r.nextSteps(w, pending)
	var err error
	if w.release != nil {
		if r.opts.Release == nil {
			err = errors.New("no release binary to upload")
		} else {
			var src io.ReadCloser
			if src, w.releaseSize, err = r.opts.Release(); err != nil {
				err = fmt.Errorf("opening release: %w", err)
			} else {
				defer src.Close()
				w.releaseSrc = src
			}
		}
	}
	if err == nil {
		err = r.streamPipeline(ctx, h, w, pending)
	}
	// The steps begun and not finished failed; the first names the error.
	step := "wait processes"
	for _, typ := range []string{plan.TypeRelease, plan.TypeClusterFile, plan.TypeConf, plan.TypeMonitor} {
		c := pending[typ]
		if c == nil || typ == plan.TypeMonitor && !w.monitorStarted {
			continue
		}
		ferr := err
		if ferr == nil {
			ferr = errors.New("the host did not report this step done")
		}
		r.failed(w.phaseOf[typ], *c, ferr)
		if step == "wait processes" {
			step = w.phaseOf[typ]
		}
	}
	if err != nil {
		if w.waitStarted {
			r.emit(event.Event{Phase: "processes", Host: w.dh.Name, Step: "wait processes", Status: event.Failed, Error: err.Error()})
		}
		return fmt.Errorf("%s: %s: %w", w.dh.Name, step, err)
	}
	if len(pending) > 0 {
		return fmt.Errorf("%s: the host did not report every step done", w.dh.Name)
	}
	if w.waitConverged {
		r.emit(event.Event{Phase: "processes", Host: w.dh.Name, Step: "wait processes", Status: event.Done})
	}
	return nil
}

func (r *runner) streamPipeline(ctx context.Context, h Host, w *hostWork, pending map[string]*plan.Change) error {
	suffix, err := newSuffix()
	if err != nil {
		return err
	}
	script, err := pipelineScript(w, suffix)
	if err != nil {
		return err
	}
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Cancelling ends the conversation at once: the transport stops the
	// command, and nothing waits for more input from this side.
	stop := context.AfterFunc(ctx, func() { inW.CloseWithError(ctx.Err()) })
	defer stop()
	done := make(chan error, 1)
	go func() {
		err := h.Stream(ctx, script, w.dh.Sudo, inR, outW)
		outW.Close()
		inR.CloseWithError(errors.New("the remote command ended"))
		done <- err
	}()
	// The release goes first; the answers to snapshots follow on the same
	// stdin. Without a wait stdin is closed right after the release, so the
	// command can end (a local command's Wait waits for its stdin).
	s := &sender{done: make(chan struct{})}
	go func() {
		defer close(s.done)
		if w.release != nil {
			n, err := io.Copy(inW, io.LimitReader(w.releaseSrc, w.releaseSize))
			if err == nil && n != w.releaseSize {
				err = fmt.Errorf("the release file gave %d of %d bytes", n, w.releaseSize)
			}
			s.err = err
		}
		if !w.waitMonitor && !w.waitConverged {
			inW.Close()
		}
	}()
	protoErr := r.converse(ctx, w, outR, inW, s, pending)
	if protoErr != nil {
		cancel()
	}
	inW.CloseWithError(io.EOF)
	io.Copy(io.Discard, outR)
	runErr := <-done
	<-s.done
	switch {
	case protoErr != nil:
		return protoErr
	case s.err != nil && runErr != nil:
		return fmt.Errorf("%w (sending the release: %v)", runErr, s.err)
	case runErr != nil:
		return runErr
	}
	return s.err
}

// sender streams the release; err is set before done closes.
type sender struct {
	done chan struct{}
	err  error
}

// converse reads the host's reports, records finished steps and answers
// each monitor snapshot until what w waits for is there.
func (r *runner) converse(ctx context.Context, w *hostWork, out io.Reader, in io.Writer, s *sender, pending map[string]*plan.Change) error {
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, stepMarker):
			typ := strings.TrimPrefix(line, stepMarker)
			if c := pending[typ]; c != nil {
				delete(pending, typ)
				if err := r.recordStep(w, typ, *c); err != nil {
					return err
				}
				r.nextSteps(w, pending)
			}
		case strings.HasPrefix(line, monitorMarker):
			held := strings.TrimPrefix(line, monitorMarker)
			var body strings.Builder
			for sc.Scan() && sc.Text() != endMarker {
				body.WriteString(sc.Text() + "\n")
			}
			<-s.done // the host read the release before it looked
			if s.err != nil {
				return s.err
			}
			st, err := parseSnapshot(held, []byte(body.String()))
			if err != nil {
				return err
			}
			finished, err := r.judge(w, st, pending)
			if err != nil {
				return err
			}
			reply := "more\n"
			if finished {
				reply = "done\n"
			}
			if _, err := io.WriteString(in, reply); err != nil {
				return fmt.Errorf("answering the host: %w", err)
			}
			if finished {
				return nil
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading the host's reports: %w", err)
	}
	return ctx.Err()
}

// judge decides from one snapshot: the monitor step is done once the
// monitor runs; the wait is over once every process runs its desired
// launch. Past a deadline it fails with what is missing.
func (r *runner) judge(w *hostWork, st *MonitorStatus, pending map[string]*plan.Change) (bool, error) {
	now := time.Now()
	if w.monitorDeadline.IsZero() {
		w.monitorDeadline, w.convergeBy = now.Add(monitorStartTimeout), now.Add(r.opts.WaitTimeout)
	}
	if c := pending[plan.TypeMonitor]; c != nil {
		if !st.Running {
			if now.After(w.monitorDeadline) {
				return false, fmt.Errorf("the monitor did not start within %v (see %s on the host)", monitorStartTimeout, monitorLogHint(w))
			}
			return false, nil
		}
		delete(pending, plan.TypeMonitor)
		if err := r.recordStep(w, plan.TypeMonitor, *c); err != nil {
			return false, err
		}
		r.nextSteps(w, pending)
	}
	if !w.waitConverged {
		return true, nil
	}
	missing := notConverged(w.dh, st)
	if len(missing) == 0 {
		return true, nil
	}
	if now.After(w.convergeBy) {
		return false, fmt.Errorf("processes not running their desired launch after %v: %s", r.opts.WaitTimeout, strings.Join(missing, "; "))
	}
	return false, nil
}

// monitorStartTimeout bounds the wait for a started monitor to take its
// lock.
const monitorStartTimeout = 10 * time.Second

// recordStep saves a finished step to state, the journal and the events.
func (r *runner) recordStep(w *hostWork, typ string, c plan.Change) error {
	dh := w.dh
	var attrs map[string]string
	switch typ {
	case plan.TypeRelease:
		attrs = map[string]string{"version": dh.Release.Version, "sha256": dh.Release.SHA256, "path": dh.Release.Path}
	case plan.TypeClusterFile:
		attrs = map[string]string{"sha256": dh.Cluster.SHA256, "path": dh.Cluster.Path}
	case plan.TypeConf:
		attrs = map[string]string{"sha256": dh.Conf.SHA256, "path": dh.Conf.Path}
	case plan.TypeMonitor:
		attrs = map[string]string{"conf": dh.Conf.Path}
		if w.systemd {
			attrs["unit"] = render.MonitorUnitName(dh.Conf.Path)
		}
	}
	if err := r.record(c, typ, attrs); err != nil {
		r.failed(w.phaseOf[typ], c, err)
		return err
	}
	r.emit(event.Event{Phase: w.phaseOf[typ], Host: c.Host, Resource: c.Address, Step: w.phaseOf[typ], Status: event.Done})
	r.journal(state.Entry{Status: state.StepDone, Step: w.phaseOf[typ], Resource: c.Address, Host: c.Host})
	return nil
}

func (r *runner) started(phase string, c plan.Change) {
	r.emit(event.Event{Phase: phase, Host: c.Host, Resource: c.Address, Step: phase, Status: event.Started, Detail: c.Reason})
	r.journal(state.Entry{Status: state.StepStarted, Step: phase, Resource: c.Address, Host: c.Host, Detail: c.Reason})
}

func (r *runner) failed(phase string, c plan.Change, err error) {
	msg := fmt.Sprintf("%s: %s: %v", hostOrCluster(c.Host), phase, err)
	r.emit(event.Event{Phase: phase, Host: c.Host, Resource: c.Address, Step: phase, Status: event.Failed, Error: msg})
	r.journal(state.Entry{Status: state.StepFailed, Step: phase, Resource: c.Address, Host: c.Host, Error: msg})
}
