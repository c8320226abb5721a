package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// LineReader reads the user's input lines, showing its own prompt; it
// returns io.EOF at the end of the input.
type LineReader interface {
	ReadLine() (string, error)
}

// Interact reads and runs lines until the input ends, a line asks to
// exit, or ctx ends.
func (in *Interpreter) Interact(ctx context.Context, r LineReader) error {
	defer in.Close()
	for {
		line, err := r.ReadLine()
		if errors.Is(err, io.EOF) {
			fmt.Fprintln(in.cfg.Out)
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading input: %w", err)
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		if in.Run(ctx, line).Exit {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// Probe checks that db answers within timeout (0: no bound) by reading a
// version, so that an unreachable cluster is reported before any command
// runs.
func Probe(ctx context.Context, db Database, timeout time.Duration) error {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	tr, err := db.CreateTransaction()
	if err != nil {
		return fmt.Errorf("creating a transaction: %w", err)
	}
	defer tr.Close()
	// The probe must also work against a locked database.
	if err := tr.SetOption("lock_aware", 0); err != nil {
		return err
	}
	if _, err := tr.GetReadVersion(ctx); err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("the cluster did not answer within %v", timeout)
		}
		return fmt.Errorf("reading a version: %w", err)
	}
	return nil
}
