package apply

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/strata-db/strata/db/monitor"
	"github.com/strata-db/strata/deployer/plan"
)

// InspectOptions say what Inspect reads from each host.
type InspectOptions struct {
	// Requirements, when set, are checked (preflight).
	Requirements *Requirements
	// Refresh reads what the host runs: digests and the monitor.
	Refresh bool
	// ClusterFile also returns the host's cluster file, through which the
	// database is reached.
	ClusterFile bool
	// Parallel bounds the hosts read at once.
	Parallel int
}

// HostReport is what Inspect learned about one host.
type HostReport struct {
	Facts HostFacts
	// Failures are the failed preflight checks.
	Failures []CheckFailure
	// Observed is the refreshed host (nil without Refresh); its Error is
	// set when it could not be read.
	Observed *plan.ObservedHost
	// ClusterFile is the host's cluster file, nil when absent or not asked.
	ClusterFile []byte
}

// Inspect checks and reads every desired host in ONE remote command each
// (preflight facts, digests, the monitor's state, the cluster file), all
// hosts at once up to Parallel: a no-change plan costs one session per
// host. A host that cannot be reached fails its "reachable" check.
func Inspect(ctx context.Context, d *plan.Desired, hosts map[string]Host, opts InspectOptions) map[string]*HostReport {
	var mu sync.Mutex
	out := map[string]*HostReport{}
	g, gctx := errgroupWithLimit(ctx, opts.Parallel)
	for i := range d.Hosts {
		dh := &d.Hosts[i]
		g.Go(func() error {
			rep := inspectHost(gctx, dh, hosts[dh.Name], opts)
			mu.Lock()
			out[dh.Name] = rep
			mu.Unlock()
			return nil
		})
	}
	_ = g.Wait()
	return out
}

// Preflight checks every desired host (at most parallel at once): it is
// reachable, runs Linux on the release's architecture, has the commands
// apply uses and free space in its data path. It returns the facts of the
// hosts, or a *PreflightError naming each host and check that failed.
func Preflight(ctx context.Context, d *plan.Desired, hosts map[string]Host, req Requirements, parallel int) (map[string]HostFacts, error) {
	reps := Inspect(ctx, d, hosts, InspectOptions{Requirements: &req, Parallel: parallel})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return FactsOf(reps)
}

// FactsOf collects the facts of inspected hosts, or a *PreflightError
// listing every failed check, sorted by host and check.
func FactsOf(reps map[string]*HostReport) (map[string]HostFacts, error) {
	facts := map[string]HostFacts{}
	var failures []CheckFailure
	for name, r := range reps {
		facts[name] = r.Facts
		failures = append(failures, r.Failures...)
	}
	if len(failures) > 0 {
		slices.SortFunc(failures, func(a, b CheckFailure) int {
			return strings.Compare(a.Host+"\x00"+a.Check, b.Host+"\x00"+b.Check)
		})
		return facts, &PreflightError{Failures: failures}
	}
	return facts, nil
}

// Refresh observes every desired host, at most parallel at once. A host
// that cannot be read gets an Error naming the failed step; the others are
// still refreshed.
func Refresh(ctx context.Context, d *plan.Desired, hosts map[string]Host, parallel int) *plan.Observed {
	return ObservedOf(Inspect(ctx, d, hosts, InspectOptions{Refresh: true, Parallel: parallel}))
}

// ObservedOf collects the refreshed hosts of inspected hosts.
func ObservedOf(reps map[string]*HostReport) *plan.Observed {
	o := &plan.Observed{Hosts: map[string]*plan.ObservedHost{}}
	for name, r := range reps {
		if r.Observed != nil {
			o.Hosts[name] = r.Observed
		}
	}
	return o
}

// Markers between the parts of the inspect script's output.
const (
	refreshMarker     = "strata-refresh"
	clusterFileMarker = "strata-cluster-file"
	fileMarker        = "strata-file "
	eofMarker         = "strata-eof"
)

