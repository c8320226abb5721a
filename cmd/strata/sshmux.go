package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/strata-db/strata/deployer/remote"
)

// newSSHMuxCommand is the connection-keeping process plan, apply and
// destroy start for -ssh-persist (remote.ServeMux); not for people.
func newSSHMuxCommand() *cobra.Command {
	return &cobra.Command{
		Use:    "ssh-mux SOCKET LIFETIME",
		Short:  "Keep SSH connections open for later runs (started by plan, apply and destroy)",
		Hidden: true,
		Args:   cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			persist, err := time.ParseDuration(args[1])
			if err != nil {
				return fmt.Errorf("lifetime: %w", err)
			}
			return remote.ServeMux(cmd.Context(), args[0], persist)
		},
	}
}

// sshMuxCommand is how this binary runs newSSHMuxCommand, or nil when its
// path is unknown (connections then end with the run).
func sshMuxCommand() []string {
	exe, err := os.Executable()
	if err != nil {
		return nil
	}
	return []string{exe, "ssh-mux"}
}
