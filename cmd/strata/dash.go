package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/strata-db/strata/db/clusterfile"
	"github.com/strata-db/strata/tui"
)

func newDashCommand() *cobra.Command {
	var fixture, events, clusterFile string
	var interval time.Duration
	var noColor bool
	cmd := &cobra.Command{
		Use:   "dash [-C cluster-file | --fixture FILE] [--events FILE] [--interval 1s] [--no-color]",
		Short: "Show cluster health in the terminal: overview, workload, processes, data, rollout",
		Long: `Dash is a live terminal view of the cluster's status document: health and
recovery, workload with latencies, a process table (filter with /, sort with s,
details with enter), data distribution, and per-host progress of a running
apply or playbook. q quits; ? shows every key.

Dash reads the cluster's status document through the client every interval
(the cluster file comes from -C, $STRATA_CLUSTER_FILE, ./strata.cluster or
/etc/strata/strata.cluster); an unreachable cluster is shown as such, with the
last good data dimmed, until it answers again. --fixture shows a recorded
status document instead (re-read every interval, so an edited file updates the
view). --events follows rollout events from a JSON-lines journal (one
{"time","host","step","status","batch"} object a line).
NO_COLOR or --no-color turn colour off; state is always shown by symbols.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if interval <= 0 {
				return &exitError{code: 1, err: fmt.Errorf("--interval must be positive, not %s", interval)}
			}
			var src tui.Source
			if fixture != "" {
				file := tui.FileSource{Path: fixture}
				// A mistyped fixture fails here, not as an "unreachable" cluster.
				if _, err := file.Fetch(cmd.Context()); err != nil {
					return err
				}
				src = file
			} else {
				path := clusterFilePath(clusterFile)
				// A missing or malformed cluster file fails here; an
				// unreachable cluster is shown by the dashboard.
				if _, err := clusterfile.Read(path); err != nil {
					return err
				}
				live := &tui.LiveSource{ClusterFile: path}
				defer live.Close()
				src = live
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
	cmd.Flags().StringVarP(&clusterFile, "cluster-file", "C", "", "cluster file of the cluster to show (default: $STRATA_CLUSTER_FILE, ./strata.cluster, /etc/strata/strata.cluster)")
	cmd.Flags().StringVar(&fixture, "fixture", "", "show this recorded status document (JSON, as `status json`) instead of a live cluster")
	cmd.Flags().StringVar(&events, "events", "", "follow rollout events in this JSON-lines file")
	cmd.Flags().DurationVar(&interval, "interval", tui.DefaultInterval, "time between refreshes")
	cmd.Flags().BoolVar(&noColor, "no-color", false, "never use colour (also set by NO_COLOR)")
	return cmd
}