// preflightScript prints one tagged line per fact, starting as few
// processes as it can (a host runs it at every plan). The data path may
// not exist yet: its nearest existing parent is measured. Ports are
// checked only on a host without our conf (ours may hold them), in one
// pass over the kernel's listening sockets. systemd runs the machine when
// /run/systemd/system exists (sd_booted(3)). The clock and the
// system come from the shell and /proc when they can (bash's EPOCHSECONDS,
// Linux's kernel.ostype and kernel.arch), since every process started
// costs 5-10 ms of CPU on a small machine; date and uname otherwise.
const preflightScript = `t=${EPOCHSECONDS:-}; [ -n "$t" ] || t=$(date +%%s)
if [ -r /proc/sys/kernel/arch ] && read -r os < /proc/sys/kernel/ostype && read -r m < /proc/sys/kernel/arch; then :; else set -- $(uname -sm); os=$1; m=$2; fi
echo "clock $t $os $m"
for c in %s; do command -v "$c" >/dev/null 2>&1 || echo "missing $c"; done
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then echo "init systemd"; fi
d=%s
while [ ! -d "$d" ]; do d=${d%%/*}; d=${d:-/}; done
echo df; df -Pk "$d"
if [ ! -e %s ] && [ -n "%s" ]; then
  grep -E -h -o ':(%s) [0-9A-F]*:0000 0A' /proc/net/tcp /proc/net/tcp6 2>/dev/null | sed 's/^:/busy /'
fi
`

// refreshScript prints what the release, conf, cluster file and monitor
// unit (systemd hosts) are: one stat line each (size, mtime, inode, path)
// from one stat run, the release's digest, then the small files themselves, read
// with the shell's builtins and hashed here (they are small, and every
// process a host starts costs 5-10 ms of CPU on a small machine); then the
// monitor's snapshot. The shell cannot pass NUL bytes on: a file whose
// text does not come back at its stat size gets no digest (unreadable),
// which plans a rewrite.
//
// Hashing a release of tens of megabytes on every host at every plan
// dominated a no-change plan, so the release's digest is cached beside it
// (digestCachePath, written by the upload) with the file's size, mtime and
// inode, as git's index does: when those still match, the cached digest is
// used ("cached DIGEST"). A file replaced or rewritten changes at least one
// of them.
const refreshScript = `echo ` + refreshMarker + `
rel=%[1]s; conf=%[2]s; cl=%[3]s; unit=%[5]s; nl='
'
set --
for f in "$rel" "$conf" "$cl" "$unit"; do [ -e "$f" ] && set -- "$@" "$f"; done
info=; [ $# = 0 ] || info=$(stat -c '%%s %%Y %%i %%n' -- "$@") || exit 1
printf '%%s\n' "$info"
if [ -e "$rel" ]; then
  if [ -e "$rel.sha256" ] && read -r c k < "$rel.sha256" && [ "$k $rel" = "${info%%%%"$nl"*}" ]; then echo "cached $c"; else sha256sum -- "$rel" || exit 1; fi
fi
for f in "$conf" "$cl" "$unit"; do
  [ -e "$f" ] || continue
  if [ ! -f "$f" ]; then
    if [ -d "$f" ]; then echo "$f: Is a directory" >&2; else echo "$f: not a regular file" >&2; fi
    exit 1
  fi
  echo "` + fileMarker + `$f"
  l=; while IFS= read -r l; do printf '%%s\n' "$l"; done < "$f"
  printf '%%s\n` + eofMarker + `\n' "$l"
done
%[4]sprintf '` + monitorMarker + `%%s\n%%s\n` + endMarker + `\n' "$held" "$s"
`

// unreadableDigest stands for a file whose content could not be read
// exactly: it matches no digest, so a plan rewrites the file.
const unreadableDigest = "unreadable"

func inspectScript(dh *plan.DesiredHost, opts InspectOptions) string {
	var b strings.Builder
	if req := opts.Requirements; req != nil {
		quoted := make([]string, len(req.Commands))
		for i, c := range req.Commands {
			quoted[i] = shQuote(c)
		}
		ports := make([]string, 0, len(req.Ports[dh.Name]))
		for _, p := range req.Ports[dh.Name] {
			ports = append(ports, fmt.Sprintf("%04X", p))
		}
		pattern := strings.Join(ports, "|")
		fmt.Fprintf(&b, preflightScript, strings.Join(quoted, " "), shQuote(path.Dir(dh.MonitorState)), shQuote(dh.Conf.Path), pattern, pattern)
	}
	if opts.Refresh {
		fmt.Fprintf(&b, refreshScript, shQuote(dh.Release.Path), shQuote(dh.Conf.Path), shQuote(dh.Cluster.Path), monitorSnapshot(dh), shQuote(dh.MonitorUnit.Path))
	}
	if opts.ClusterFile {
		fmt.Fprintf(&b, "echo %s\n[ -e %s ] && while IFS= read -r l || [ -n \"$l\" ]; do printf '%%s\\n' \"$l\"; done < %s\n",
			clusterFileMarker, shQuote(dh.Cluster.Path), shQuote(dh.Cluster.Path))
	}
	b.WriteString("exit 0\n")
	return b.String()
}

