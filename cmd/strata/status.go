package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/status"
)

func newStatusCommand() *cobra.Command {
	var clusterFile string
	var asJSON bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "status [--json] [-C cluster-file]",
		Short: "Show the cluster's status (the status document, or a summary of it)",
		Long: `Status reads the cluster's status document from its cluster controller (the
special key \xff\xff/status/json) and prints a summary like fdbcli's status, or
with --json the document itself. It exits with status 2 when the cluster
controller cannot be reached (the JSON then has only the client section).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runStatus(cmd.Context(), clusterFilePath(clusterFile), asJSON, timeout, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVarP(&clusterFile, "cluster-file", "C", "", "cluster file (default: $STRATA_CLUSTER_FILE, ./strata.cluster, /etc/strata/strata.cluster)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the status document as JSON")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Second, "give up after this long")
	return cmd
}

// readStatus reads the status document of the cluster file's cluster.
func readStatus(ctx context.Context, path string) ([]byte, *status.Status, error) {
	db, err := client.Open(ctx, path)
	if err != nil {
		return nil, nil, fmt.Errorf("opening the cluster of %s: %w", path, err)
	}
	defer db.Close()
	tx, err := db.CreateTransaction(ctx)
	if err != nil {
		return nil, nil, err
	}
	doc, err := tx.Get(client.StatusJSONKey)
	if err != nil {
		return nil, nil, fmt.Errorf("reading status: %w", err)
	}
	st, err := status.Parse(doc)
	if err != nil {
		return nil, nil, err
	}
	return doc, st, nil
}

func runStatus(ctx context.Context, path string, asJSON bool, timeout time.Duration, out io.Writer) error {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	doc, st, err := readStatus(ctx, path)
	if err != nil {
		return &exitError{code: exitClusterUnreachable, err: err}
	}
	if asJSON {
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, doc, "", "  "); err != nil {
			return fmt.Errorf("status document: %w", err)
		}
		pretty.WriteByte('\n')
		if _, err := pretty.WriteTo(out); err != nil {
			return err
		}
	} else {
		status.WriteSummary(out, path, st)
	}
	if st.Cluster == nil {
		return &exitError{code: exitClusterUnreachable, err: errors.New("the cluster controller could not be reached")}
	}
	return nil
}
