package tui

import (
	"errors"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/google/go-cmp/cmp"
)

func TestQuitKeys(t *testing.T) {
	for _, k := range []string{"q", "ctrl+c"} {
		m := newModel(t, nil, 80, 24)
		next, cmd := m.Update(press(k)[0])
		if cmd == nil {
			t.Fatalf("%s: no command, want tea.Quit", k)
		}
		if _, ok := cmd().(tea.QuitMsg); !ok {
			t.Errorf("%s: command returned %T, want tea.QuitMsg", k, cmd())
		}
		if !next.(Model).quitting {
			t.Errorf("%s: model not marked quitting", k)
		}
	}
}

// TestQuitWhileFilteringTypesQ: q is text while typing a filter; ctrl+c
// still quits.
func TestQuitWhileFilteringTypesQ(t *testing.T) {
	m := newModel(t, nil, 80, 24)
	m = step(t, m, statusMsg{st: loadFixture(t, "healthy_triple.json"), at: t0})
	m = step(t, m, press("3", "/", "q")...)
	if m.filter != "q" || m.quitting {
		t.Errorf("after / q: filter %q, quitting %v; want filter \"q\", not quitting", m.filter, m.quitting)
	}
	_, cmd := m.Update(press("ctrl+c")[0])
	if cmd == nil {
		t.Fatal("ctrl+c while filtering returned no command")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Errorf("ctrl+c while filtering: %T, want tea.QuitMsg", cmd())
	}
}

func TestViewSwitching(t *testing.T) {
	m := newModel(t, nil, 80, 24)
	m = step(t, m, statusMsg{st: loadFixture(t, "healthy_triple.json"), at: t0})
	var got []view
	for _, k := range []string{"tab", "tab", "tab", "tab", "shift+tab", "4", "1", "5"} {
		m = step(t, m, press(k)...)
		got = append(got, m.view)
	}
	// Without rollout events there are four views, and 5 does nothing.
	want := []view{viewWorkload, viewProcesses, viewData, viewOverview, viewData, viewData, viewOverview, viewOverview}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("views after keys (-want +got):\n%s", diff)
	}
	m = step(t, m, rolloutMsg{events: []RolloutEvent{{Time: t0, Host: "db1", Step: "restart", Status: StepRunning, Batch: 1}}, at: t0})
	m = step(t, m, press("shift+tab")...)
	if m.view != viewRollout {
		t.Errorf("with rollout events, shift+tab from Overview went to %v, want Rollout", m.view.title())
	}
}

func TestTableNavigation(t *testing.T) {
	m := newModel(t, nil, 80, 24)
	m = step(t, m, statusMsg{st: loadFixture(t, "hundred_processes.json"), at: t0})
	m = step(t, m, press("3")...)
	addr := func() string {
		r, ok := m.selected()
		if !ok {
			return ""
		}
		return r.p.Address
	}
	if got := addr(); got != "10.0.1.11:4500" {
		t.Fatalf("initial selection %s, want the first process by zone 10.0.1.11:4500", got)
	}
	m = step(t, m, press("down", "down", "j", "up")...)
	if got := addr(); got != "10.0.1.11:4502" {
		t.Errorf("after down down j up: %s, want 10.0.1.11:4502", got)
	}
	m = step(t, m, press("G")...)
	if m.sel != 99 || m.offset != 100-m.tableRows() {
		t.Errorf("after G: sel %d offset %d, want 99 and %d", m.sel, m.offset, 100-m.tableRows())
	}
	m = step(t, m, press("g", "up")...)
	if m.sel != 0 || m.offset != 0 {
		t.Errorf("after g up: sel %d offset %d, want 0 0", m.sel, m.offset)
	}
}

// TestSelectionFollowsProcess: the selected process stays selected when a
// new document arrives and when the sort changes.
func TestSelectionFollowsProcess(t *testing.T) {
	st := loadFixture(t, "hundred_processes.json")
	m := newModel(t, nil, 80, 24)
	m = step(t, m, statusMsg{st: st, at: t0})
	m = step(t, m, press("3", "down", "down", "down", "down", "down")...)
	before, _ := m.selected()
	id := before.id
	m = step(t, m, statusMsg{st: loadFixture(t, "hundred_processes.json"), at: t0.Add(time.Second)})
	m = step(t, m, press("s", "s", "s", "s", "s")...) // by cpu
	after, _ := m.selected()
	if after.id != id {
		t.Errorf("selected %s after refresh and sort, want %s", after.p.Address, before.p.Address)
	}
}

