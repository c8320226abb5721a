package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/status"
)

// Defaults for Config.WaitTimeout and Config.PollInterval.
const (
	DefaultWaitTimeout  = 10 * time.Minute
	DefaultPollInterval = time.Second
)

// ProcessControl restarts server processes (`kill`), through their
// process-control endpoint (db/server/procctl).
type ProcessControl interface {
	// Reboot asks the process at addr (host:port) to restart; with
	// checkOnly it only checks that the process answers.
	Reboot(ctx context.Context, addr string, checkOnly bool) error
}

func (in *Interpreter) waitTimeout() time.Duration {
	if in.cfg.WaitTimeout > 0 {
		return in.cfg.WaitTimeout
	}
	return DefaultWaitTimeout
}

func (in *Interpreter) pollInterval() time.Duration {
	if in.cfg.PollInterval > 0 {
		return in.cfg.PollInterval
	}
	return DefaultPollInterval
}

// bounded returns ctx bounded by the per-command timeout, for the steps of
// commands that run unbounded as a whole (they wait for the cluster).
func (in *Interpreter) bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	if in.cfg.Timeout > 0 {
		return context.WithTimeout(ctx, in.cfg.Timeout)
	}
	return context.WithCancel(ctx)
}

// manageOptions are the options of the management commands' transactions:
// they read and write system keys, and work on a locked database, as
// fdbcli's do.
var manageOptions = []string{"access_system_keys", "lock_aware"}

// errPrinted fails a command whose message the command printed itself
// (fdbcli's own wording, often on several lines).
var errPrinted = errors.New("failed")

// finalError is a database error a command decided on (a lock held by
// another UID), which retrying would not change.
type finalError struct{ err error }

func (e *finalError) Error() string { return e.err.Error() }
func (e *finalError) Unwrap() error { return e.err }

// manage runs fn in a transaction of its own with manageOptions (not the
// one begun with `begin', nor the global options), commits it when commit
// is set, and retries while the error is retryable and ctx lasts. Errors
// are dbErrors, except errPrinted, which fn returns for a refusal it
// printed.
func (in *Interpreter) manage(ctx context.Context, commit bool, fn func(tr Transaction) error) error {
	tr, err := in.cfg.DB.CreateTransaction()
	if err != nil {
		return &dbError{fmt.Errorf("creating a transaction: %w", err)}
	}
	defer tr.Close()
	backoff := 10 * time.Millisecond
	for {
		err := setOptions(tr, manageOptions)
		if err == nil {
			err = fn(tr)
		}
		if err == nil && commit {
			_, err = tr.Commit(ctx)
		}
		if err == nil {
			return nil
		}
		if errors.Is(err, errPrinted) {
			return err
		}
		var dbe *dbError
		if errors.As(err, &dbe) {
			err = dbe.err
		}
		var fe *finalError
		if errors.As(err, &fe) {
			return &dbError{fe.err}
		}
		if !kv.IsRetryable(err) || ctx.Err() != nil {
			return &dbError{err}
		}
		if err := sleep(ctx, backoff); err != nil {
			return &dbError{err}
		}
		backoff = min(2*backoff, time.Second)
		tr.Reset()
	}
}

func setOptions(tr Transaction, names []string) error {
	for _, name := range names {
		if err := tr.SetOption(name, 0); err != nil {
			return fmt.Errorf("option %s: %w", name, err)
		}
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// readStatus reads and parses the status document in tr.
func readStatus(ctx context.Context, tr Transaction) (*status.Status, error) {
	doc, found, err := tr.Get(ctx, client.StatusJSONKey)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, errors.New("the cluster returned no status document")
	}
	return status.Parse(doc)
}

// clusterStatus reads the status document in a transaction of its own. A
// document without a cluster section (no controller answered) is an
// error naming why.
func (in *Interpreter) clusterStatus(ctx context.Context) (*status.Status, error) {
	var st *status.Status
	err := in.manage(ctx, false, func(tr Transaction) error {
		var err error
		st, err = readStatus(ctx, tr)
		return err
	})
	if err != nil {
		return nil, err
	}
	if st.Cluster == nil {
		why := "the cluster controller could not be reached"
		for _, m := range st.Client.Messages {
			if m.Description != "" {
				why = m.Description
			}
		}
		return st, fmt.Errorf("status: %s", why)
	}
	return st, nil
}

// readRange reads all of r (up to limit rows) in tr.
func readRange(ctx context.Context, tr Transaction, r kv.KeyRange, limit int) ([]kv.KeyValue, error) {
	return tr.GetRange(ctx, r.Begin, r.End, limit)
}

// hasRole reports whether p holds any of roles.
func hasRole(p status.Process, roles ...string) bool {
	for _, r := range p.Roles {
		for _, want := range roles {
			if r.Role == want {
				return true
			}
		}
	}
	return false
}

// processLocality is p's locality with the fallbacks status documents
// leave implicit: the machine id, and the process id (its address).
func processLocality(p status.Process) map[string]string {
	loc := make(map[string]string, len(p.Locality)+2)
	for k, v := range p.Locality {
		loc[k] = v
	}
	if loc["machineid"] == "" && p.MachineID != "" {
		loc["machineid"] = p.MachineID
	}
	if loc["processid"] == "" {
		loc["processid"] = p.Address
	}
	return loc
}
