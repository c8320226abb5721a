package monitor

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"text/tabwriter"
	"time"

	"github.com/strata-db/strata/db/monitor/conf"
)

// State is what the monitor publishes about itself and its children, for
// `strata monitor status` and the deployer's refresh.
type State struct {
	MonitorPID int            `json:"monitor_pid"`
	ConfFile   string         `json:"conf_file"`
	ConfSHA256 string         `json:"conf_sha256"`          // of the file last applied
	ConfError  string         `json:"conf_error,omitempty"` // why the newest version was not applied
	Updated    time.Time      `json:"updated"`
	Stopped    bool           `json:"stopped,omitempty"` // the monitor has exited
	Processes  []ProcessState `json:"processes"`
}

// Process statuses.
const (
	StatusRunning  = "running"  // the child is up
	StatusStopping = "stopping" // signalled, waiting for it to exit
	StatusWaiting  = "waiting"  // down, restart scheduled at NextStart
	StatusStopped  = "stopped"  // down for good (the monitor is exiting)
)

// ProcessState describes one configured process.
type ProcessState struct {
	ID         string    `json:"id"`
	Status     string    `json:"status"`
	PID        int       `json:"pid,omitempty"`
	Argv       []string  `json:"argv"`
	ArgvDigest string    `json:"argv_digest"` // conf.Process.Digest of the running (or next) launch
	StartTime  time.Time `json:"start_time,omitzero"`
	NextStart  time.Time `json:"next_start,omitzero"`
	Restarts   int       `json:"restarts"`
	LastExit   string    `json:"last_exit,omitempty"`   // e.g. "exit status 1"
	LastReason string    `json:"last_reason,omitempty"` // e.g. "crashed", "memory limit ..."
	RSS        int64     `json:"rss_bytes,omitempty"`   // at the last memory check
	MemLimit   int64     `json:"memory_limit_bytes"`
}

// WriteState replaces the state file atomically.
func WriteState(path string, st *State) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding monitor state: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("writing monitor state: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("writing monitor state: %w", err)
	}
	_, err = tmp.Write(append(data, '\n'))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing monitor state: %w", err)
	}
	return nil
}

// ReadState reads a state file written by WriteState.
func ReadState(path string) (*State, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading monitor state: %w", err)
	}
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("reading monitor state %s: %w", path, err)
	}
	return &st, nil
}

// FormatState writes st for people: a header line, then a table of children.
func FormatState(w io.Writer, st *State, running bool, now time.Time) error {
	up := "running"
	if !running {
		up = "NOT RUNNING (state below is from its last run)"
	}
	fmt.Fprintf(w, "monitor pid %d %s\nconf %s (sha256 %.12s), state updated %s ago\n",
		st.MonitorPID, up, st.ConfFile, st.ConfSHA256, since(now, st.Updated))
	if st.ConfError != "" {
		fmt.Fprintf(w, "conf not applied: %s\n", st.ConfError)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tPID\tUPTIME\tRESTARTS\tRSS\tLAST EXIT\tDIGEST")
	for _, p := range st.Processes {
		pid, uptime := "-", "-"
		if p.PID != 0 {
			pid, uptime = fmt.Sprint(p.PID), since(now, p.StartTime)
		}
		status := p.Status
		if p.Status == StatusWaiting {
			status += " (restart in " + until(now, p.NextStart) + ")"
		}
		last := "-"
		if p.LastExit != "" {
			last = p.LastExit + " (" + p.LastReason + ")"
		}
		rss := "-"
		if p.RSS > 0 {
			rss = conf.FormatSize(p.RSS)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", p.ID, status, pid, uptime, p.Restarts, rss, last, p.ArgvDigest)
	}
	return tw.Flush()
}

func since(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return now.Sub(t).Round(time.Second).String()
}

func until(now, t time.Time) string {
	return max(0, t.Sub(now)).Round(100 * time.Millisecond).String()
}
