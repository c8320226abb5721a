package cli

import (
	"fmt"
	"sort"
	"strconv"
)

// OptionSpec describes a transaction option that `option` can set; the
// names and meanings are FoundationDB's (fdb.md §2.2).
type OptionSpec struct {
	Name string
	// Param describes the option's integer parameter; "" for none.
	Param string
	Help  string
}

// Options are the transaction options `option` accepts, by name.
var Options = []OptionSpec{
	{Name: "access_system_keys", Help: "Allows this transaction to read and modify system keys (those that start with the byte 0xFF)."},
	{Name: "lock_aware", Help: "The transaction can read and write to locked databases."},
	{Name: "max_retry_delay", Param: "Value in milliseconds of maximum delay", Help: "Set the maximum amount of backoff delay incurred in the call to onError if the error is retryable. Defaults to 1000 ms."},
	{Name: "next_write_no_write_conflict_range", Help: "The next write performed on this transaction will not generate a write conflict range."},
	{Name: "priority_batch", Help: "Specifies that this transaction should be treated as low priority and that default priority transactions will be processed first."},
	{Name: "priority_system_immediate", Help: "Specifies that this transaction should be treated as highest priority and that lower priority transactions should block behind this one. Use is discouraged outside of low-level tools."},
	{Name: "read_system_keys", Help: "Allows this transaction to read system keys (those that start with the byte 0xFF)."},
	{Name: "read_your_writes_disable", Help: "Reads performed by a transaction will not see any prior mutations that occurred in that transaction."},
	{Name: "retry_limit", Param: "Number of times to retry. If set to -1, will disable the retry limit.", Help: "Set a maximum number of retries after which additional calls to onError will throw the most recently seen error code."},
	{Name: "size_limit", Param: "Value in bytes. Must be at least 32 and at most 10,000,000.", Help: "Set the transaction size limit in bytes."},
	{Name: "snapshot_ryw_disable", Help: "Snapshot read operations will not see the results of writes done in the same transaction."},
	{Name: "snapshot_ryw_enable", Help: "Snapshot read operations will see the results of writes done in the same transaction."},
	{Name: "timeout", Param: "Value in milliseconds of timeout. If set to 0, will disable all timeouts.", Help: "Set a timeout in milliseconds which, when elapsed, will cause the transaction automatically to be cancelled."},
}

func findOption(name string) (OptionSpec, bool) {
	for _, o := range Options {
		if o.Name == name {
			return o, true
		}
	}
	return OptionSpec{}, false
}

// optionSet is a set of enabled options with their parameters, as fdbcli
// keeps one for all transactions and one for the transaction begun with
// `begin`.
type optionSet map[string]int64

func (s optionSet) clone() optionSet {
	c := make(optionSet, len(s))
	for k, v := range s {
		c[k] = v
	}
	return c
}

func (s optionSet) names() []string {
	names := make([]string, 0, len(s))
	for k := range s {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// apply sets every enabled option on tr.
func (s optionSet) apply(tr Transaction) error {
	for _, name := range s.names() {
		if err := tr.SetOption(name, s[name]); err != nil {
			return fmt.Errorf("option %s: %w", name, err)
		}
	}
	return nil
}

// parseOption checks `option on NAME [ARG]`'s name and argument.
func parseOption(name string, arg *string) (int64, error) {
	spec, ok := findOption(name)
	if !ok {
		return 0, fmt.Errorf("invalid option '%s'. Try `help options' for a list of available options", showToken(name))
	}
	if (arg != nil) != (spec.Param != "") {
		if arg != nil {
			return 0, fmt.Errorf("option did not expect a parameter")
		}
		return 0, fmt.Errorf("option expected a parameter")
	}
	if arg == nil {
		return 0, nil
	}
	v, err := strconv.ParseInt(*arg, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("could not parse value `%s' as an integer", showToken(*arg))
	}
	return v, nil
}
