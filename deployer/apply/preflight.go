package apply

import (
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/strata-db/strata/deployer/plan"
)

// Requirements are what every host must offer before anything is changed.
type Requirements struct {
	// Arch is the release binary's machine as `uname -m` prints it
	// (x86_64, aarch64); empty skips the check.
	Arch string
	// MinFreeBytes is the free space the data path needs.
	MinFreeBytes int64
	// Commands must be on the host's PATH.
	Commands []string
	// Ports are the TCP ports each host's processes will listen on (server
	// and status ports), by host name; they must be free on a host that
	// has no conf of ours yet.
	Ports map[string][]int
	// MaxClockSkew bounds the difference between the host's clock and
	// this machine's (to the second, less the round trip); 0 skips it.
	MaxClockSkew time.Duration
}

// DefaultCommands are what apply's scripts run on a host.
func DefaultCommands() []string { return []string{"sh", "sha256sum", "setsid"} }

// CheckFailure is one failed preflight check.
type CheckFailure struct {
	Host    string `json:"host"`
	Check   string `json:"check"`
	Problem string `json:"problem"`
}

// PreflightError lists every failed check of every host.
type PreflightError struct{ Failures []CheckFailure }

func (e *PreflightError) Error() string {
	var b strings.Builder
	b.WriteString("preflight checks failed; nothing was changed:")
	for _, f := range e.Failures {
		fmt.Fprintf(&b, "\n  %s: %s: %s", f.Host, f.Check, f.Problem)
	}
	return b.String()
}

// HostFacts is what preflight learned about a host that passed.
type HostFacts struct {
	OS, Arch  string
	FreeBytes int64
	// ClockSkew is the host's clock minus this machine's, to the second.
	ClockSkew time.Duration
}

// Preflight checks every desired host (at most parallel at once): it is
// reachable, runs Linux on the release's architecture, has the commands
// apply uses and free space in its data path. It returns the facts of the
// hosts, or a *PreflightError naming each host and check that failed.
func Preflight(ctx context.Context, d *plan.Desired, hosts map[string]Host, req Requirements, parallel int) (map[string]HostFacts, error) {
	var mu sync.Mutex
	facts := map[string]HostFacts{}
	var failures []CheckFailure
	g, gctx := errgroupWithLimit(ctx, parallel)
	for i := range d.Hosts {
		dh := &d.Hosts[i]
		g.Go(func() error {
			f, fails := preflightHost(gctx, dh, hosts[dh.Name], req)
			mu.Lock()
			defer mu.Unlock()
			facts[dh.Name] = f
			failures = append(failures, fails...)
			return nil
		})
	}
	_ = g.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(failures) > 0 {
		slices.SortFunc(failures, func(a, b CheckFailure) int {
			return strings.Compare(a.Host+"\x00"+a.Check, b.Host+"\x00"+b.Check)
		})
		return facts, &PreflightError{Failures: failures}
	}
	return facts, nil
}

// preflightScript prints one tagged line per fact in a single round trip.
// The data path may not exist yet: its nearest existing parent is measured.
const preflightScript = `echo "clock $(date +%%s)"
echo "os $(uname -s) $(uname -m)"
for c in %s; do command -v "$c" >/dev/null 2>&1 || echo "missing $c"; done
d=%s
while [ ! -d "$d" ]; do d=$(dirname "$d"); done
echo "df $(df -Pk "$d" | tail -n 1)"
[ -e %s ] && exit 0
for p in %s; do
  h=$(printf '%%04X' "$p")
  cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | grep -q ":$h [0-9A-F]*:0000 0A" && echo "busy $p"
done
exit 0
`

