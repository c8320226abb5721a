package cli

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

type linesReader struct{ lines []string }

func (r *linesReader) ReadLine() (string, error) {
	if len(r.lines) == 0 {
		return "", io.EOF
	}
	l := r.lines[0]
	r.lines = r.lines[1:]
	return l, nil
}

func TestInteractRunsLinesUntilExit(t *testing.T) {
	db := newFakeDB()
	var out bytes.Buffer
	in := New(Config{DB: db, Out: &out, Err: &out})
	r := &linesReader{lines: []string{"writemode on", "", "   ", "begin", "set a 1", "exit", "get a"}}
	if err := in.Interact(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	want := "Transaction started\n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	if len(r.lines) != 1 {
		t.Errorf("lines after exit were read: %d left, want 1", len(r.lines))
	}
	if db.open != 0 || len(db.data) != 0 {
		t.Errorf("after exit: %s; want the open transaction discarded uncommitted", db.dump())
	}
}

func TestInteractEndsAtEndOfInput(t *testing.T) {
	var out bytes.Buffer
	in := New(Config{DB: newFakeDB(), Out: &out, Err: &out})
	if err := in.Interact(context.Background(), &linesReader{lines: []string{"get a"}}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("`a': not found\n\n", out.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

func TestProbe(t *testing.T) {
	db := newFakeDB()
	if err := Probe(context.Background(), db, time.Second); err != nil {
		t.Fatalf("probe of a working database: %v", err)
	}
	db.block["getreadversion"] = true
	err := Probe(context.Background(), db, 20*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "did not answer within 20ms") {
		t.Fatalf("probe of a silent database: %v", err)
	}
	if db.open != 0 {
		t.Errorf("probe left %d transactions open", db.open)
	}
}

// Echoed tokens parse back to themselves, whatever their bytes.
func TestEchoParsesBack(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("ab \"\\;\t\x00\xff\x7fx")
	for range 2000 {
		tokens := make([]string, 1+rng.IntN(4))
		for i := range tokens {
			b := make([]byte, rng.IntN(6))
			for j := range b {
				b[j] = alphabet[rng.IntN(len(alphabet))]
			}
			tokens[i] = string(b)
		}
		line := strings.TrimPrefix(echoTokens(tokens), " ")
		p := Parse(line)
		if p.Err != nil || len(p.Commands) != 1 {
			t.Fatalf("echo %q of %q parsed to %+v", line, tokens, p)
		}
		// An empty token echoes as nothing, so it cannot come back.
		var want []string
		for _, tok := range tokens {
			if tok != "" {
				want = append(want, tok)
			}
		}
		if diff := cmp.Diff(want, p.Commands[0]); diff != "" {
			t.Fatalf("echo %q: tokens (-want +got):\n%s", line, diff)
		}
	}
}

func TestPrintableMatchesFDB(t *testing.T) {
	for in, want := range map[string]string{
		"":                 "",
		"plain text ~":     "plain text ~",
		"a\\b":             `a\\b`,
		"\x00\x1f\x7f\xff": `\x00\x1f\x7f\xff`,
		"`'\"":             "`'\"",
	} {
		if got := printable([]byte(in)); got != want {
			t.Errorf("printable(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWrap(t *testing.T) {
	got := wrap("aaa bbb ccc\n\ndddddddddd e", 7)
	want := "aaa bbb\nccc\n\ndddddddddd\ne\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("wrap (-want +got):\n%s", diff)
	}
}

// Parse never panics, and every command it returns echoes to a line that
// parses back to the same non-empty tokens.
func FuzzParse(f *testing.F) {
	for _, s := range []string{`get a; set "b c" \x00\u00ff`, `get "a`, `get \q`, `\`, `;;`, `""`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		for _, cmd := range Parse(line).Commands {
			var want []string
			for _, tok := range cmd {
				if tok != "" {
					want = append(want, tok)
				}
			}
			back := Parse(strings.TrimPrefix(echoTokens(cmd), " "))
			if back.Err != nil || len(back.Commands) != 1 {
				t.Fatalf("echo of %q parsed to %+v", cmd, back)
			}
			if diff := cmp.Diff(want, back.Commands[0], cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("echo of %q (-want +got):\n%s", cmd, diff)
			}
		}
	})
}
