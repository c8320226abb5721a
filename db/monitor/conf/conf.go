package conf

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults for settings the file leaves out.
const (
	DefaultRestartDelay  = 60 * time.Second
	DefaultMemory        = 8 << 30
	DefaultStateFile     = "/var/lib/strata/monitor.json"
	DefaultOutputDir     = "/var/log/strata"
	DefaultOutputMaxSize = 10 << 20
	DefaultOutputKeep    = 5
	DefaultGracePeriod   = 10 * time.Second
)

// Config is a parsed and validated configuration file.
type Config struct {
	Monitor   Monitor
	Processes []Process // sorted by ID
}

// Monitor holds the [monitor] section: the monitor's own settings.
type Monitor struct {
	StateFile     string        // state-file: where the state for `monitor status` is written
	OutputDir     string        // output-dir: children's stdout/stderr go to <dir>/<ID>.out
	OutputMaxSize int64         // output-max-size: rotate a child's output file past this size
	OutputKeep    int           // output-keep: rotated files kept per child
	GracePeriod   time.Duration // stop-grace-period: SIGTERM to SIGKILL, in seconds
}

// Restart is one process's restart schedule (fdbmonitor's four restart keys).
type Restart struct {
	Delay         time.Duration // restart-delay: the largest delay
	Initial       time.Duration // initial-restart-delay: the first delay, and the one after a reset
	Backoff       float64       // restart-backoff: delay multiplier, at least 1
	ResetInterval time.Duration // restart-delay-reset-interval: a run this long resets the delay
}

// Process is one [server.<ID>] section resolved through its section chain.
type Process struct {
	ID                 string
	Line               int      // line of the [server.<ID>] header
	Argv               []string // command words, then the generated --key=value arguments
	Env                []string // envvars as KEY=VALUE, in file order
	DeleteEnv          []string // delete-envvars: names removed from the monitor's environment
	Restart            Restart
	Memory             int64 // memory: RSS limit in bytes; 0 disables the guard
	KillOnConfigChange bool  // kill-on-configuration-change
}

// SameLaunch reports whether p and q start the same command line with the
// same environment, i.e. whether a change between them needs a restart.
func (p Process) SameLaunch(q Process) bool {
	return slices.Equal(p.Argv, q.Argv) && slices.Equal(p.Env, q.Env) && slices.Equal(p.DeleteEnv, q.DeleteEnv)
}

// Digest is a short hash of the launch (argv and environment settings), so
// that a deployer can tell whether a running child matches a conf file.
func (p Process) Digest() string {
	h := sha256.New()
	for _, part := range [][]string{p.Argv, p.Env, p.DeleteEnv} {
		for _, s := range part {
			h.Write([]byte(s))
			h.Write([]byte{0})
		}
		h.Write([]byte{1})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Load reads and parses the file at path; monitorPID replaces $PID.
func Load(path string, monitorPID int) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading monitor configuration: %w", err)
	}
	return Parse(path, data, monitorPID)
}

// Parse parses a configuration file's contents. path is used in errors only;
// monitorPID replaces $PID. Errors are *Error values naming file and line.
func Parse(path string, data []byte, monitorPID int) (*Config, error) {
	f, err := parseINI(path, data)
	if err != nil {
		return nil, err
	}
	r := resolver{f: f, pid: strconv.Itoa(monitorPID)}
	cfg := &Config{}
	if cfg.Monitor, err = r.monitor(); err != nil {
		return nil, err
	}
	for _, name := range f.order {
		m := processSectionRE.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		p, err := r.process(m[1])
		if err != nil {
			return nil, err
		}
		cfg.Processes = append(cfg.Processes, p)
	}
	slices.SortFunc(cfg.Processes, func(a, b Process) int { return strings.Compare(a.ID, b.ID) })
	return cfg, nil
}

// ParseMonitor parses only the [monitor] section, ignoring every other line,
// so that `monitor status` can find the state file even when the rest of the
// file has errors. Errors name their line in the whole file.
func ParseMonitor(path string, data []byte) (Monitor, error) {
	lines := strings.Split(string(data), "\n")
	in := false
	for i, line := range lines {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "[") {
			in = t == "[monitor]"
		}
		if !in {
			lines[i] = "" // blank, so that line numbers are kept
		}
	}
	f, err := parseINI(path, []byte(strings.Join(lines, "\n")))
	if err != nil {
		return Monitor{}, err
	}
	r := resolver{f: f}
	return r.monitor()
}

