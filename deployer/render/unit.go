package render

import (
	"fmt"
	"path"
	"strings"
)

// MonitorUnitSpec is what the monitor's systemd unit runs.
type MonitorUnitSpec struct {
	// Cluster names the cluster in the unit's description.
	Cluster string
	// Release is the strata binary, Conf the supervisor conf it watches,
	// Log the file its own output is appended to (as when started
	// detached, so `strata` finds it in the same place either way).
	Release, Conf, Log string
}

// MonitorUnitDir is where apply installs the unit: the directory for units
// the administrator installs, read before /lib/systemd/system.
const MonitorUnitDir = "/etc/systemd/system"

// MonitorUnitName is the unit of the monitor of conf: "strata-monitor-"
// and conf's path escaped as `systemd-escape --path` does, so that two
// clusters on one machine (two confs) get two units.
func MonitorUnitName(conf string) string {
	return "strata-monitor-" + escapePath(conf) + ".service"
}

// MonitorUnitPath is the unit file of the monitor of conf.
func MonitorUnitPath(conf string) string { return path.Join(MonitorUnitDir, MonitorUnitName(conf)) }

// MonitorUnit renders the monitor's unit. systemd restarts the monitor if
// it dies and starts it at boot; the monitor supervises the servers as it
// does when started detached. Stopping sends SIGTERM to the monitor alone
// (KillMode=mixed), which stops its children first, and SIGKILL to
// whatever is left after TimeoutStopSec. The lockfile is the one apply
// passes when it starts the monitor detached, so refresh reads both kinds
// alike.
func MonitorUnit(u MonitorUnitSpec) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# strata monitor of cluster %s. Written by `strata apply`; edits here are overwritten.\n", oneLine(u.Cluster))
	b.WriteString("[Unit]\n")
	fmt.Fprintf(&b, "Description=strata monitor (%s)\n", oneLine(u.Conf))
	b.WriteString("Wants=network-online.target\nAfter=network-online.target\n\n")
	b.WriteString("[Service]\nType=simple\n")
	fmt.Fprintf(&b, "ExecStart=%s monitor --conffile %s --lockfile %s\n", unitWord(u.Release), unitWord(u.Conf), unitWord(u.Conf+".lock"))
	b.WriteString("WorkingDirectory=/\n")
	fmt.Fprintf(&b, "StandardOutput=append:%s\nStandardError=inherit\n", oneLine(u.Log))
	b.WriteString("Restart=always\nRestartSec=5\nKillMode=mixed\nTimeoutStopSec=90\nLimitNOFILE=1048576\n\n")
	b.WriteString("[Install]\nWantedBy=multi-user.target\n")
	return []byte(b.String())
}

// unitWord quotes s as one word of a unit's command line: systemd reads
// C-style escapes inside double quotes, and expands % specifiers.
func unitWord(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\"'\\%$\n") {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "%", "%%", "$", "$$", "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

// escapePath escapes p as `systemd-escape --path` does: slashes at the
// ends dropped, the others become "-", and bytes outside [A-Za-z0-9:_.]
// (and a leading ".") become \xNN.
func escapePath(p string) string {
	p = strings.Trim(path.Clean("/"+p), "/")
	if p == "" {
		return "-"
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '/':
			b.WriteByte('-')
		case c == '.' && i == 0,
			!(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ':' || c == '_' || c == '.'):
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
