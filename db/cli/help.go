package cli

import (
	"context"
	"sort"
	"strings"
)

// command is one working command and its help.
type command struct {
	usage string
	short string
	long  string
	run   func(in *Interpreter, ctx context.Context, args []string) error
	// unbounded commands run without the per-command timeout.
	unbounded bool
}

const (
	escapingK  = "\n\nFor information on escaping keys, type `help escaping'."
	escapingKV = "\n\nFor information on escaping keys and values, type `help escaping'."
)

// commands are the working commands by name; exit and quit are handled
// before the lookup.
var commands map[string]command

func init() {
	// Assigned in init because cmdHelp reads the table.
	commands = map[string]command{
		"begin": {usage: "begin", short: "begin a new transaction", run: cmdBegin,
			long: "Commands run in their own transaction, committed at once (autocommit), until `begin' starts a transaction that the following commands share. `commit' commits it; `rollback' discards it; `reset' empties it and keeps it open."},
		"clear": {usage: "clear <KEY>", short: "clear a key from the database", run: cmdClear,
			long: "Clearing a key that is not present succeeds; a conflict can still fail it. Needs `writemode on'." + escapingK},
		"clearrange": {usage: "clearrange <BEGINKEY> [ENDKEY]", short: "clear a range of keys from the database", run: cmdClearRange,
			long: "Clears every key from BEGINKEY (inclusive) to ENDKEY (exclusive); without ENDKEY, every key that starts with BEGINKEY. An empty range succeeds; a conflict can still fail it. Needs `writemode on'." + escapingK},
		"commit": {usage: "commit", short: "commit the current transaction", run: cmdCommit,
			long: "Commits the sets and clears of the transaction started with `begin' and prints the committed version. When the commit fails the error is printed and the transaction is rolled back."},
		"configure": {usage: "configure [new] [FORCE] <single|double|triple|three_data_hall|ssd|memory|commit_proxies=<N>|grv_proxies=<N>|resolvers=<N>|logs=<N>>*",
			short: "change the database configuration", run: cmdConfigure,
			long: "`configure new MODE ENGINE' creates the database, and works only on a database never configured; without `new', configure changes the configuration of a database that exists. MODE is single, double, triple or three_data_hall; ENGINE is ssd or memory; the role counts take a number from 1 to 1000. The settings are written under \\xff/conf/ in one transaction.\n\nUnless FORCE is given, a change needs an available database, and a redundancy mode needs as many zones (data halls for three_data_hall) as it keeps replicas among the processes that are not excluded."},
		"coordinators": {usage: "coordinators auto|<ADDRESS>+ [description=new_cluster_description]",
			short: "change cluster coordinators or description", run: cmdCoordinators, unbounded: true,
			long: "Without arguments, prints the cluster description and coordinators. `auto' chooses coordinators for the redundancy mode (1, 3, 5, or 9 for three_data_hall), one per zone, keeping current ones when they qualify; otherwise the addresses given become the coordinators, and must be processes of the cluster. description= renames the cluster; it must match [A-Za-z0-9_]+.\n\nThe new connection string is written to \\xff/coordinators for the cluster controller to act on; the command then waits (up to the CLI's --wait-timeout) until the cluster file or status names the new coordinators."},
		"exclude": {usage: "exclude [FORCE] [failed] [no_wait] [<ADDRESS...>] [locality_dcid:<excludedcid>] [locality_zoneid:<excludezoneid>] [locality_machineid:<excludemachineid>] [locality_processid:<excludeprocessid>]",
			short: "exclude servers from the database either with IP address match or locality match", run: cmdExclude, unbounded: true,
			long: "Without arguments, lists the excluded servers and localities. An ADDRESS is IP:PORT, or an IP alone for every process of a machine. The exclusions are written under \\xff/conf/excluded/ (\\xff/conf/failed/ with `failed'); then, unless `failed' or `no_wait' (also spelt --no-wait), the command waits (up to the CLI's --wait-timeout) until status shows no storage or log role on an excluded process, and says for each whether it is safe to remove.\n\n`failed' marks the processes as failed: their data is re-replicated from the other replicas rather than moved off them, so it can be lost if they held the last copy. Unless FORCE is given, an exclusion that would leave the cluster no process is refused."},
		"include": {usage: "include [failed] all|<ADDRESS...> [locality_dcid:<excludedcid>] [locality_zoneid:<excludezoneid>] [locality_machineid:<excludemachineid>] [locality_processid:<excludeprocessid>]",
			short: "permit previously-excluded servers and localities to rejoin the database", run: cmdInclude,
			long: "`include all' clears every exclusion (every failed one with `failed'); otherwise those named. Including a whole machine (an IP alone) also includes its processes."},
		"kill": {usage: "kill all|list|<ADDRESS...>", short: "attempts to kill one or more processes in the cluster", run: cmdKill,
			long: "`kill' or `kill list' lists the processes of the cluster. `kill ADDRESS...' asks those processes to restart, and `kill all' asks every one: each exits and its monitor starts it again."},
		"lock": {usage: "lock", short: "lock the database with a randomly generated lockUID", run: cmdLock,
			long: "Locks the database: until it is unlocked with the printed UID, only transactions with the lock_aware option commit. The UID is written to \\xff/dbLocked."},
		"maintenance": {usage: "maintenance [on|off] [ZONEID] [SECONDS]", short: "mark a zone for maintenance", run: cmdMaintenance,
			long: "`maintenance on ZONEID SECONDS' tells data distribution not to move data away from that zone's servers while they are down, for SECONDS; `maintenance off' ends it; `maintenance' alone shows it. The zone is written to \\xff/healthyZone."},
		"unlock": {usage: "unlock <UID>", short: "unlock the database with the provided lockUID", run: cmdUnlock,
			long: "Unlocks a database locked with `lock'. UID is the 32 hex digits `lock' printed; a lock with another UID stays, and the command fails with database_locked."},
		"exit": {usage: "exit", short: "exit the CLI"},
		"get": {usage: "get <KEY>", short: "fetch the value for a given key", run: cmdGet,
			long: "Prints the value of KEY, or `not found' when the database does not hold it." + escapingK},
		"getrange": {usage: "getrange [BEGINKEY [ENDKEY [LIMIT]]]", short: "fetch key/value pairs in a range of keys",
			run: func(in *Interpreter, ctx context.Context, args []string) error {
				return cmdGetRange(in, ctx, args, false)
			},
			long: "Prints up to LIMIT keys and their values from BEGINKEY (inclusive) to ENDKEY (exclusive); without ENDKEY, the keys that start with BEGINKEY; without either, every user key. LIMIT is 25 unless given." + escapingK},
		"getrangekeys": {usage: "getrangekeys [BEGINKEY [ENDKEY [LIMIT]]]", short: "fetch keys in a range of keys",
			run: func(in *Interpreter, ctx context.Context, args []string) error {
				return cmdGetRange(in, ctx, args, true)
			},
			long: "Prints up to LIMIT keys from BEGINKEY (inclusive) to ENDKEY (exclusive); without ENDKEY, the keys that start with BEGINKEY; without either, every user key. LIMIT is 25 unless given." + escapingK},
		"getversion": {usage: "getversion", short: "fetch the current read version", run: cmdGetVersion,
			long: "Prints the read version of the database, or of the transaction started with `begin'."},
		"help": {usage: "help [<topic>]", short: "get help about a topic or command", run: cmdHelp, unbounded: true},
		"option": {usage: "option <STATE> <OPTION> <ARG>", short: "enables or disables an option", run: cmdOption,
			long: "`option on OPTION [ARG]' enables OPTION, with ARG when it takes one; `option off OPTION' disables it. Outside a transaction started with `begin' an option applies to every later command and transaction; inside one, it applies to that transaction only, and cannot be turned off.\n\n`option' alone lists the enabled options.\n\nFor the options there are, type `help options'."},
		"reset": {usage: "reset", short: "reset the current transaction", run: cmdReset,
			long: "Discards the sets and clears of the transaction started with `begin', which stays open."},
		"rollback": {usage: "rollback", short: "rolls back the current transaction", run: cmdRollback,
			long: "Discards the transaction started with `begin', with its sets and clears, and returns to autocommit."},
		"set": {usage: "set <KEY> <VALUE>", short: "set a value for a given key", run: cmdSet,
			long: "Sets KEY to VALUE, creating KEY when it is not present. Needs `writemode on'." + escapingKV},
		"status": {usage: "status [json]", short: "get the status of the cluster", run: cmdStatus,
			long: "Prints the cluster's status document (from the cluster controller, through the special key\n\\xff\\xff/status/json) as a summary, or the whole document with `status json'."},
		"sleep": {usage: "sleep <SECONDS>", short: "sleep for a period of time", run: cmdSleep, unbounded: true},
		"writemode": {usage: "writemode <on|off>", short: "enables or disables sets and clears", run: cmdWriteMode,
			long: "Sets and clears are refused until `writemode on'; changing data from the CLI is best avoided."},
	}
}

