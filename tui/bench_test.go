package tui

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
)

// reportCore adds the share of one core the measured work takes at one
// refresh per second: ns per frame / 1e9 s, as a percentage.
func reportCore(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e7, "%core@1Hz")
}

// BenchmarkFrame measures one refresh of a 100-process cluster as the
// program runs it: Update with the new document, then View (colour on),
// for each view.
func BenchmarkFrame(b *testing.B) {
	st := loadFixture(b, "hundred_processes.json")
	for _, v := range []view{viewOverview, viewWorkload, viewProcesses, viewData} {
		b.Run(v.title(), func(b *testing.B) {
			m := New(Options{Color: true, Location: time.UTC})
			m = step(b, m, tea.WindowSizeMsg{Width: 160, Height: 48})
			m.view = v
			at := t0
			b.ReportAllocs()
			for b.Loop() {
				at = at.Add(time.Second)
				next, _ := m.Update(statusMsg{st: st, at: at})
				m = next.(Model)
				_ = m.View()
			}
			reportCore(b)
		})
	}
}

// BenchmarkRefresh adds the fetch: reading and parsing the 100-process
// document from a file, which the live source will replace with a
// network read of the same JSON.
func BenchmarkRefresh(b *testing.B) {
	src := FileSource{Path: filepath.Join(fixtureDir, "hundred_processes.json")}
	m := New(Options{Source: src, Color: true, Location: time.UTC})
	m = step(b, m, tea.WindowSizeMsg{Width: 160, Height: 48})
	m.view = viewProcesses
	at := t0
	b.ReportAllocs()
	for b.Loop() {
		st, err := src.Fetch(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		at = at.Add(time.Second)
		next, _ := m.Update(statusMsg{st: st, at: at})
		m = next.(Model)
		_ = m.View()
	}
	reportCore(b)
}

// BenchmarkKey measures a key press on the table (move the selection) and
// the frame after it, the cost of scrolling through 100 processes.
func BenchmarkKey(b *testing.B) {
	st := loadFixture(b, "hundred_processes.json")
	m := New(Options{Color: true, Location: time.UTC})
	m = step(b, m, tea.WindowSizeMsg{Width: 160, Height: 48}, statusMsg{st: st, at: t0})
	m.view = viewProcesses
	keys := press("down", "up")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		next, _ := m.Update(keys[i%2])
		m = next.(Model)
		_ = m.View()
		i++
	}
}
