package tuple

import (
	"flag"
	"os"
	"testing"
)

// TestMain raises rapid's default of 100 checks per property, which rarely
// pits two big integers or two NaNs against each other, unless the caller
// chose a count with -rapid.checks.
func TestMain(m *testing.M) {
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "rapid.checks" })
	if !explicit {
		if err := flag.Set("rapid.checks", "2000"); err != nil {
			panic(err)
		}
	}
	os.Exit(m.Run())
}