// unavailable are fdbcli's commands Strata does not have yet, with the
// reason they fail.
var unavailable = map[string]string{
	"setclass": "process classes are set on the command line (strata server --class) until the cluster controller takes setclass",
}

const escapingHelp = `
Tokens are separated by spaces. A token can hold spaces if it is quoted
("hello world"), if each space is escaped with a backslash (hello\ world), or
if each space is written as the byte \x20 (hello\x20world). "" is the empty
token.

A backslash also escapes a quotation mark (\"), a semicolon (\;) and a
backslash (\\). Any byte can be written as \x and two hex digits, or as \u
and four hex digits up to 00FF: \x0a\x00\x00\x00 and \u000a\x00\x00\u0000
are both the 32-bit little-endian integer 10.

Keys and values are printed between ` + "`" + ` and ', with bytes outside printable
ASCII as \xNN and a backslash as \\. A key that is a valid tuple is followed by
its tuple form: ` + "`\\x02a\\x00\\x15\\x01' is `v'  # tuple (\"a\", 1)" + `

`

func cmdHelp(in *Interpreter, _ context.Context, args []string) error {
	switch {
	case len(args) == 0 || (len(args) == 1 && args[0] == "help"):
		in.helpOverview()
	case len(args) > 1:
		in.printf("Usage: help [topic]\n")
	case args[0] == "escaping":
		in.printf("%s", escapingHelp)
	case args[0] == "options":
		in.printf("\nThe following options are available to be set using the `option' command:\n\n")
		for _, o := range Options {
			text := o.Name + " - " + o.Help
			if o.Param != "" {
				text += " " + o.Param
			}
			in.printf("%s", wrap(text, 80))
		}
	default:
		in.helpCommand(args[0])
	}
	return nil
}