// monitorOnlyKeys are read by the monitor and never passed to a child
// (canonical spelling). fdbmonitor passes memory through as well as
// enforcing it, and so do we.
var monitorOnlyKeys = map[string]bool{
	"command":                      true,
	"restart-delay":                true,
	"initial-restart-delay":        true,
	"restart-backoff":              true,
	"restart-delay-reset-interval": true,
	"disable-lifecycle-logging":    true,
	"envvars":                      true,
	"delete-envvars":               true,
	"kill-on-configuration-change": true,
}

var restartKeys = []string{"restart-delay", "initial-restart-delay", "restart-backoff", "restart-delay-reset-interval"}

// monitorKeys are the keys [monitor] accepts.
var monitorKeys = map[string]bool{
	"state-file": true, "output-dir": true, "output-max-size": true, "output-keep": true, "stop-grace-period": true,
	"restart-delay": true, "initial-restart-delay": true, "restart-backoff": true, "restart-delay-reset-interval": true,
}

type resolver struct {
	f   *iniFile
	pid string
}

func (r *resolver) errAt(e entry, format string, args ...any) error {
	return errorf(r.f.path, e.line, "%s = %s: %s", e.key, e.value, fmt.Sprintf(format, args...))
}

func (r *resolver) monitor() (Monitor, error) {
	m := Monitor{
		StateFile: DefaultStateFile, OutputDir: DefaultOutputDir,
		OutputMaxSize: DefaultOutputMaxSize, OutputKeep: DefaultOutputKeep, GracePeriod: DefaultGracePeriod,
	}
	s := r.f.sections["monitor"]
	if s == nil {
		return m, nil
	}
	for _, k := range sortedKeys(s.entries) {
		e := s.entries[k]
		if !monitorKeys[k] {
			return m, errorf(r.f.path, e.line, "unknown key %q in [monitor]; known keys: %s", e.key, strings.Join(sortedKeys(monitorKeys), ", "))
		}
		var err error
		switch k {
		case "state-file":
			m.StateFile, err = nonEmpty(e.value)
		case "output-dir":
			m.OutputDir, err = nonEmpty(e.value)
		case "output-max-size":
			m.OutputMaxSize, err = ParseSize(e.value)
		case "output-keep":
			m.OutputKeep, err = strconv.Atoi(e.value)
			if err == nil && m.OutputKeep < 0 {
				err = fmt.Errorf("must not be negative")
			}
		case "stop-grace-period":
			m.GracePeriod, err = parseSeconds(e.value)
		default: // restart keys: checked here, used by processes.
			_, err = parseSeconds(e.value)
			if k == "restart-backoff" {
				_, err = parseBackoff(e.value)
			}
		}
		if err != nil {
			return m, r.errAt(e, "%v", err)
		}
	}
	return m, nil
}

// lookup finds key in [server.<id>], then [server], then [general], and
// finally in extra sections (the restart keys also consult [monitor]).
func (r *resolver) lookup(id, canon string, extra ...string) (entry, bool) {
	for _, name := range append([]string{"server." + id, "server", "general"}, extra...) {
		if e, ok := r.f.sections[name].get(canon); ok {
			e.value = strings.ReplaceAll(strings.ReplaceAll(e.value, "$ID", id), "$PID", r.pid)
			return e, true
		}
	}
	return entry{}, false
}

func (r *resolver) process(id string) (Process, error) {
	header := r.f.sections["server."+id]
	p := Process{ID: id, Line: header.line, Memory: DefaultMemory, KillOnConfigChange: true}
	cmd, ok := r.lookup(id, "command")
	if !ok || strings.TrimSpace(cmd.value) == "" {
		where := header.line
		if ok {
			where = cmd.line
		}
		return p, errorf(r.f.path, where, "[server.%s] has no command: set command in [server.%s], [server] or [general]", id, id)
	}
	var err error
	if p.Argv, err = splitCommand(cmd.value); err != nil {
		return p, r.errAt(cmd, "%v", err)
	}
	args, err := r.arguments(id)
	if err != nil {
		return p, err
	}
	p.Argv = append(p.Argv, args...)
	if p.Restart, err = r.restart(id); err != nil {
		return p, err
	}
	if e, ok := r.lookup(id, "memory"); ok {
		if p.Memory, err = ParseSize(e.value); err != nil {
			return p, r.errAt(e, "%v", err)
		}
	}
	if e, ok := r.lookup(id, "kill-on-configuration-change"); ok {
		if p.KillOnConfigChange, err = parseBool(e.value); err != nil {
			return p, r.errAt(e, "%v", err)
		}
	}
	if e, ok := r.lookup(id, "disable-lifecycle-logging"); ok {
		if _, err = parseBool(e.value); err != nil {
			return p, r.errAt(e, "%v", err)
		}
	}
	if e, ok := r.lookup(id, "envvars"); ok {
		if p.Env, err = parseEnvVars(e.value); err != nil {
			return p, r.errAt(e, "%v", err)
		}
	}
	if e, ok := r.lookup(id, "delete-envvars"); ok {
		p.DeleteEnv = strings.Fields(e.value)
	}
	return p, nil
}