func TestSortKeys(t *testing.T) {
	m := newModel(t, nil, 80, 24)
	m = step(t, m, statusMsg{st: loadFixture(t, "hundred_processes.json"), at: t0})
	m = step(t, m, press("3")...)
	var keys []sortKey
	for range numSortKeys {
		m = step(t, m, press("s")...)
		keys = append(keys, m.sortBy)
	}
	want := []sortKey{sortAddress, sortClass, sortRoles, sortVersion, sortCPU, sortMemory, sortDisk, sortUptime, sortLag, sortState, sortZone}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("sort keys cycled by s (-want +got):\n%s", diff)
	}
	for m.sortBy != sortCPU {
		m = step(t, m, press("s")...)
	}
	first := m.rows[m.visible[0]].p.CPU.UsageCores
	for _, i := range m.visible {
		if c := m.rows[i].p.CPU.UsageCores; c > first {
			t.Fatalf("sorted by cpu, %s uses %.2f cores, more than the first row's %.2f", m.rows[i].p.Address, c, first)
		}
	}
	m = step(t, m, press("S")...)
	if !m.sortDesc {
		t.Fatal("S did not reverse the sort")
	}
	if last := m.rows[m.visible[len(m.visible)-1]].p.CPU.UsageCores; last != first {
		t.Errorf("reversed cpu sort ends with %.2f cores, want the busiest %.2f", last, first)
	}
	for m.sortBy != sortState {
		m = step(t, m, press("s")...)
	}
	m = step(t, m, press("S")...) // worst first again
	if got := m.rows[m.visible[0]].state; got != stateDegraded {
		t.Errorf("sorted by state, first row is %s, want the degraded process", got.word())
	}
}

func TestFilter(t *testing.T) {
	m := newModel(t, nil, 80, 24)
	m = step(t, m, statusMsg{st: loadFixture(t, "hundred_processes.json"), at: t0})
	m = step(t, m, press("3", "/")...)
	if !m.filtering {
		t.Fatal("/ did not start the filter")
	}
	m = step(t, m, typeText("lagx")...)
	if len(m.visible) != 0 {
		t.Errorf("filter %q matches %d rows, want 0", m.filter, len(m.visible))
	}
	m = step(t, m, press("backspace")...)
	m = step(t, m, press("backspace")...) // "la"
	m = step(t, m, typeText("gging")...)
	if len(m.visible) != 1 || m.rows[m.visible[0]].p.Address != "10.0.1.17:4501" {
		t.Fatalf("filter %q: %d rows, want only the lagging 10.0.1.17:4501", m.filter, len(m.visible))
	}
	m = step(t, m, press("enter")...)
	if m.filtering || m.filter != "lagging" {
		t.Errorf("enter: filtering %v filter %q, want the filter kept", m.filtering, m.filter)
	}
	m = step(t, m, press("enter")...)
	if !m.details {
		t.Error("enter on the filtered row did not open its details")
	}
	m = step(t, m, press("esc")...)
	if m.details || m.filter != "lagging" {
		t.Errorf("first esc: details %v filter %q, want details closed and the filter kept", m.details, m.filter)
	}
	m = step(t, m, press("esc")...)
	if m.filter != "" || len(m.visible) != 100 {
		t.Errorf("second esc: filter %q, %d rows; want no filter, 100 rows", m.filter, len(m.visible))
	}
	m = step(t, m, press("/")...)
	m = step(t, m, typeText("TL")...)
	m = step(t, m, press("esc")...)
	if m.filtering || m.filter != "" || len(m.visible) != 100 {
		t.Errorf("esc while typing: filtering %v filter %q rows %d; want the filter dropped", m.filtering, m.filter, len(m.visible))
	}
}

// TestFetchLifecycle: Init's fetch is in flight from the start, a tick
// while a fetch runs starts none, a result schedules the next tick, and
// the next tick starts one fetch. Fetches run in commands, never in Update.
func TestFetchLifecycle(t *testing.T) {
	src := &staticSource{st: loadFixture(t, "healthy_triple.json")}
	m := newModel(t, src, 80, 24)
	if m.Init() == nil || !m.fetching {
		t.Fatal("Init did not start a fetch")
	}
	next, cmd := m.Update(tickMsg{at: t0})
	m = next.(Model)
	if cmd != nil {
		t.Error("a tick while Init's fetch runs started another")
	}
	next, cmd = m.Update(m.fetchCmd()()) // the result of Init's fetch
	m = next.(Model)
	if m.fetching || m.lastGood == nil || cmd == nil {
		t.Fatalf("after the result: fetching %v, data %v, next tick %v", m.fetching, m.lastGood != nil, cmd != nil)
	}
	calls := src.calls
	next, cmd = m.Update(tickMsg{at: t0.Add(time.Second)})
	m = next.(Model)
	if src.calls != calls {
		t.Fatal("Update called Fetch itself")
	}
	if cmd == nil || !m.fetching {
		t.Fatal("the tick did not start a fetch")
	}
	if _, ok := cmd().(statusMsg); !ok || src.calls != calls+1 {
		t.Errorf("the tick's command did not fetch once (calls %d -> %d)", calls, src.calls)
	}
	m = step(t, m, statusMsg{st: src.st, at: t0.Add(time.Second)})
	next, cmd = m.Update(press("r")[0])
	m = next.(Model)
	if cmd == nil || !m.fetching {
		t.Error("r did not start a fetch")
	}
}

