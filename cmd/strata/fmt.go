package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/pmezard/go-difflib/difflib"
	"github.com/spf13/cobra"

	"github.com/strata-db/strata/deployer/spec"
)

// fmtCheckFailed is the exit status of `fmt -check` when a file needs
// formatting, as in `terraform fmt -check`; 1 stays for real errors.
const fmtCheckFailed = 3

func newFmtCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "fmt [-check] [-diff] [-list=false] [FILE|DIR|-]...",
		Short: "Rewrite cluster descriptions in the canonical HCL style",
		Long: `Fmt rewrites HCL files (default: the *.hcl files of the current directory;
a directory means its *.hcl files; - means stdin to stdout) in the canonical
layout. It lists the files it changed. With -check it changes nothing and
exits 3 if any file needs formatting; syntax errors and unreadable files exit 1.`,
		DisableFlagParsing: true,
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		fs := flag.NewFlagSet("fmt", flag.ContinueOnError)
		f := fmtOptions{}
		fs.BoolVar(&f.check, "check", false, "change nothing; exit 3 if any file needs formatting")
		fs.BoolVar(&f.diff, "diff", false, "print the changes as a unified diff")
		fs.BoolVar(&f.list, "list", true, "print the names of files that need formatting")
		rest, err := parseGoFlags(cmd, fs, args)
		if errors.Is(err, flag.ErrHelp) {
			return nil
		} else if err != nil {
			return err
		}
		if len(rest) == 0 {
			rest = []string{"."}
		}
		f.out, f.errOut = cmd.OutOrStdout(), cmd.ErrOrStderr()
		return f.run(cmd.InOrStdin(), rest)
	}
	return cmd
}

type fmtOptions struct {
	check, diff, list bool
	out, errOut       io.Writer
	// unformatted and failed count files for the exit status.
	unformatted, failed int
}

func (f *fmtOptions) run(stdin io.Reader, targets []string) error {
	for _, target := range targets {
		if target == "-" {
			f.formatStdin(stdin)
			continue
		}
		files, err := hclFiles(target)
		if err != nil {
			fmt.Fprintf(f.errOut, "strata fmt: %v\n", err)
			f.failed++
			continue
		}
		for _, file := range files {
			f.formatFile(file)
		}
	}
	switch {
	case f.failed > 0:
		return &exitError{code: 1, err: fmt.Errorf("fmt: %d file(s) could not be formatted", f.failed)}
	case f.check && f.unformatted > 0:
		return &exitError{code: fmtCheckFailed, err: fmt.Errorf("fmt: %d file(s) need formatting", f.unformatted)}
	}
	return nil
}

// hclFiles expands a target: a file is itself, a directory its *.hcl files.
func hclFiles(target string) ([]string, error) {
	info, err := os.Stat(target)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return []string{target}, nil
	}
	files, err := filepath.Glob(filepath.Join(target, "*.hcl"))
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", target, err)
	}
	sort.Strings(files)
	return files, nil
}

func (f *fmtOptions) formatStdin(stdin io.Reader) {
	src, err := io.ReadAll(stdin)
	if err != nil {
		fmt.Fprintf(f.errOut, "strata fmt: reading stdin: %v\n", err)
		f.failed++
		return
	}
	out, ok := f.format("<stdin>", src)
	if ok && !f.check {
		f.out.Write(out)
	}
}

func (f *fmtOptions) formatFile(path string) {
	src, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(f.errOut, "strata fmt: %v\n", err)
		f.failed++
		return
	}
	out, ok := f.format(path, src)
	if !ok || f.check || string(out) == string(src) {
		return
	}
	if err := writeKeepingMode(path, out); err != nil {
		fmt.Fprintf(f.errOut, "strata fmt: %v\n", err)
		f.failed++
	}
}

// format formats src and reports a change by name and diff; ok is false
// when src has syntax errors (they are printed).
func (f *fmtOptions) format(name string, src []byte) (out []byte, ok bool) {
	out, diags := spec.Format(name, src)
	if diags.HasErrors() {
		sources := spec.Sources{name: {Bytes: src}}
		spec.WriteDiagnostics(f.errOut, sources, diags, 0, false)
		f.failed++
		return nil, false
	}
	if string(out) == string(src) {
		return out, true
	}
	f.unformatted++
	if f.list && name != "<stdin>" {
		fmt.Fprintln(f.out, name)
	}
	if f.diff {
		diff, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
			A: difflib.SplitLines(string(src)), B: difflib.SplitLines(string(out)),
			FromFile: name, ToFile: name + " (formatted)", Context: 3,
		})
		fmt.Fprint(f.out, diff)
	}
	return out, true
}

// writeKeepingMode replaces path's contents through a temporary file and a
// rename, so an interrupted fmt never leaves half a file, and keeps its mode.
func writeKeepingMode(path string, data []byte) error {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".strata-fmt-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Chmod(info.Mode().Perm()); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
