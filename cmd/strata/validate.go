package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/strata-db/strata/deployer/layout"
	"github.com/strata-db/strata/deployer/spec"
)

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// parseGoFlags parses Terraform-style flags (-json as well as --json, flags
// before the arguments) for commands that set DisableFlagParsing, and
// prints the usage on -h.
func parseGoFlags(cmd *cobra.Command, fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(cmd.ErrOrStderr())
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: strata %s\n\n%s\n\nFlags:\n", cmd.Use, cmd.Long)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, &exitError{code: 1, err: err}
	}
	return fs.Args(), nil
}

func newValidateCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "validate [-json] [-no-color] [-var name=value]... [-var-file FILE]... CONFIG.hcl",
		Short: "Check a cluster description and its layout",
		Long: `Validate decodes a cluster description, checks every value, and computes the
layout (ports, localities, coordinators), printing each problem with its
file:line:column and the source line. Variables are set by, in rising
precedence, their defaults, -var-file files, STRATA_VAR_<name> environment
variables and -var flags. Exit status: 0 valid (warnings allowed), 1 invalid.`,
		DisableFlagParsing: true,
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		fs := flag.NewFlagSet("validate", flag.ContinueOnError)
		jsonOut := fs.Bool("json", false, "print the result as a JSON document on stdout")
		noColor := fs.Bool("no-color", false, "never colour the output (also set by NO_COLOR)")
		var vars, varFiles stringList
		fs.Var(&vars, "var", "set a variable: -var 'name=value' (repeatable)")
		fs.Var(&varFiles, "var-file", "read variables from an HCL or JSON file (repeatable)")
		rest, err := parseGoFlags(cmd, fs, args)
		if errors.Is(err, flag.ErrHelp) {
			return nil
		} else if err != nil {
			return err
		}
		if len(rest) != 1 {
			fs.Usage()
			return &exitError{code: 1, err: errors.New("validate takes exactly one CONFIG file")}
		}
		return runValidate(cmd, rest[0], spec.Options{Vars: vars, VarFiles: varFiles, Env: os.Environ()}, *jsonOut, *noColor)
	}
	return cmd
}

func runValidate(cmd *cobra.Command, path string, opts spec.Options, jsonOut, noColor bool) error {
	s, sources, diags := spec.Load(path, opts)
	var l *layout.Layout
	if s != nil && !diags.HasErrors() {
		var more hcl.Diagnostics
		l, more = layout.Compute(s)
		diags = append(diags, more...)
	}
	out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if jsonOut {
		if err := spec.WriteDiagnosticsJSON(out, sources, diags); err != nil {
			return fmt.Errorf("writing JSON: %w", err)
		}
	} else {
		width, color := terminalStyle(errOut, noColor)
		if err := spec.WriteDiagnostics(errOut, sources, diags, width, color); err != nil {
			return fmt.Errorf("writing diagnostics: %w", err)
		}
	}
	if diags.HasErrors() {
		return &exitError{code: 1, err: fmt.Errorf("%s is not valid: %d error(s)", path, countErrors(diags))}
	}
	if !jsonOut {
		fmt.Fprintf(out, "%s is valid: cluster %q, %s redundancy, %d hosts, %d processes, coordinators %s.\n",
			path, s.Cluster.Name, s.Cluster.Redundancy, len(l.Hosts), l.ProcessCount(), strings.Join(l.Coordinators, " "))
	}
	return nil
}

func countErrors(diags hcl.Diagnostics) int {
	n := 0
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			n++
		}
	}
	return n
}

// terminalStyle says how wide to wrap and whether to colour output to w:
// colour only on a terminal, and never under NO_COLOR (no-color.org) or
// -no-color.
func terminalStyle(w io.Writer, noColor bool) (width uint, color bool) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0, false
	}
	if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 0 {
		width = uint(cols)
	}
	_, noColorEnv := os.LookupEnv("NO_COLOR")
	return width, !noColor && !noColorEnv
}
