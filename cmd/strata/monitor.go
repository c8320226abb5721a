package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/strata-db/strata/db/monitor"
	"github.com/strata-db/strata/db/monitor/conf"
)

const defaultConfFile = "/etc/strata/strata.conf"

func newMonitorCommand() *cobra.Command {
	var confFile, lockFile string
	cmd := &cobra.Command{
		Use:   "monitor --conffile FILE [--lockfile FILE]",
		Short: "Supervise the server processes a conf file describes (fdbmonitor semantics)",
		Long: `Starts one process per [server.<ID>] section of the conf file, restarts them when
they die, stops and restarts them when they pass their memory limit, and applies
atomic replacements of the file. SIGHUP reloads and resets restart backoff;
SIGTERM or SIGINT stops the processes and exits. The lockfile (default:
the conf file's path plus ".lock") keeps a second monitor off the same conf.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts := monitor.Options{
				ConfFile: confFile,
				Logger:   slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil)),
			}
			return monitor.Serve(cmd.Context(), opts, lockFile)
		},
	}
	cmd.Flags().StringVar(&confFile, "conffile", defaultConfFile, "configuration file")
	cmd.Flags().StringVar(&lockFile, "lockfile", "", "lockfile (default: CONFFILE.lock)")
	cmd.AddCommand(newMonitorStatusCommand())
	return cmd
}

// statusView is `monitor status --json`: the state file plus whether the
// monitor that wrote it is running.
type statusView struct {
	Running bool `json:"running"`
	*monitor.State
}

func newMonitorStatusCommand() *cobra.Command {
	var confFile, lockFile string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status --conffile FILE [--json]",
		Short: "Show the monitor's processes: pid, argv digest, uptime, restarts, last exit",
		Long: `Reads the state file named by the conf file's [monitor] section. Exits 3 when
no monitor holds the lockfile (the state shown is then from its last run).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			statePath, err := stateFileOf(confFile)
			if err != nil {
				return err
			}
			if lockFile == "" {
				lockFile = monitor.DefaultLockfile(confFile)
			}
			running, err := monitor.LockHeld(lockFile)
			if err != nil {
				return err
			}
			st, err := monitor.ReadState(statePath)
			if err != nil {
				if !running {
					return &exitError{code: 3, err: fmt.Errorf("monitor is not running (%w)", err)}
				}
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(statusView{Running: running, State: st}); err != nil {
					return err
				}
			} else if err := monitor.FormatState(out, st, running, time.Now()); err != nil {
				return err
			}
			if !running {
				return &exitError{code: 3, err: errors.New("monitor is not running")}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&confFile, "conffile", defaultConfFile, "configuration file")
	cmd.Flags().StringVar(&lockFile, "lockfile", "", "lockfile (default: CONFFILE.lock)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func stateFileOf(confFile string) (string, error) {
	data, err := os.ReadFile(confFile)
	if err != nil {
		return "", fmt.Errorf("reading monitor configuration: %w", err)
	}
	m, err := conf.ParseMonitor(confFile, data)
	if err != nil {
		return "", err
	}
	return m.StateFile, nil
}
