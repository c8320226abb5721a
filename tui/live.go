package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/status"
)

// LiveSource reads the status document of a running cluster through the Go
// client (the special key \xff\xff/status/json). It keeps one connection
// open across fetches, so following the cluster controller costs nothing
// per refresh. A document without the cluster section (no controller
// reachable) is an error: the dashboard shows the cluster as unreachable,
// with the last good data dimmed, and keeps trying.
type LiveSource struct {
	ClusterFile string
	db          *client.DB
}

// Fetch reads and parses one status document.
func (l *LiveSource) Fetch(ctx context.Context) (*status.Status, error) {
	if l.db == nil {
		db, err := client.Open(ctx, l.ClusterFile)
		if err != nil {
			return nil, fmt.Errorf("opening the cluster of %s: %w", l.ClusterFile, err)
		}
		l.db = db
	}
	tx, err := l.db.CreateTransaction(ctx)
	if err != nil {
		return nil, err
	}
	doc, err := tx.Get(client.StatusJSONKey)
	if err != nil {
		return nil, fmt.Errorf("reading status: %w", err)
	}
	st, err := status.Parse(doc)
	if err != nil {
		return nil, err
	}
	if st.Cluster == nil {
		return nil, unreachableError(st.Client)
	}
	return st, nil
}

// Close closes the connection.
func (l *LiveSource) Close() error {
	if l.db == nil {
		return nil
	}
	err := l.db.Close()
	l.db = nil
	return err
}

// unreachableError says why the client got no cluster section.
func unreachableError(c status.Client) error {
	var why []string
	for _, m := range c.Messages {
		why = append(why, m.Description)
	}
	if len(why) == 0 {
		return errors.New("cluster unreachable")
	}
	return fmt.Errorf("cluster unreachable: %s", strings.Join(why, " "))
}