func (in *Interpreter) helpOverview() {
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	in.printf("\nList of commands:\n\n")
	for _, name := range names {
		in.printf(" %s:\n      %s\n", name, commands[name].short)
	}
	in.printf("\nFor information on a specific command, type `help <command>'.")
	in.printf("\nFor information on escaping keys and values, type `help escaping'.")
	in.printf("\nFor information on available options, type `help options'.\n\n")
}

func (in *Interpreter) helpCommand(name string) {
	c, ok := commands[name]
	if !ok {
		in.printf("I don't know anything about `%s'\n", showToken(name))
		return
	}
	in.printf("\n%s\n\n%s%s.\n", c.usage, strings.ToUpper(c.short[:1]), c.short[1:])
	if c.long != "" {
		in.printf("\n%s", wrap(c.long, 80))
	}
	in.printf("\n")
}

// wrap breaks text into lines of at most width bytes at spaces (a longer
// word gets a line of its own), keeping its newlines; every line ends with
// a newline.
func wrap(text string, width int) string {
	var sb strings.Builder
	for _, para := range strings.Split(text, "\n") {
		n := 0
		for i, w := range strings.Fields(para) {
			if i > 0 && n+1+len(w) > width {
				sb.WriteByte('\n')
				n = 0
			} else if i > 0 {
				sb.WriteByte(' ')
				n++
			}
			sb.WriteString(w)
			n += len(w)
		}
		sb.WriteByte('\n')
	}
	return sb.String()
}