func preflightHost(ctx context.Context, dh *plan.DesiredHost, h Host, req Requirements) (HostFacts, []CheckFailure) {
	fail := func(check, format string, args ...any) CheckFailure {
		return CheckFailure{Host: dh.Name, Check: check, Problem: fmt.Sprintf(format, args...)}
	}
	if h == nil {
		return HostFacts{}, []CheckFailure{fail("reachable", "no connection to the host")}
	}
	quoted := make([]string, len(req.Commands))
	for i, c := range req.Commands {
		quoted[i] = shQuote(c)
	}
	sent := time.Now()
	ports := make([]string, 0, len(req.Ports[dh.Name]))
	for _, p := range req.Ports[dh.Name] {
		ports = append(ports, strconv.Itoa(p))
	}
	script := fmt.Sprintf(preflightScript, strings.Join(quoted, " "), shQuote(path.Dir(dh.MonitorState)), shQuote(dh.Conf.Path), strings.Join(ports, " "))
	out, err := h.Exec(ctx, script, false)
	rtt := time.Since(sent)
	if err != nil {
		var ec ExitCoder
		if errors.As(err, &ec) {
			return HostFacts{}, []CheckFailure{fail("commands", "the preflight script failed: %v", err)}
		}
		return HostFacts{}, []CheckFailure{fail("reachable", "%v", err)}
	}
	var facts HostFacts
	var fails []CheckFailure
	for _, line := range strings.Split(string(out), "\n") {
		tag, rest, _ := strings.Cut(line, " ")
		fields := strings.Fields(rest)
		switch tag {
		case "clock":
			if len(fields) == 1 {
				if secs, err := strconv.ParseInt(fields[0], 10, 64); err == nil {
					facts.ClockSkew = clockSkew(time.Unix(secs, 0), sent, rtt)
				}
			}
		case "os":
			if len(fields) == 2 {
				facts.OS, facts.Arch = strings.ToLower(fields[0]), fields[1]
			}
		case "busy":
			fails = append(fails, fail("ports", "port %s is already in use by another program", rest))
		case "missing":
			fails = append(fails, fail("commands", "%s is not installed (apply needs %s)", rest, strings.Join(req.Commands, ", ")))
		case "df":
			// Filesystem 1024-blocks Used Available Capacity Mounted-on
			if len(fields) >= 4 {
				if kb, err := strconv.ParseInt(fields[3], 10, 64); err == nil {
					facts.FreeBytes = kb * 1024
				}
			}
		}
	}
	switch {
	case facts.OS == "":
		fails = append(fails, fail("os/arch", "uname printed nothing usable: %q", string(out)))
	case facts.OS != "linux":
		fails = append(fails, fail("os/arch", "the host runs %s; strata runs on linux", facts.OS))
	case req.Arch != "" && facts.Arch != req.Arch:
		fails = append(fails, fail("os/arch", "the host is %s, the release binary is built for %s", facts.Arch, req.Arch))
	}
	if req.MaxClockSkew > 0 && facts.ClockSkew.Abs() > req.MaxClockSkew {
		fails = append(fails, fail("clock", "the host's clock is %v off this machine's (at most %v allowed); run NTP on it", facts.ClockSkew, req.MaxClockSkew))
	}
	if facts.FreeBytes < req.MinFreeBytes {
		fails = append(fails, fail("disk", "%s has %s free, at least %s needed", path.Dir(dh.MonitorState), bytesText(facts.FreeBytes), bytesText(req.MinFreeBytes)))
	}
	return facts, fails
}

// clockSkew is how far remote (read somewhere between sent and sent+rtt,
// truncated to the second) is from the local clock, 0 when the reading
// fits the window.
func clockSkew(remote, sent time.Time, rtt time.Duration) time.Duration {
	lo, hi := sent.Truncate(time.Second), sent.Add(rtt)
	switch {
	case remote.Before(lo):
		return remote.Sub(lo)
	case remote.After(hi):
		return remote.Sub(hi)
	}
	return 0
}

func bytesText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d bytes", n)
}

// BinaryArch returns the machine of the ELF binary at path as `uname -m`
// names it.
func BinaryArch(path string) (string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return "", fmt.Errorf("reading the release binary %s: %w", path, err)
	}
	defer f.Close()
	switch f.Machine {
	case elf.EM_X86_64:
		return "x86_64", nil
	case elf.EM_AARCH64:
		return "aarch64", nil
	}
	return "", fmt.Errorf("the release binary %s is for %v; strata hosts are x86_64 or aarch64", path, f.Machine)
}
