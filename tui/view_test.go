package tui

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/strata-db/strata/db/status"
)

var sizes = []struct{ w, h int }{{80, 24}, {160, 48}}

var fixtures = []string{"healthy_triple", "recovery", "dead_zone", "unreachable", "hundred_processes"}

// TestGoldenFixtures renders every view of every recorded status document
// at the smallest supported and a large terminal.
func TestGoldenFixtures(t *testing.T) {
	for _, fx := range fixtures {
		st := loadFixture(t, fx+".json")
		for _, sz := range sizes {
			for _, v := range []view{viewOverview, viewWorkload, viewProcesses, viewData} {
				name := fmt.Sprintf("%s/%dx%d_%s", fx, sz.w, sz.h, strings.ToLower(v.title()))
				t.Run(name, func(t *testing.T) {
					m := newModel(t, nil, sz.w, sz.h)
					m = step(t, m, statusMsg{st: st, at: t0})
					m.view = v
					golden(t, name, screen(t, m))
				})
			}
		}
	}
}

// TestGoldenUnreachableAfterHealthy: when fetching fails after good data,
// the last good data stays on screen, dimmed, under a banner that says
// since when the cluster is unreachable and why.
func TestGoldenUnreachableAfterHealthy(t *testing.T) {
	healthy := loadFixture(t, "healthy_triple.json")
	for _, sz := range sizes {
		name := fmt.Sprintf("unreachable_after_healthy/%dx%d", sz.w, sz.h)
		t.Run(name, func(t *testing.T) {
			m := newModel(t, nil, sz.w, sz.h)
			m = step(t, m,
				statusMsg{st: healthy, at: t0},
				statusMsg{err: errors.New("connecting to 10.0.1.11:4500: connection refused"), at: t0.Add(2 * time.Second)},
				statusMsg{err: errors.New("connecting to 10.0.1.11:4500: connection refused"), at: t0.Add(4 * time.Second)},
			)
			golden(t, name, screen(t, m))
		})
	}
}

func TestGoldenNoStatusYet(t *testing.T) {
	m := newModel(t, nil, 80, 24)
	golden(t, "no_status/waiting", screen(t, m))
	m = step(t, m, statusMsg{err: errors.New("reading status fixture: open nope.json: no such file or directory"), at: t0})
	golden(t, "no_status/error", screen(t, m))
}

// TestGoldenProcessDetails opens the details of the lagging storage
// server of the 100-process cluster, found with the filter.
func TestGoldenProcessDetails(t *testing.T) {
	st := loadFixture(t, "hundred_processes.json")
	for _, sz := range sizes {
		name := fmt.Sprintf("hundred_processes/%dx%d_details", sz.w, sz.h)
		t.Run(name, func(t *testing.T) {
			m := newModel(t, nil, sz.w, sz.h)
			m = step(t, m, statusMsg{st: st, at: t0})
			m = step(t, m, press("3", "/")...)
			m = step(t, m, typeText("10.0.1.17:4501")...)
			m = step(t, m, press("enter", "enter")...)
			golden(t, name, screen(t, m))
		})
	}
}

func TestGoldenFilterAndSort(t *testing.T) {
	st := loadFixture(t, "hundred_processes.json")
	m := newModel(t, nil, 80, 24)
	m = step(t, m, statusMsg{st: st, at: t0})
	m = step(t, m, press("3", "/")...)
	m = step(t, m, typeText("storage")...)
	golden(t, "hundred_processes/80x24_filter_typing", screen(t, m))
	m = step(t, m, press("enter")...)
	for range int(sortLag) {
		m = step(t, m, press("s")...)
	}
	m = step(t, m, press("g")...)
	golden(t, "hundred_processes/80x24_filter_sort_lag", screen(t, m))
}

func TestGoldenFullHelp(t *testing.T) {
	st := loadFixture(t, "healthy_triple.json")
	m := newModel(t, nil, 80, 24)
	m = step(t, m, statusMsg{st: st, at: t0})
	m = step(t, m, press("3", "?")...)
	golden(t, "healthy_triple/80x24_processes_full_help", screen(t, m))
}

