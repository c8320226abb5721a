package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/strata-db/strata/db/kv"
)

// TestParse checks the tokenizer on testdata/parse: each command's
// tokens, Go-quoted, and the parse error with the broken command.
func TestParse(t *testing.T) {
	datadriven.RunTest(t, "testdata/parse", func(t *testing.T, d *datadriven.TestData) string {
		if d.Cmd != "parse" {
			t.Fatalf("unknown directive %s", d.Cmd)
		}
		var sb strings.Builder
		for _, line := range strings.Split(d.Input, "\n") {
			p := Parse(line)
			for _, c := range p.Commands {
				fmt.Fprintf(&sb, "%q\n", c)
			}
			if p.Err != nil {
				fmt.Fprintf(&sb, "error: %v; broken %q\n", p.Err, p.Broken)
			}
		}
		return sb.String()
	})
}

// TestExec runs command lines against the in-memory database, one
// interpreter per file. Directives:
//
//	exec [timeout=D] [notuples]   run each input line; "! " marks stderr
//	fail op=OP err=NAME           make the next OP fail with a kv error
//	block op=OP                   make OP wait until its context ends
//	unblock op=OP
//	state                         the committed data and open transactions
//	status                        the status documents reads return in
//	                              turn, separated by lines "next"
//	kills                         the kill requests so far
//	killfail addr=A               make kill requests to A fail
//	clusterfile                   write the input as the cluster file
func TestExec(t *testing.T) {
	datadriven.Walk(t, "testdata/exec", func(t *testing.T, path string) {
		db := newFakeDB()
		procs := &fakeProcesses{fail: map[string]bool{}}
		var out bytes.Buffer
		cf := filepath.Join(t.TempDir(), "strata.cluster")
		cfg := Config{DB: db, Out: &out, Err: &prefixWriter{w: &out, prefix: "! "}, Processes: procs,
			ClusterFile: cf, WaitTimeout: 50 * time.Millisecond, PollInterval: 5 * time.Millisecond}
		in := New(cfg)
		uids := 0
		in.lockUIDs = func() kv.LockUID {
			uids++
			return kv.LockUID{15: byte(uids)}
		}
		in.clusterIDs = func() string { return "ID" }
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			out.Reset()
			switch d.Cmd {
			case "exec":
				in.cfg.Timeout, in.cfg.NoTuples = 0, d.HasArg("notuples")
				if d.HasArg("timeout") {
					var s string
					d.ScanArgs(t, "timeout", &s)
					var err error
					if in.cfg.Timeout, err = time.ParseDuration(s); err != nil {
						t.Fatal(err)
					}
				}
				for _, line := range strings.Split(d.Input, "\n") {
					res := in.Run(context.Background(), line)
					if res.Failed {
						out.WriteString("[failed]\n")
					}
					if res.Exit {
						out.WriteString("[exit]\n")
					}
				}
				return out.String()
			case "fail":
				var op, name string
				d.ScanArgs(t, "op", &op)
				d.ScanArgs(t, "err", &name)
				db.fail[op] = kvError(t, name)
				return ""
			case "block", "unblock":
				var op string
				d.ScanArgs(t, "op", &op)
				db.block[op] = d.Cmd == "block"
				return ""
			case "state":
				return db.dump()
			case "status":
				db.statuses = strings.Split(d.Input, "\nnext\n")
				return ""
			case "kills":
				s := strings.Join(procs.reboots, "\n")
				procs.reboots = nil
				return s
			case "killfail":
				var addr string
				d.ScanArgs(t, "addr", &addr)
				procs.fail[addr] = true
				return ""
			case "clusterfile":
				if err := os.WriteFile(cf, []byte(d.Input+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				return ""
			}
			t.Fatalf("unknown directive %s", d.Cmd)
			return ""
		})
	})
}

func kvError(t *testing.T, name string) error {
	for _, e := range []error{kv.ErrNotCommitted, kv.ErrCommitUnknownResult, kv.ErrTransactionTooOld, kv.ErrDatabaseLocked} {
		if strings.HasPrefix(e.Error(), name+" ") {
			return e
		}
	}
	t.Fatalf("no kv error named %s", name)
	return nil
}

// prefixWriter marks each line written through it.
type prefixWriter struct {
	w       *bytes.Buffer
	prefix  string
	midLine bool
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if !p.midLine {
			p.w.WriteString(p.prefix)
		}
		p.w.Write(line)
		p.midLine = line[len(line)-1] != '\n'
	}
	return len(b), nil
}
