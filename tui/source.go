package tui

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/strata-db/strata/db/status"
)

// Source delivers status documents. Fetch is called from a command, never
// from Update, at most once at a time; it returns an error when the cluster
// (or the file standing for it) cannot be read, and the dashboard then
// shows the cluster as unreachable and keeps trying.
type Source interface {
	Fetch(ctx context.Context) (*status.Status, error)
}

// FileSource reads a recorded status document from a file on every Fetch,
// so editing the file changes what the dashboard shows. It serves tests and
// `strata dash --fixture`.
type FileSource struct {
	Path string
}

// Fetch reads and parses the file.
func (f FileSource) Fetch(ctx context.Context) (*status.Status, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	file, err := os.Open(f.Path)
	if err != nil {
		return nil, fmt.Errorf("reading status fixture: %w", err)
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, status.MaxDocumentBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading status fixture %s: %w", f.Path, err)
	}
	st, err := status.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Path, err)
	}
	return st, nil
}