// TestGoldenRollout shows a rolling upgrade's events over the dead-zone
// cluster it is repairing.
func TestGoldenRollout(t *testing.T) {
	st := loadFixture(t, "healthy_triple.json")
	r := &JSONLinesReader{Path: filepath.Join("testdata", "rollout.jsonl")}
	evs, err := r.ReadEvents(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, sz := range sizes {
		m := newModel(t, nil, sz.w, sz.h)
		m = step(t, m, statusMsg{st: st, at: t0}, rolloutMsg{events: evs, at: t0})
		golden(t, fmt.Sprintf("rollout/%dx%d_overview", sz.w, sz.h), screen(t, m))
		m = step(t, m, press("5")...)
		golden(t, fmt.Sprintf("rollout/%dx%d_rollout", sz.w, sz.h), screen(t, m))
	}
}

// TestResizeKeepsFrame renders every view at several sizes down to the
// minimum and checks the frame geometry (screen does).
func TestResizeKeepsFrame(t *testing.T) {
	st := loadFixture(t, "hundred_processes.json")
	m := newModel(t, nil, 80, 24)
	m = step(t, m, statusMsg{st: st, at: t0}, rolloutMsg{events: []RolloutEvent{{Time: t0, Host: "db1", Step: "restart", Status: StepRunning, Batch: 1}}})
	for _, sz := range []struct{ w, h int }{{200, 60}, {120, 30}, {81, 25}, {80, 24}, {60, 15}} {
		m = step(t, m, tea.WindowSizeMsg{Width: sz.w, Height: sz.h})
		for v := viewOverview; v < numViews; v++ {
			m.view = v
			screen(t, m)
		}
		m.view = viewProcesses
		m = step(t, m, press("G")...)
		out := screen(t, m)
		if sel, _ := m.selected(); !strings.Contains(out, sel.p.Address) {
			t.Errorf("at %dx%d the selected last row %s is not on screen", sz.w, sz.h, sel.p.Address)
		}
	}
}

// TestNoColor: without colour the frame has attributes but no colour
// sequences; with colour it has them.
func TestNoColor(t *testing.T) {
	st := loadFixture(t, "dead_zone.json")
	for _, color := range []bool{false, true} {
		m := New(Options{Color: color, Location: time.UTC})
		m = step(t, m, tea.WindowSizeMsg{Width: 160, Height: 48}, statusMsg{st: st, at: t0})
		m = step(t, m, press("3")...)
		out := m.View().Content
		hasColor := strings.Contains(out, "\x1b[38;") || strings.Contains(out, "\x1b[48;") ||
			strings.Contains(out, ";38;") || strings.Contains(out, ";48;")
		if hasColor != color {
			t.Errorf("Color=%v: frame has colour sequences = %v", color, hasColor)
		}
		if !strings.Contains(ansi.Strip(out), "✖") {
			t.Errorf("Color=%v: the down processes have no ✖ symbol", color)
		}
	}
}

// TestGoldenWorkloadHistory feeds a minute of documents whose rates rise
// and fall, so the sparklines have a shape.
func TestGoldenWorkloadHistory(t *testing.T) {
	base := loadFixture(t, "healthy_triple.json")
	for _, sz := range sizes {
		m := newModel(t, nil, sz.w, sz.h)
		for i := range 60 {
			doc := *base
			c := *base.Cluster
			scale := 0.5 + float64(i%20)/20 // a saw tooth from 50% to 145%
			w := &c.Workload
			for _, r := range []*status.Rate{&w.Transactions.Started, &w.Transactions.Committed, &w.Transactions.Conflicted,
				&w.Operations.Reads, &w.Operations.Writes, &w.Bytes.Read, &w.Bytes.Written} {
				r.Hz *= scale
			}
			doc.Cluster = &c
			m = step(t, m, statusMsg{st: &doc, at: t0.Add(time.Duration(i) * time.Second)})
		}
		m = step(t, m, press("2")...)
		golden(t, fmt.Sprintf("healthy_triple/%dx%d_workload_history", sz.w, sz.h), screen(t, m))
	}
}

// faintRE matches an SGR sequence that turns on faint (parameter 2).
var faintRE = regexp.MustCompile(`\x1b\[(?:[0-9;]*;)?2(?:;[0-9;]*)?m`)

// TestStaleDataIsDimmed: the last good data is drawn faint while the
// cluster is unreachable, and normal again once it answers; live client
// data without a last good document is not dimmed.
func TestStaleDataIsDimmed(t *testing.T) {
	healthy := loadFixture(t, "healthy_triple.json")
	clusterLine := func(m Model) string {
		for _, l := range strings.Split(m.View().Content, "\n") {
			if strings.HasPrefix(ansi.Strip(l), "Cluster ") || strings.HasPrefix(ansi.Strip(l), "Coordinators ") {
				return l
			}
		}
		t.Fatal("no Cluster or Coordinators line on screen")
		return ""
	}
	m := newModel(t, nil, 80, 24)
	m = step(t, m, statusMsg{st: healthy, at: t0})
	if faintRE.MatchString(clusterLine(m)) {
		t.Error("live data is dimmed")
	}
	m = step(t, m, statusMsg{err: errors.New("timeout"), at: t0.Add(time.Second)})
	if !faintRE.MatchString(clusterLine(m)) {
		t.Error("the last good data is not dimmed while the cluster is unreachable")
	}
	m = step(t, m, statusMsg{st: healthy, at: t0.Add(2 * time.Second)})
	if faintRE.MatchString(clusterLine(m)) {
		t.Error("data stays dimmed after reconnecting")
	}
	m = newModel(t, nil, 80, 24)
	m = step(t, m, statusMsg{st: loadFixture(t, "unreachable.json"), at: t0})
	if faintRE.MatchString(clusterLine(m)) {
		t.Error("the client's live view of an unreachable cluster is dimmed")
	}
}
