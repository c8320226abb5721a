package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/strata-db/strata/db/cli"
	"github.com/strata-db/strata/db/client"
)

// Exit statuses of `strata cli`: a failed command under --exec exits 1,
// as fdbcli does; a cluster that cannot be reached exits 2 (fdbcli exits 0
// there, fdb.md §9 item 7).
const (
	exitCommandFailed      = 1
	exitClusterUnreachable = 2
)

type cliFlags struct {
	clusterFile string
	exec        string
	timeout     string
	waitTimeout time.Duration
	noTuples    bool
}

func newCLICommand() *cobra.Command {
	var f cliFlags
	cmd := &cobra.Command{
		Use:   "cli",
		Short: "Read and write the database from the command line, as FoundationDB's fdbcli",
		Long: `Runs FoundationDB's fdbcli commands against the cluster: the data commands
(get, set, clear, clearrange, getrange, getrangekeys, getversion,
begin/commit/rollback/reset, writemode, option) and the management commands
(status, configure, coordinators, exclude, include, maintenance, kill, lock,
unlock), with sleep, help and exit. Keys and values are escaped and printed as
fdbcli does (type 'help escaping'); keys that are valid tuples are also shown in
tuple form, unless --no-tuples.

With --exec the commands (separated by ';') run and the CLI exits: 1 when a
command fails, 2 when the cluster cannot be reached within --timeout, else 0
(fdbcli exits 0 when it cannot reach the cluster). Without --exec commands are
read from the terminal (or standard input). --timeout bounds reaching the
cluster and each command's database calls; --wait-timeout bounds how long
exclude and coordinators wait for the cluster to act on them.`,
		Example: `  strata cli -C strata.cluster --exec "writemode on; set hello world; get hello"
  strata cli --exec 'getrange "" \xff 10'
  strata cli --exec 'configure new double ssd'
  strata cli --wait-timeout 30m --exec 'exclude 10.0.0.7:4500'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var exec *string
			if cmd.Flags().Changed("exec") {
				exec = &f.exec
			}
			return runCLI(cmd.Context(), f, exec, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.clusterFile, "cluster-file", "C", "", "cluster file (default: $STRATA_CLUSTER_FILE, ./strata.cluster, /etc/strata/strata.cluster)")
	fl.StringVar(&f.exec, "exec", "", "run these ';'-separated commands, then exit")
	fl.StringVar(&f.timeout, "timeout", "5s", "bound on reaching the cluster and on each command's database calls (a duration, or seconds; 0: none)")
	fl.DurationVar(&f.waitTimeout, "wait-timeout", cli.DefaultWaitTimeout, "bound on exclude's wait for data to move and coordinators' wait for the change")
	fl.BoolVar(&f.noTuples, "no-tuples", false, "print keys exactly as fdbcli, without their tuple form")
	return cmd
}

// parseTimeout reads --timeout: a Go duration, or whole seconds as
// fdbcli's --timeout takes.
func parseTimeout(s string) (time.Duration, error) {
	if n, err := strconv.Atoi(s); err == nil {
		s = strconv.Itoa(n) + "s"
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("--timeout %q: want a duration such as 5s, or seconds", s)
	}
	return d, nil
}

func runCLI(ctx context.Context, f cliFlags, exec *string, stdin io.Reader, stdout, stderr io.Writer) error {
	timeout, err := parseTimeout(f.timeout)
	if err != nil {
		return err
	}
	path := clusterFilePath(f.clusterFile)
	db, err := connect(ctx, path, timeout)
	if err != nil {
		return &exitError{code: exitClusterUnreachable, err: err}
	}
	defer db.Close()
	cdb := cli.ClientDatabase(ctx, db)
	if err := cli.Probe(ctx, cdb, timeout); err != nil {
		return &exitError{code: exitClusterUnreachable, err: fmt.Errorf("cannot reach the cluster of %s: %w", path, err)}
	}
	procs := &cli.FlowProcessControl{Timeout: timeout}
	defer procs.Close()
	in := cli.New(cli.Config{DB: cdb, Out: stdout, Err: stderr, Timeout: timeout, NoTuples: f.noTuples, ClusterFile: path,
		Processes: procs, WaitTimeout: f.waitTimeout})
	defer in.Close()
	if exec != nil {
		if in.Run(ctx, *exec).Failed {
			return &exitError{code: exitCommandFailed, err: errors.New("a command failed")}
		}
		return nil
	}
	fmt.Fprintf(stdout, "Using cluster file `%s'.\n\nWelcome to the strata cli. For help, type `help'.\n", path)
	return in.Interact(ctx, lineReader(stdin, stdout))
}

// connect opens the cluster named by the cluster file at path, within
// timeout.
func connect(ctx context.Context, path string, timeout time.Duration) (*client.DB, error) {
	if _, err := client.ReadClusterFile(path); err != nil {
		return nil, err
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	db, err := client.Open(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("opening the cluster of %s: %w", path, err)
	}
	return db, nil
}

// lineReader reads lines with editing and history from a terminal, and
// plainly otherwise.
func lineReader(stdin io.Reader, stdout io.Writer) cli.LineReader {
	in, ok := stdin.(*os.File)
	if ok && term.IsTerminal(int(in.Fd())) {
		rw := struct {
			io.Reader
			io.Writer
		}{in, stdout}
		return &termReader{fd: int(in.Fd()), t: term.NewTerminal(rw, "strata> ")}
	}
	return &plainReader{r: bufio.NewReader(stdin)}
}

// termReader puts the terminal in raw mode only while a line is read, so
// that commands print and Ctrl-C interrupts as usual.
type termReader struct {
	fd int
	t  *term.Terminal
}

func (r *termReader) ReadLine() (string, error) {
	old, err := term.MakeRaw(r.fd)
	if err != nil {
		return "", err
	}
	defer term.Restore(r.fd, old)
	return r.t.ReadLine()
}

type plainReader struct{ r *bufio.Reader }

func (p *plainReader) ReadLine() (string, error) {
	line, err := p.r.ReadString('\n')
	if err != nil && (line == "" || !errors.Is(err, io.EOF)) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}
