package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/status"
)

// defaultRangeLimit is getrange's row limit when none is given.
const defaultRangeLimit = 25

func cmdGet(in *Interpreter, ctx context.Context, args []string) error {
	if len(args) != 1 {
		return in.usage("get")
	}
	key := []byte(args[0])
	tr, done, err := in.transaction()
	if err != nil {
		return err
	}
	defer done()
	v, found, err := tr.Get(ctx, key)
	if err != nil {
		return &dbError{err}
	}
	if found {
		in.printf("`%s' is `%s'%s\n", printable(key), printable(v), in.tupleNote(key))
	} else {
		in.printf("`%s': not found%s\n", printable(key), in.tupleNote(key))
	}
	return nil
}

func (in *Interpreter) tupleNote(key []byte) string {
	if in.cfg.NoTuples {
		return ""
	}
	return tupleNote(key)
}

func cmdGetRange(in *Interpreter, ctx context.Context, args []string, keysOnly bool) error {
	name := "getrange"
	if keysOnly {
		name = "getrangekeys"
	}
	if len(args) > 3 {
		return in.usage(name)
	}
	if len(args) == 0 { // fdbcli requires BEGINKEY; "" is the natural default
		args = []string{""}
	}
	limit := defaultRangeLimit
	if len(args) == 3 {
		n, ok := parseLimit(args[2])
		if !ok {
			return errors.New("bad limit")
		}
		limit = n
	}
	begin := []byte(args[0])
	var end []byte
	if len(args) >= 2 {
		end = []byte(args[1])
	} else {
		var err error
		if end, err = prefixEnd(begin); err != nil {
			return &dbError{err}
		}
	}
	var rows []kv.KeyValue
	if limit > 0 { // a limit of 0 reads nothing, as in FoundationDB
		tr, done, err := in.transaction()
		if err != nil {
			return err
		}
		defer done()
		if rows, err = tr.GetRange(ctx, begin, end, limit); err != nil {
			return &dbError{err}
		}
	}
	in.printf("\nRange limited to %d keys\n", limit)
	for _, r := range rows {
		if keysOnly {
			in.printf("`%s'%s\n", printable(r.Key), in.tupleNote(r.Key))
		} else {
			in.printf("`%s' is `%s'%s\n", printable(r.Key), printable(r.Value), in.tupleNote(r.Key))
		}
	}
	in.printf("\n")
	return nil
}