// TestUnreachableAndReconnect: failures keep the last good data and back
// off; the first success clears the outage by itself.
func TestUnreachableAndReconnect(t *testing.T) {
	good := loadFixture(t, "healthy_triple.json")
	m := newModel(t, nil, 80, 24)
	m = step(t, m, statusMsg{st: good, at: t0})
	if !m.reachable() || m.retryDelay() != time.Second {
		t.Fatalf("healthy: reachable %v, retry %v", m.reachable(), m.retryDelay())
	}
	var delays []time.Duration
	for i := 1; i <= 5; i++ {
		m = step(t, m, statusMsg{err: errors.New("connection refused"), at: t0.Add(time.Duration(i) * time.Second)})
		delays = append(delays, m.retryDelay())
	}
	if diff := cmp.Diff([]time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}, delays); diff != "" {
		t.Errorf("retry delays (-want +got):\n%s", diff)
	}
	if m.reachable() || m.lastGood != good || !m.downSince.Equal(t0.Add(time.Second)) {
		t.Errorf("down: reachable %v, kept last good %v, since %v", m.reachable(), m.lastGood == good, m.downSince)
	}
	// A document without a cluster section is an outage too, reported by
	// the client.
	m = step(t, m, statusMsg{st: loadFixture(t, "unreachable.json"), at: t0.Add(20 * time.Second)})
	if m.reachable() || m.lastGood != good {
		t.Errorf("no-quorum document: reachable %v, kept last good %v", m.reachable(), m.lastGood == good)
	}
	m = step(t, m, statusMsg{st: good, at: t0.Add(30 * time.Second)})
	if !m.reachable() || m.failures != 0 || !m.downSince.IsZero() || m.retryDelay() != time.Second {
		t.Errorf("reconnected: reachable %v failures %d since %v retry %v", m.reachable(), m.failures, m.downSince, m.retryDelay())
	}
	if len(m.renderBanner()) != 0 {
		t.Error("the banner stays after reconnecting")
	}
}

func TestRolloutMessages(t *testing.T) {
	m := newModel(t, nil, 80, 24)
	m = step(t, m, rolloutMsg{events: []RolloutEvent{
		{Time: t0, Host: "db1", Step: "restart", Status: StepRunning, Batch: 1},
		{Time: t0.Add(time.Second), Host: "db1", Step: "restart", Status: StepDone, Batch: 1},
		{Time: t0.Add(2 * time.Second), Host: "db2", Step: "restart", Status: StepRunning, Batch: 2},
	}})
	m = step(t, m, rolloutMsg{events: []RolloutEvent{{Time: t0.Add(3 * time.Second), Host: "db2", Step: "restart", Status: StepFailed, Batch: 2}}})
	got := []any{len(m.rollout.hosts), m.rollout.batch, m.rollout.counts(), m.rollout.hosts[0].StepsDone, m.rollout.last}
	want := []any{2, 2, hostCounts{done: 1, failed: 1}, 1, t0.Add(3 * time.Second)}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(hostCounts{})); diff != "" {
		t.Errorf("rollout state (-want +got):\n%s", diff)
	}
}

func TestResizeMessage(t *testing.T) {
	m := newModel(t, nil, 80, 24)
	m = step(t, m, statusMsg{st: loadFixture(t, "hundred_processes.json"), at: t0})
	m = step(t, m, press("3", "G")...)
	m = step(t, m, tea.WindowSizeMsg{Width: 160, Height: 48})
	if m.width != 160 || m.height != 48 {
		t.Fatalf("size %dx%d, want 160x48", m.width, m.height)
	}
	if m.offset != 100-m.tableRows() {
		t.Errorf("after growing, offset %d, want %d (last row at the bottom)", m.offset, 100-m.tableRows())
	}
}
