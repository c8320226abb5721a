package main

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/sim/simtests"
)

func newSimCommand() *cobra.Command {
	var (
		testName string
		seed     uint64
		seeds    int
		buggify  string
		trace    bool
		list     bool
	)
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Run deterministic simulation tests",
		Long: "Runs simulation tests. Each run prints its seed, simulated and wall seconds and trace hash;\n" +
			"the same seed always gives the same hash. A failing run prints the command that reproduces it.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			if list {
				for _, t := range simtests.All() {
					fmt.Fprintf(out, "%-20s %s\n", t.Name, t.Description)
				}
				return nil
			}
			if buggify != "on" && buggify != "off" {
				return fmt.Errorf("--buggify must be on or off, not %q", buggify)
			}
			tests := simtests.All()
			if testName != "" {
				t, err := simtests.Lookup(testName)
				if err != nil {
					return err
				}
				tests = []sim.Test{t}
			}
			runSeeds, err := chooseSeeds(cmd.Flags().Changed("seed"), seed, seeds)
			if err != nil {
				return err
			}
			opts := sim.Options{Buggify: buggify == "on"}
			if trace {
				opts.TraceOut = out
			}
			return runSimulations(cmd, out, tests, runSeeds, opts)
		},
	}
	cmd.Flags().StringVar(&testName, "test", "", "test to run (default: all; see --list)")
	cmd.Flags().Uint64Var(&seed, "seed", 0, "run exactly this seed")
	cmd.Flags().IntVar(&seeds, "seeds", 1, "run this many fresh random seeds")
	cmd.Flags().StringVar(&buggify, "buggify", "on", "fault-injection sites and randomised knobs: on or off")
	cmd.Flags().BoolVar(&trace, "trace", false, "print every trace event")
	cmd.Flags().BoolVar(&list, "list", false, "list the tests and exit")
	cmd.MarkFlagsMutuallyExclusive("seed", "seeds")
	return cmd
}

func chooseSeeds(fixed bool, seed uint64, n int) ([]uint64, error) {
	if fixed {
		return []uint64{seed}, nil
	}
	if n < 1 {
		return nil, fmt.Errorf("--seeds must be at least 1, not %d", n)
	}
	out := make([]uint64, n)
	var b [8]byte
	for i := range out {
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("choosing seeds: %w", err)
		}
		out[i] = binary.LittleEndian.Uint64(b[:]) >> 1 // keep seeds positive for every shell and language
	}
	return out, nil
}

func runSimulations(cmd *cobra.Command, out io.Writer, tests []sim.Test, seeds []uint64, opts sim.Options) error {
	start := time.Now()
	var passed, failed int
	var simTime time.Duration
	for _, t := range tests {
		for _, seed := range seeds {
			if err := cmd.Context().Err(); err != nil {
				return err
			}
			r := sim.RunTest(t, seed, opts)
			simTime += r.SimTime
			fmt.Fprintln(out, r)
			if r.Err == nil {
				passed++
				continue
			}
			failed++
			reportFailure(os.Stderr, r)
		}
	}
	wall := time.Since(start)
	fmt.Fprintf(out, "simulated %.1fs in %.1fs wall (%.1fx)\n", simTime.Seconds(), wall.Seconds(), simTime.Seconds()/max(wall.Seconds(), 1e-9))
	fmt.Fprintf(out, "%d passed, %d failed\n", passed, failed)
	if failed > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%d of %d simulation runs failed", failed, passed+failed)}
	}
	return nil
}

func reportFailure(w io.Writer, r sim.Result) {
	fmt.Fprintf(w, "\nFAILED %s seed %d: %v\n", r.Test, r.Seed, r.Err)
	fmt.Fprintln(w, "last events:")
	for _, e := range r.Recent {
		fmt.Fprintln(w, "  ", e)
	}
	fmt.Fprintf(w, "reproduce with:\n  %s\n\n", r.ReproduceCommand())
}
