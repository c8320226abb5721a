package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/strata-db/strata/db/wire"
)

// Set at link time: go build -ldflags "-X main.version=0.1.0 -X main.commit=abc123".
var (
	version = "0.1.0-dev"
	commit  = ""
)

// buildCommit returns the commit set at link time, or the VCS revision Go
// embedded in the binary, or "unknown" under `go run` outside a checkout.
func buildCommit() string {
	if commit != "" {
		return commit
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", false
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if rev != "" {
			if dirty {
				rev += "-dirty"
			}
			return rev
		}
	}
	return "unknown"
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the release version, git commit and wire protocol version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "strata %s\n", version)
			fmt.Fprintf(out, "commit: %s\n", buildCommit())
			fmt.Fprintf(out, "protocol: %s (speaks %s)\n", wire.CurrentProtocol, wire.CurrentProtocol.Previous())
			return nil
		},
	}
}
