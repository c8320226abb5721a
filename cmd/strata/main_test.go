package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
)

// run executes the strata command tree with args and returns its output.
func runStrata(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

var hashRE = regexp.MustCompile(`hash=([0-9a-f]{16})`)

func simHash(t *testing.T, seed string) string {
	t.Helper()
	out, err := runStrata(t, "sim", "--test", "flow-selftest", "--seed", seed)
	if err != nil {
		t.Fatalf("strata sim --seed %s: %v\n%s", seed, err, out)
	}
	m := hashRE.FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "seed="+seed) || !strings.Contains(out, "1 passed, 0 failed") {
		t.Fatalf("unexpected output:\n%s", out)
	}
	return m[1]
}

func TestSimSameSeedSameHash(t *testing.T) {
	a, b := simHash(t, "12345"), simHash(t, "12345")
	if a != b {
		t.Fatalf("seed 12345 printed hashes %s and %s", a, b)
	}
	if c := simHash(t, "12346"); c == a {
		t.Fatalf("seeds 12345 and 12346 printed the same hash %s", a)
	}
}

func TestSimRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"sim", "--test", "nope"},
		{"sim", "--buggify", "maybe"},
		{"sim", "--seeds", "0"},
		{"sim", "--seed", "1", "--seeds", "2"},
	} {
		if out, err := runStrata(t, args...); err == nil {
			t.Errorf("strata %v succeeded:\n%s", args, out)
		}
	}
}

func TestVersion(t *testing.T) {
	out, err := runStrata(t, "version")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"strata 0.1.0-dev", "commit: ", "protocol: 0.1.0"} {
		if !strings.Contains(out, want) {
			t.Errorf("version output lacks %q:\n%s", want, out)
		}
	}
}