func inspectHost(ctx context.Context, dh *plan.DesiredHost, h Host, opts InspectOptions) *HostReport {
	rep := &HostReport{}
	fail := func(check, format string, args ...any) {
		rep.Failures = append(rep.Failures, CheckFailure{Host: dh.Name, Check: check, Problem: fmt.Sprintf(format, args...)})
	}
	if opts.Refresh {
		rep.Observed = &plan.ObservedHost{Processes: map[string]plan.ObservedProcess{}}
	}
	if h == nil {
		fail("reachable", "no connection to the host")
		if rep.Observed != nil {
			rep.Observed.Error = "no connection to the host"
		}
		return rep
	}
	sent := time.Now()
	out, err := h.Exec(ctx, inspectScript(dh, opts), false)
	rtt := time.Since(sent)
	text := string(out)
	pre, rest := text, ""
	i := strings.Index(text, refreshMarker+"\n")
	hasRefresh := i >= 0
	if hasRefresh {
		pre, rest = text[:i], text[i+len(refreshMarker)+1:]
	} else if j := strings.Index(text, clusterFileMarker+"\n"); j >= 0 {
		pre, rest = text[:j], text[j:]
	}
	var ec ExitCoder
	switch {
	case err != nil && !errors.As(err, &ec):
		fail("reachable", "%v", err)
		if rep.Observed != nil {
			rep.Observed.Error = "refresh: " + err.Error()
		}
		return rep
	case err != nil && !hasRefresh && opts.Requirements != nil:
		fail("commands", "the preflight script failed: %v", err)
		if rep.Observed != nil {
			rep.Observed.Error = "refresh: " + err.Error()
		}
		return rep
	case err != nil && rep.Observed != nil:
		// The checks ran; reading what the host runs failed.
		rep.Observed.Error = "refresh: " + err.Error()
	}
	if req := opts.Requirements; req != nil {
		rep.Facts, rep.Failures = checkFacts(dh, pre, sent, rtt, *req, rep.Failures)
	}
	if err != nil {
		return rep
	}
	if opts.Refresh {
		if !hasRefresh {
			rep.Observed.Error = fmt.Sprintf("refresh: unexpected output %q", text)
			return rep
		}
		rest = parseRefresh(dh, rep.Observed, rest)
	}
	if opts.ClusterFile {
		if _, cf, ok := strings.Cut(rest, clusterFileMarker+"\n"); ok && cf != "" {
			rep.ClusterFile = []byte(cf)
		}
	}
	return rep
}

// checkFacts reads the preflight lines and checks them against req.
func checkFacts(dh *plan.DesiredHost, out string, sent time.Time, rtt time.Duration, req Requirements, fails []CheckFailure) (HostFacts, []CheckFailure) {
	fail := func(check, format string, args ...any) {
		fails = append(fails, CheckFailure{Host: dh.Name, Check: check, Problem: fmt.Sprintf(format, args...)})
	}
	var facts HostFacts
	lines := strings.Split(out, "\n")
	busy := map[int]bool{}
	for i, line := range lines {
		tag, rest, _ := strings.Cut(line, " ")
		fields := strings.Fields(rest)
		switch tag {
		case "clock": // clock SECONDS OS ARCH
			if len(fields) == 3 {
				if secs, err := strconv.ParseInt(fields[0], 10, 64); err == nil {
					facts.ClockSkew = clockSkew(time.Unix(secs, 0), sent, rtt)
				}
				facts.OS, facts.Arch = strings.ToLower(fields[1]), fields[2]
			}
		case "init":
			facts.Systemd = rest == "systemd"
		case "busy": // busy PORT REMOTE:0000 0A, the port in hex
			if p, err := strconv.ParseUint(rest[:strings.IndexByte(rest+" ", ' ')], 16, 16); err == nil && !busy[int(p)] {
				busy[int(p)] = true
				fail("ports", "port %d is already in use by another program", p)
			}
		case "missing":
			fail("commands", "%s is not installed (apply needs %s)", rest, strings.Join(req.Commands, ", "))
		case "df":
			// The last line of df -P: Filesystem 1024-blocks Used Available Capacity Mounted-on
			for _, l := range lines[i+1:] {
				if f := strings.Fields(l); len(f) >= 6 && f[0] != "Filesystem" {
					if kb, err := strconv.ParseInt(f[3], 10, 64); err == nil {
						facts.FreeBytes = kb * 1024
					}
					break
				}
			}
		}
	}
	switch {
	case facts.OS == "":
		fail("os/arch", "uname printed nothing usable: %q", out)
	case facts.OS != "linux":
		fail("os/arch", "the host runs %s; strata runs on linux", facts.OS)
	case req.Arch != "" && facts.Arch != req.Arch:
		fail("os/arch", "the host is %s, the release binary is built for %s", facts.Arch, req.Arch)
	}
	if req.MaxClockSkew > 0 && facts.ClockSkew.Abs() > req.MaxClockSkew {
		fail("clock", "the host's clock is %v off this machine's (at most %v allowed); run NTP on it", facts.ClockSkew, req.MaxClockSkew)
	}
	if facts.FreeBytes < req.MinFreeBytes {
		fail("disk", "%s has %s free, at least %s needed", path.Dir(dh.MonitorState), bytesText(facts.FreeBytes), bytesText(req.MinFreeBytes))
	}
	return facts, fails
}

