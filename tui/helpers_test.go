package tui

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/google/go-cmp/cmp"

	"github.com/strata-db/strata/db/status"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// t0 is the wall-clock time of the first message in every test.
var t0 = time.Date(2026, 12, 6, 14, 0, 0, 0, time.UTC)

const fixtureDir = "../db/status/testdata"

// loadFixture reads a recorded status document through FileSource, the
// same path `strata dash --fixture` takes.
func loadFixture(t testing.TB, name string) *status.Status {
	t.Helper()
	st, err := FileSource{Path: filepath.Join(fixtureDir, name)}.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// newModel returns a colourless model of the given size, reading from
// src, with clock times in UTC.
func newModel(t testing.TB, src Source, w, h int) Model {
	t.Helper()
	m := New(Options{Source: src, Location: time.UTC})
	return step(t, m, tea.WindowSizeMsg{Width: w, Height: h})
}

// step applies messages in order.
func step(t testing.TB, m Model, msgs ...tea.Msg) Model {
	t.Helper()
	for _, msg := range msgs {
		next, _ := m.Update(msg)
		m = next.(Model)
	}
	return m
}

// press turns key names into key press messages.
func press(keys ...string) []tea.Msg {
	var msgs []tea.Msg
	for _, k := range keys {
		var msg tea.KeyPressMsg
		switch k {
		case "enter":
			msg = tea.KeyPressMsg{Code: tea.KeyEnter}
		case "esc":
			msg = tea.KeyPressMsg{Code: tea.KeyEscape}
		case "tab":
			msg = tea.KeyPressMsg{Code: tea.KeyTab}
		case "shift+tab":
			msg = tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}
		case "down":
			msg = tea.KeyPressMsg{Code: tea.KeyDown}
		case "up":
			msg = tea.KeyPressMsg{Code: tea.KeyUp}
		case "backspace":
			msg = tea.KeyPressMsg{Code: tea.KeyBackspace}
		case "ctrl+c":
			msg = tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
		default:
			r := []rune(k)
			msg = tea.KeyPressMsg{Code: r[0], Text: k}
			if len(r) == 1 && r[0] >= 'A' && r[0] <= 'Z' {
				msg = tea.KeyPressMsg{Code: r[0] + ('a' - 'A'), ShiftedCode: r[0], Mod: tea.ModShift, Text: k}
			}
		}
		msgs = append(msgs, msg)
	}
	return msgs
}

// typeText turns text into one key press per character.
func typeText(s string) []tea.Msg {
	var keys []string
	for _, r := range s {
		keys = append(keys, string(r))
	}
	return press(keys...)
}

// screen renders the model as plain text, checking the frame's geometry:
// exactly height lines, none wider than width.
func screen(t testing.TB, m Model) string {
	t.Helper()
	out := ansi.Strip(m.View().Content)
	lines := strings.Split(out, "\n")
	if len(lines) != m.height {
		t.Errorf("frame has %d lines, want %d", len(lines), m.height)
	}
	for i, l := range lines {
		if w := ansi.StringWidth(l); w > m.width {
			t.Errorf("line %d is %d cells wide, more than %d: %q", i+1, w, m.width, l)
		}
	}
	return out
}

// golden compares got with testdata/<name>.golden, or rewrites it with
// -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./tui/ -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, diff)
	}
}

// staticSource returns the same document (or error) on every Fetch and
// counts the calls.
type staticSource struct {
	st    *status.Status
	err   error
	calls int
}

func (s *staticSource) Fetch(context.Context) (*status.Status, error) {
	s.calls++
	return s.st, s.err
}
