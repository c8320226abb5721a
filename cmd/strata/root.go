package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// exitError carries a specific process exit status out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// exitCode maps an error returned by a command to the process exit status.
func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

// newRootCommand builds the command tree. Each command group lives in its own
// file and registers only commands that work.
func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "strata",
		Short:         "Deploy and run a FoundationDB-class database on machines you own",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newVersionCommand(),
		newSimCommand(),
		newValidateCommand(),
		newFmtCommand(),
		newMonitorCommand(),
		newStateCommand(),
		newShowCommand(),
		newDashCommand(),
		newServerCommand(),
		newCLICommand(),
		newBenchCommand(),
		newInitCommand(),
		newPlanCommand(),
		newApplyCommand(),
		newDestroyCommand(),
		newStatusCommand(),
		newSSHMuxCommand(),
	)
	return root
}
