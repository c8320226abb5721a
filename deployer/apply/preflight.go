package apply

import (
	"debug/elf"
	"fmt"
	"strings"
	"time"
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
// flock tells refresh and apply whether the monitor holds its lock without
// starting the release binary; head streams the release.
func DefaultCommands() []string { return []string{"sh", "sha256sum", "setsid", "flock", "head"} }

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
	// Systemd is set when systemd is the host's init (PID 1): apply then
	// installs the monitor as a systemd unit.
	Systemd bool
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
