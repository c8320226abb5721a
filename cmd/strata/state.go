package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/strata-db/strata/deployer/state"
)

// statePathFor returns where the state of the description at config lives:
// beside it, named after it (cluster.hcl -> cluster.state).
func statePathFor(config string) string {
	return strings.TrimSuffix(config, filepath.Ext(config)) + ".state"
}

// stateFlags are the flags every state command shares: -state FILE, or a
// CONFIG argument whose state is used.
func stateFlags(fs *flag.FlagSet) *string {
	return fs.String("state", "", "state file (default: beside CONFIG.hcl, named CONFIG.state)")
}

func resolveStatePath(flagValue string, args []string) (string, []string, error) {
	if flagValue != "" {
		return flagValue, args, nil
	}
	if len(args) > 0 && strings.HasSuffix(args[0], ".hcl") {
		return statePathFor(args[0]), args[1:], nil
	}
	return "", nil, errors.New("name the state: -state FILE or a CONFIG.hcl argument")
}

func operator() string {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	return name + "@" + host
}

func newStateCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "state",
		Short: "Inspect and edit the deployer's state",
	}
	cmd.AddCommand(newStateListCommand(), newStateShowCommand(), newStateRmCommand(), newStateForceUnlockCommand())
	return cmd
}

// goFlagCommand builds a command with Terraform-style flags.
func goFlagCommand(use, short, long string, setup func(fs *flag.FlagSet) func(cmd *cobra.Command, args []string) error) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short, Long: long, DisableFlagParsing: true}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		fs := flag.NewFlagSet(strings.Fields(use)[0], flag.ContinueOnError)
		run := setup(fs)
		rest, err := parseGoFlags(cmd, fs, args)
		if errors.Is(err, flag.ErrHelp) {
			return nil
		} else if err != nil {
			return err
		}
		return run(cmd, rest)
	}
	return cmd
}

func newStateListCommand() *cobra.Command {
	return goFlagCommand("list [-state FILE | CONFIG.hcl]", "List the resources in the state", "",
		func(fs *flag.FlagSet) func(*cobra.Command, []string) error {
			statePath := stateFlags(fs)
			return func(cmd *cobra.Command, args []string) error {
				path, _, err := resolveStatePath(*statePath, args)
				if err != nil {
					return err
				}
				st, err := state.Load(path)
				if err != nil {
					return err
				}
				for _, r := range st.Resources {
					fmt.Fprintln(cmd.OutOrStdout(), r.Address)
				}
				return nil
			}
		})
}

func newStateShowCommand() *cobra.Command {
	return goFlagCommand("show [-state FILE | CONFIG.hcl] ADDRESS", "Show one resource's attributes", "",
		func(fs *flag.FlagSet) func(*cobra.Command, []string) error {
			statePath := stateFlags(fs)
			return func(cmd *cobra.Command, args []string) error {
				path, rest, err := resolveStatePath(*statePath, args)
				if err != nil {
					return err
				}
				if len(rest) != 1 {
					return errors.New("state show takes one ADDRESS")
				}
				st, err := state.Load(path)
				if err != nil {
					return err
				}
				r := st.Resource(rest[0])
				if r == nil {
					return fmt.Errorf("no resource %q in %s", rest[0], path)
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintf(w, "address\t%s\ntype\t%s\nupdated\t%s\n", r.Address, r.Type, r.UpdatedAt.Format("2006-01-02 15:04:05Z07:00"))
				keys := make([]string, 0, len(r.Attributes))
				for k := range r.Attributes {
					keys = append(keys, k)
				}
				slices.Sort(keys)
				for _, k := range keys {
					fmt.Fprintf(w, "%s\t%s\n", k, r.Attributes[k])
				}
				return w.Flush()
			}
		})
}

func newStateRmCommand() *cobra.Command {
	return goFlagCommand("rm [-state FILE | CONFIG.hcl] ADDRESS...",
		"Forget resources (the hosts are not touched)",
		"Removes resources from the state without touching any host: the next plan\nsees them as the hosts really are.",
		func(fs *flag.FlagSet) func(*cobra.Command, []string) error {
			statePath := stateFlags(fs)
			return func(cmd *cobra.Command, args []string) error {
				path, rest, err := resolveStatePath(*statePath, args)
				if err != nil {
					return err
				}
				if len(rest) == 0 {
					return errors.New("state rm takes at least one ADDRESS")
				}
				lock, err := state.Acquire(path, "state rm", operator())
				if err != nil {
					return err
				}
				defer lock.Release()
				st, err := state.Load(path)
				if err != nil {
					return err
				}
				for _, a := range rest {
					if !st.Remove(a) {
						return fmt.Errorf("no resource %q in %s (nothing removed)", a, path)
					}
				}
				if err := state.Save(path, st); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Removed %d resource(s) from %s.\n", len(rest), path)
				return nil
			}
		})
}

func newStateForceUnlockCommand() *cobra.Command {
	return goFlagCommand("force-unlock [-state FILE | CONFIG.hcl] LOCK_ID",
		"Remove a lock left by a run that died",
		"Removes the state lock if its ID is LOCK_ID (printed by the command that found it locked).\nOnly do this when the run that holds it is surely gone.",
		func(fs *flag.FlagSet) func(*cobra.Command, []string) error {
			statePath := stateFlags(fs)
			return func(cmd *cobra.Command, args []string) error {
				path, rest, err := resolveStatePath(*statePath, args)
				if err != nil {
					return err
				}
				if len(rest) != 1 {
					return errors.New("force-unlock takes one LOCK_ID")
				}
				if err := state.ForceUnlock(path, rest[0]); err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), "Lock removed.")
				return nil
			}
		})
}

func newShowCommand() *cobra.Command {
	return goFlagCommand("show [-json] [-state FILE | CONFIG.hcl]", "Show what the state records about the cluster", "",
		func(fs *flag.FlagSet) func(*cobra.Command, []string) error {
			statePath := stateFlags(fs)
			asJSON := fs.Bool("json", false, "print the state as JSON")
			return func(cmd *cobra.Command, args []string) error {
				path, _, err := resolveStatePath(*statePath, args)
				if err != nil {
					return err
				}
				st, err := state.Load(path)
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				if *asJSON {
					enc := json.NewEncoder(out)
					enc.SetIndent("", "  ")
					return enc.Encode(st)
				}
				fmt.Fprintf(out, "cluster %s (state %s, serial %d, lineage %s)\n", st.Cluster, path, st.Serial, st.Lineage)
				w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "ADDRESS\tTYPE\tUPDATED\tDETAIL")
				for _, r := range st.Resources {
					detail := r.Attributes["version"]
					if d := r.Attributes["sha256"]; d != "" && detail == "" {
						detail = "sha256 " + d[:min(12, len(d))]
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", r.Address, r.Type, r.UpdatedAt.Format("2006-01-02 15:04:05"), detail)
				}
				return w.Flush()
			}
		})
}