// parseLimit reads getrange's LIMIT: at most nine decimal digits (so it
// cannot overflow), as fdbcli.
func parseLimit(s string) (int, bool) {
	if len(s) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// prefixEnd is getrange's end key when only BEGINKEY is given: the end of
// the user keyspace after "", the end of the system keyspace after \xff,
// and otherwise the first key after every key starting with begin.
func prefixEnd(begin []byte) ([]byte, error) {
	switch {
	case len(begin) == 0:
		return []byte{0xff}, nil
	case bytes.Equal(begin, []byte{0xff}):
		return []byte{0xff, 0xff}, nil
	case bytes.Compare(begin, kv.AllKeys.End) >= 0:
		return nil, fmt.Errorf("range starting at `%s': %w", printable(begin), kv.ErrKeyOutsideLegalRange)
	}
	return kv.PrefixRange(begin).End, nil
}

func cmdWriteMode(in *Interpreter, _ context.Context, args []string) error {
	if len(args) != 1 || (args[0] != "on" && args[0] != "off") {
		return in.usage("writemode")
	}
	in.writeMode = args[0] == "on"
	return nil
}

var errWriteMode = errors.New("writemode must be enabled to set or clear keys in the database.")

// write runs a set or clear: in the transaction begun with `begin`, or in
// a transaction of its own that it commits.
func (in *Interpreter) write(ctx context.Context, op func(tr Transaction)) error {
	tr, done, err := in.transaction()
	if err != nil {
		return err
	}
	defer done()
	op(tr)
	if in.tr != nil {
		return nil
	}
	return in.commit(ctx, tr)
}

func (in *Interpreter) commit(ctx context.Context, tr Transaction) error {
	v, err := tr.Commit(ctx)
	if err != nil {
		return &dbError{err}
	}
	if v == kv.InvalidVersion {
		in.printf("Nothing to commit\n")
	} else {
		in.printf("Committed (%d)\n", v)
	}
	return nil
}

func cmdSet(in *Interpreter, ctx context.Context, args []string) error {
	if !in.writeMode {
		return errWriteMode
	}
	if len(args) != 2 {
		return in.usage("set")
	}
	return in.write(ctx, func(tr Transaction) { tr.Set([]byte(args[0]), []byte(args[1])) })
}

func cmdClear(in *Interpreter, ctx context.Context, args []string) error {
	if !in.writeMode {
		return errWriteMode
	}
	if len(args) != 1 {
		return in.usage("clear")
	}
	return in.write(ctx, func(tr Transaction) { tr.Clear([]byte(args[0])) })
}

func cmdClearRange(in *Interpreter, ctx context.Context, args []string) error {
	if !in.writeMode {
		return errWriteMode
	}
	var begin, end []byte
	switch len(args) {
	case 1:
		begin = []byte(args[0])
		if len(bytes.TrimRight(begin, "\xff")) == 0 {
			return fmt.Errorf("no key follows every key starting with `%s'; give ENDKEY", printable(begin))
		}
		end = kv.PrefixRange(begin).End
	case 2:
		begin, end = []byte(args[0]), []byte(args[1])
	default:
		return in.usage("clearrange")
	}
	return in.write(ctx, func(tr Transaction) { tr.ClearRange(begin, end) })
}

func cmdBegin(in *Interpreter, _ context.Context, args []string) error {
	if len(args) != 0 {
		return in.usage("begin")
	}
	if in.tr != nil {
		return errors.New("Already in transaction")
	}
	tr, err := in.cfg.DB.CreateTransaction()
	if err != nil {
		return &dbError{fmt.Errorf("creating a transaction: %w", err)}
	}
	active := in.global.clone()
	if err := active.apply(tr); err != nil {
		tr.Close()
		return &dbError{err}
	}
	in.tr, in.active = tr, active
	in.printf("Transaction started\n")
	return nil
}

var errNoTransaction = errors.New("No active transaction")

func cmdCommit(in *Interpreter, ctx context.Context, args []string) error {
	if len(args) != 0 {
		return in.usage("commit")
	}
	if in.tr == nil {
		return errNoTransaction
	}
	if err := in.commit(ctx, in.tr); err != nil {
		return err
	}
	in.endTransaction()
	return nil
}

func cmdReset(in *Interpreter, _ context.Context, args []string) error {
	if len(args) != 0 {
		return in.usage("reset")
	}
	if in.tr == nil {
		return errNoTransaction
	}
	in.tr.Reset()
	in.active = in.global.clone()
	if err := in.active.apply(in.tr); err != nil {
		return &dbError{err}
	}
	in.printf("Transaction reset\n")
	return nil
}

func cmdRollback(in *Interpreter, _ context.Context, args []string) error {
	if len(args) != 0 {
		return in.usage("rollback")
	}
	if in.tr == nil {
		return errNoTransaction
	}
	in.endTransaction()
	in.printf("Transaction rolled back\n")
	return nil
}

func cmdGetVersion(in *Interpreter, ctx context.Context, args []string) error {
	if len(args) != 0 {
		return in.usage("getversion")
	}
	tr, done, err := in.transaction()
	if err != nil {
		return err
	}
	defer done()
	v, err := tr.GetReadVersion(ctx)
	if err != nil {
		return &dbError{err}
	}
	in.printf("%d\n", v)
	return nil
}

func cmdOption(in *Interpreter, _ context.Context, args []string) error {
	if len(args) == 1 || len(args) > 3 {
		return in.usage("option")
	}
	if len(args) == 0 {
		in.printOptions()
		return nil
	}
	var arg *string
	if len(args) == 3 {
		arg = &args[2]
	}
	switch args[0] {
	case "on":
		return in.optionOn(args[1], arg)
	case "off":
		return in.optionOff(args[1], arg)
	}
	return fmt.Errorf("Invalid option state `%s': option must be turned `on' or `off'", showToken(args[0]))
}

// optionOn enables an option for the transaction begun with `begin`, or
// else for every later transaction.
func (in *Interpreter) optionOn(name string, arg *string) error {
	v, err := parseOption(name, arg)
	if err != nil {
		return err
	}
	if in.tr == nil {
		in.global[name] = v
		in.printf("Option enabled for all transactions\n")
		return nil
	}
	if err := in.tr.SetOption(name, v); err != nil {
		return fmt.Errorf("option %s: %w", name, err)
	}
	in.active[name] = v
	in.printf("Option enabled for current transaction\n")
	return nil
}

// optionOff disables an option for later transactions; a transaction's
// options cannot be taken back.
func (in *Interpreter) optionOff(name string, arg *string) error {
	if in.tr != nil {
		return errors.New("Cannot turn option off when using a transaction created with `begin'")
	}
	if arg != nil {
		return errors.New("Cannot specify option argument when turning option off")
	}
	if _, ok := findOption(name); !ok {
		_, err := parseOption(name, nil)
		return err
	}
	delete(in.global, name)
	in.printf("Option disabled for all transactions\n")
	return nil
}

func (in *Interpreter) printOptions() {
	set := in.options()
	if len(set) == 0 {
		fmt.Fprintln(in.cfg.Err, "There are no options enabled")
		return
	}
	in.printf("\nCurrently enabled options:\n\n")
	for _, name := range set.names() {
		if spec, _ := findOption(name); spec.Param != "" {
			in.printf("%s: `%d'\n", name, set[name])
		} else {
			in.printf("%s\n", name)
		}
	}
	in.printf("\n")
}

func cmdSleep(in *Interpreter, ctx context.Context, args []string) error {
	if len(args) != 1 {
		return in.usage("sleep")
	}
	secs, err := strconv.ParseFloat(args[0], 64)
	if err != nil {
		return in.usage("sleep")
	}
	t := time.NewTimer(time.Duration(secs * float64(time.Second)))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return &dbError{ctx.Err()}
	}
}

// cmdStatus prints the status document, read through the special key
// \xff\xff/status/json: a summary like fdbcli's, or the JSON with `json'.
func cmdStatus(in *Interpreter, ctx context.Context, args []string) error {
	asJSON := len(args) == 1 && args[0] == "json"
	if len(args) > 1 || (len(args) == 1 && !asJSON) {
		return in.usage("status")
	}
	tr, done, err := in.transaction()
	if err != nil {
		return err
	}
	defer done()
	doc, found, err := tr.Get(ctx, client.StatusJSONKey)
	if err != nil {
		return &dbError{err}
	}
	if !found {
		return &dbError{errors.New("the cluster returned no status document")}
	}
	if asJSON {
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, doc, "", "  "); err != nil {
			return fmt.Errorf("status document: %w", err)
		}
		in.printf("%s\n", pretty.String())
		return nil
	}
	st, err := status.Parse(doc)
	if err != nil {
		return err
	}
	status.WriteSummary(in.cfg.Out, in.cfg.ClusterFile, st)
	if st.Cluster == nil {
		return errors.New("the cluster controller could not be reached")
	}
	return nil
}