// parseRefresh reads the digests and the monitor's snapshot into oh and
// returns the rest of the output.
func parseRefresh(dh *plan.DesiredHost, oh *plan.ObservedHost, out string) string {
	digests, snap, ok := strings.Cut(out, monitorMarker)
	if !ok {
		oh.Error = fmt.Sprintf("refresh: unexpected output %q", out)
		return ""
	}
	head, files := digests, ""
	if i := strings.Index("\n"+digests, "\n"+fileMarker); i >= 0 {
		head, files = digests[:i], digests[i:]
	}
	sizes := map[string]int{}
	for _, line := range strings.Split(head, "\n") {
		if f := strings.SplitN(line, " ", 4); len(f) == 4 && isDecimal(f[0]) && isDecimal(f[1]) && isDecimal(f[2]) {
			if n, err := strconv.Atoi(f[0]); err == nil {
				sizes[f[3]] = n
			}
			continue
		}
		sum, p, _ := strings.Cut(line, " ")
		switch {
		case sum == "cached":
			oh.ReleaseSHA256 = strings.TrimSpace(p)
		case len(sum) == 64:
			// sha256sum separates the digest and the path with two spaces
			// ("sum *path" in binary mode).
			if strings.TrimPrefix(strings.TrimPrefix(p, " "), "*") == dh.Release.Path {
				oh.ReleaseSHA256 = sum
			}
		}
	}
	for files != "" {
		var path, sum string
		path, sum, files = nextFile(files, sizes)
		switch path {
		case dh.Conf.Path:
			oh.ConfSHA256 = sum
		case dh.Cluster.Path:
			oh.ClusterFileSHA256 = sum
		case dh.MonitorUnit.Path:
			oh.MonitorUnitSHA256 = sum
		}
	}
	held, rest, ok := strings.Cut(snap, "\n")
	body, rest, ok2 := strings.Cut(rest, endMarker+"\n")
	if !ok || !ok2 {
		oh.Error = fmt.Sprintf("refresh monitor: unexpected output %q", snap)
		return ""
	}
	st, err := parseSnapshot(held, []byte(body))
	if err != nil {
		oh.Error = "refresh monitor: " + err.Error()
		return rest
	}
	oh.MonitorRunning = st.Running
	if oh.MonitorRunning {
		for _, p := range st.Processes {
			oh.Processes[p.ID] = plan.ObservedProcess{PID: p.PID, LaunchDigest: p.ArgvDigest, Running: p.Status == monitor.StatusRunning}
		}
	}
	return rest
}

// nextFile reads one "strata-file PATH" block of the refresh output: the
// file's text, which must be exactly its stat size and followed by the end
// marker, and returns its path, its digest (unreadableDigest when the text
// is not the file's) and the rest of the output.
func nextFile(out string, sizes map[string]int) (path, sum, rest string) {
	end := "\n" + eofMarker + "\n"
	line, body, ok := strings.Cut(strings.TrimPrefix(out, fileMarker), "\n")
	if !ok {
		return "", "", ""
	}
	if n, known := sizes[line]; known && len(body) >= n+len(end) && body[n:n+len(end)] == end {
		h := sha256.Sum256([]byte(body[:n]))
		return line, hex.EncodeToString(h[:]), body[n+len(end):]
	}
	// Not the size stat saw (NUL bytes lost, or the file changed while it
	// was read): no digest, and the next block starts after the marker.
	if i := strings.Index(body, end); i >= 0 {
		return line, unreadableDigest, body[i+len(end):]
	}
	return line, unreadableDigest, ""
}

func isDecimal(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
