package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/strata-db/strata/db/kv"
)

// Config configures an Interpreter.
type Config struct {
	DB Database
	// Out receives command output, Err error messages (fdbcli prints
	// errors to stderr and everything else to stdout).
	Out, Err io.Writer
	// Timeout bounds each command's database calls; 0 means no bound.
	Timeout time.Duration
	// NoTuples turns off the tuple form printed after keys that decode
	// as tuples, leaving exactly fdbcli's output.
	NoTuples bool
	// ClusterFile is the cluster file's path, shown by `status`; `coordinators'
	// also watches it for the cluster's rewrite.
	ClusterFile string
	// Processes restarts processes for `kill'; nil leaves kill unavailable.
	Processes ProcessControl
	// WaitTimeout bounds how long `exclude' and `coordinators' wait for
	// the cluster to act (0: DefaultWaitTimeout); PollInterval is how
	// often they look (0: DefaultPollInterval).
	WaitTimeout, PollInterval time.Duration
}

// Interpreter runs fdbcli commands. It is not safe for concurrent use.
type Interpreter struct {
	cfg       Config
	writeMode bool
	tr        Transaction       // the transaction begun with `begin`, or nil
	global    optionSet         // options for every new transaction
	active    optionSet         // options of tr
	lockUIDs  func() kv.LockUID // nil: random UIDs for `lock'
	// clusterIDs gives `coordinators' its new cluster IDs; nil: random.
	clusterIDs func() string
}

// New returns an interpreter in autocommit mode with writes disabled.
func New(cfg Config) *Interpreter {
	return &Interpreter{cfg: cfg, global: optionSet{}}
}

// Result is the outcome of one input line.
type Result struct {
	// Failed reports that a command failed (the rest of the line was
	// then skipped).
	Failed bool
	// Exit reports that the line asked to leave the CLI.
	Exit bool
}

// Close discards the open transaction, if any.
func (in *Interpreter) Close() { in.endTransaction() }

// Run executes one input line: its `;`-separated commands in order,
// stopping at the first that fails, as fdbcli does. When the line holds
// more than one command each is echoed first, after ">>>".
func (in *Interpreter) Run(ctx context.Context, line string) Result {
	p := Parse(line)
	multi := len(p.Commands) > 1 || (p.Err != nil && len(p.Commands) > 0)
	failed := false
	for _, tokens := range p.Commands {
		if failed {
			in.skipRest()
			return Result{Failed: true}
		}
		if len(tokens) == 0 {
			continue
		}
		if multi {
			in.echo(tokens)
		}
		exit, err := in.command(ctx, tokens)
		if exit {
			return Result{Exit: true}
		}
		failed = err != nil
	}
	if p.Err != nil {
		if failed {
			in.skipRest()
			return Result{Failed: true}
		}
		in.errorf("%v", p.Err)
		if len(p.Broken) > 0 {
			in.errorf("Not running partial or malformed command:%s", echoTokens(p.Broken))
		}
		return Result{Failed: true}
	}
	return Result{Failed: failed}
}

func (in *Interpreter) skipRest() {
	fmt.Fprintln(in.cfg.Out, "WARNING: the previous command failed, the remaining commands will not be executed.")
}

func (in *Interpreter) echo(tokens []string) {
	fmt.Fprintf(in.cfg.Out, ">>>%s\n", echoTokens(tokens))
}

func echoTokens(tokens []string) string {
	var sb strings.Builder
	for _, t := range tokens {
		sb.WriteByte(' ')
		sb.WriteString(echoToken(t))
	}
	return sb.String()
}

func (in *Interpreter) printf(format string, a ...any) { fmt.Fprintf(in.cfg.Out, format, a...) }

func (in *Interpreter) errorf(format string, a ...any) {
	fmt.Fprintf(in.cfg.Err, "ERROR: "+format+"\n", a...)
}

// errUsage fails a command whose arguments are wrong after its usage line
// has been printed.
var errUsage = errors.New("usage")

// dbError is a failed database call; it rolls back the transaction begun
// with `begin`, as fdbcli does.
type dbError struct{ err error }

func (e *dbError) Error() string { return e.err.Error() }
func (e *dbError) Unwrap() error { return e.err }

// command runs one command and reports its failure (already printed).
func (in *Interpreter) command(ctx context.Context, tokens []string) (exit bool, err error) {
	name := tokens[0]
	if name == "exit" || name == "quit" {
		return true, nil
	}
	c, ok := commands[name]
	if !ok {
		if reason, ok := unavailable[name]; ok {
			in.errorf("`%s' is not available yet: %s", name, reason)
			return false, errors.New(reason)
		}
		in.errorf("Unknown command `%s'. Try `help'?", showToken(name))
		return false, errors.New("unknown command")
	}
	cctx, cancel := ctx, context.CancelFunc(func() {})
	if in.cfg.Timeout > 0 && !c.unbounded {
		cctx, cancel = context.WithTimeout(ctx, in.cfg.Timeout)
	}
	defer cancel()
	err = c.run(in, cctx, tokens[1:])
	in.report(ctx, cctx, err)
	return false, err
}

// report prints a command's error, unless the command printed it.
func (in *Interpreter) report(ctx, cctx context.Context, err error) {
	if err == nil || errors.Is(err, errUsage) || errors.Is(err, errPrinted) {
		return
	}
	var dbe *dbError
	switch {
	case !errors.As(err, &dbe):
		in.errorf("%v", err)
		return
	case ctx.Err() != nil:
		in.errorf("interrupted: %v", ctx.Err())
	case errors.Is(cctx.Err(), context.DeadlineExceeded):
		in.errorf("no answer from the cluster within %v", in.cfg.Timeout)
	default:
		in.errorf("%v", dbe.err)
	}
	if in.tr != nil {
		in.printf("Rolling back current transaction\n")
		in.endTransaction()
	}
}

// usage prints name's usage line and returns errUsage.
func (in *Interpreter) usage(name string) error {
	in.printf("Usage: %s\n", commands[name].usage)
	return errUsage
}

// transaction returns the transaction a command runs in: the one begun
// with `begin`, or a new one with the global options that done closes.
func (in *Interpreter) transaction() (tr Transaction, done func(), err error) {
	if in.tr != nil {
		return in.tr, func() {}, nil
	}
	tr, err = in.cfg.DB.CreateTransaction()
	if err != nil {
		return nil, nil, &dbError{fmt.Errorf("creating a transaction: %w", err)}
	}
	if err := in.global.apply(tr); err != nil {
		tr.Close()
		return nil, nil, &dbError{err}
	}
	return tr, tr.Close, nil
}

func (in *Interpreter) endTransaction() {
	if in.tr != nil {
		in.tr.Close()
		in.tr, in.active = nil, nil
	}
}

// options are the options the next operation runs with.
func (in *Interpreter) options() optionSet {
	if in.tr != nil {
		return in.active
	}
	return in.global
}