// arguments builds --key=value for every passed-through key in the chain,
// in canonical-key order so the argv (and its digest) is deterministic.
func (r *resolver) arguments(id string) ([]string, error) {
	keys := map[string]bool{}
	for _, name := range []string{"server." + id, "server", "general"} {
		if s := r.f.sections[name]; s != nil {
			for k := range s.entries {
				if !monitorOnlyKeys[k] {
					keys[k] = true
				}
			}
		}
	}
	var args []string
	for _, k := range sortedKeys(keys) {
		e, _ := r.lookup(id, k)
		if !strings.HasPrefix(k, "flag-") {
			args = append(args, "--"+e.key+"="+e.value)
			continue
		}
		name := e.key[len("flag-"):]
		if name == "" {
			return nil, errorf(r.f.path, e.line, "%s: flag key has no flag name after %q", e.key, e.key)
		}
		on, err := parseBool(e.value)
		if err != nil {
			return nil, r.errAt(e, "%v", err)
		}
		if on {
			args = append(args, "--"+name)
		}
	}
	return args, nil
}

func (r *resolver) restart(id string) (Restart, error) {
	var vals [4]*entry
	for i, k := range restartKeys {
		if e, ok := r.lookup(id, k, "monitor"); ok {
			vals[i] = &e
		}
	}
	rs := Restart{Delay: DefaultRestartDelay}
	var err error
	seconds := func(e *entry, dst *time.Duration) {
		if e != nil && err == nil {
			if *dst, err = parseSeconds(e.value); err != nil {
				err = r.errAt(*e, "%v", err)
			}
		}
	}
	seconds(vals[0], &rs.Delay)
	rs.Backoff, rs.ResetInterval = rs.Delay.Seconds(), rs.Delay
	seconds(vals[1], &rs.Initial)
	seconds(vals[3], &rs.ResetInterval)
	if err == nil && vals[2] != nil {
		if rs.Backoff, err = parseBackoff(vals[2].value); err != nil {
			err = r.errAt(*vals[2], "%v", err)
		}
	}
	if err == nil && rs.Backoff < 1 {
		// Only reachable through the default: restart-delay below one second.
		rs.Backoff = 1
	}
	return rs, err
}

func parseSeconds(s string) (time.Duration, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || math.IsNaN(v) || v > 1e9 {
		return 0, fmt.Errorf("want a non-negative number of seconds")
	}
	return time.Duration(v * float64(time.Second)), nil
}

func parseBackoff(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("want a number")
	}
	if v < 1 {
		return 0, fmt.Errorf("restart-backoff must be at least 1.0")
	}
	return v, nil
}

func parseBool(s string) (bool, error) {
	switch s {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("want true or false")
}

func nonEmpty(s string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("must not be empty")
	}
	return s, nil
}

// parseEnvVars splits "A=B C=D" into pairs; each needs exactly one '=' and a
// non-empty name and value, as in fdbmonitor.
func parseEnvVars(s string) ([]string, error) {
	var out []string
	for _, kv := range strings.Fields(s) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || v == "" || strings.Contains(v, "=") {
			return nil, fmt.Errorf("%q is not NAME=VALUE (exactly one '=', both sides non-empty)", kv)
		}
		out = append(out, kv)
	}
	return out, nil
}

// splitCommand splits command into words at whitespace, as fdbmonitor does.
// As an extension, single or double quotes group words, so that a shell
// one-liner (sh -c '...') can be supervised; quotes have no escapes.
func splitCommand(s string) ([]string, error) {
	var (
		words   []string
		cur     strings.Builder
		inWord  bool
		quote   rune
		quoteAt int
	)
	for i, c := range s {
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(c)
		case c == '\'' || c == '"':
			quote, quoteAt, inWord = c, i, true
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote at column %d of the command", quote, quoteAt+1)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
