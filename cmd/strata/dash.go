package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/strata-db/strata/tui"
)

// errNoLiveStatus is returned by `strata dash` without --fixture until the
// client can read status from a cluster.
var errNoLiveStatus = errors.New("live cluster status is not available yet (the cluster client is still being built); " +
	"use --fixture FILE to show a recorded status document")

func newDashCommand() *cobra.Command {
	var fixture, events string
	var interval time.Duration
	var noColor bool
	cmd := &cobra.Command{
		Use:   "dash --fixture FILE [--events FILE] [--interval 1s] [--no-color]",
		Short: "Show cluster health in the terminal: overview, workload, processes, data, rollout",
		Long: `Dash is a live terminal view of the cluster's status document: health and
recovery, workload with latencies, a process table (filter with /, sort with s,
details with enter), data distribution, and per-host progress of a running
apply or playbook. q quits; ? shows every key.

Live status needs the cluster client, which is not built yet: for now dash
shows a recorded status document (--fixture, re-read every interval, so an
edited file updates the view) and rollout events from a JSON-lines journal
(--events; one {"time","host","step","status","batch"} object a line).
NO_COLOR or --no-color turn colour off; state is always shown by symbols.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if fixture == "" {
				return &exitError{code: 1, err: errNoLiveStatus}
			}
			if interval <= 0 {
				return &exitError{code: 1, err: fmt.Errorf("--interval must be positive, not %s", interval)}
			}
			src := tui.FileSource{Path: fixture}
			// A mistyped fixture fails here, not as an "unreachable" cluster.
			if _, err := src.Fetch(cmd.Context()); err != nil {
				return err
			}
			out, ok := cmd.OutOrStdout().(*os.File)
			if !ok || !term.IsTerminal(int(out.Fd())) {
				return &exitError{code: 1, err: errors.New("strata dash needs a terminal on its standard output")}
			}
			opts := tui.Options{
				Source:   src,
				Interval: interval,
				Color:    !noColor && os.Getenv("NO_COLOR") == "",
			}
			if events != "" {
				opts.Rollout = &tui.JSONLinesReader{Path: events}
			}
			return tui.Run(cmd.Context(), opts, cmd.InOrStdin(), out)
		},
	}
	cmd.Flags().StringVar(&fixture, "fixture", "", "show this recorded status document (JSON, as `status json`) instead of a live cluster")
	cmd.Flags().StringVar(&events, "events", "", "follow rollout events in this JSON-lines file")
	cmd.Flags().DurationVar(&interval, "interval", tui.DefaultInterval, "time between refreshes")
	cmd.Flags().BoolVar(&noColor, "no-color", false, "never use colour (also set by NO_COLOR)")
	return cmd
}
