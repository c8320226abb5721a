package tui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/strata-db/strata/db/status"
)

// column is one column of the process table.
type column struct {
	title string
	width int
	right bool
	// drop orders the optional columns: the highest goes first when the
	// screen is narrow; 0 is never dropped. The host (Machine) stays
	// longest, the state word (the symbol stays) goes first.
	drop int
	cell func(r *procRow) string
}

// columns returns the table's columns sized for its rows and the screen
// width, dropping the least useful ones until the table fits.
func (m Model) columns() []column {
	widest := func(title string, f func(r *procRow) string) int {
		w := len(title)
		for i := range m.rows {
			w = max(w, textWidth(f(&m.rows[i])))
		}
		return w
	}
	zone := func(r *procRow) string { return r.zone }
	machine := func(r *procRow) string { return r.machine }
	addr := func(r *procRow) string { return r.p.Address }
	class := func(r *procRow) string { return r.p.ClassType }
	version := func(r *procRow) string { return r.p.Version }
	down := func(r *procRow) bool { return r.state == stateDown }
	cols := []column{
		{title: "  ", width: 2, cell: func(r *procRow) string { return r.state.symbol() }},
		{title: "State", width: 11, drop: 4, cell: func(r *procRow) string { return r.state.word() }},
		{title: "Zone", width: widest("Zone", zone), cell: zone},
		{title: "Machine", width: widest("Machine", machine), drop: 1, cell: machine},
		{title: "Address", width: widest("Address", addr), cell: addr},
		{title: "Class", width: min(11, widest("Class", class)), cell: class},
		{title: "Roles", width: min(14, widest("Roles", func(r *procRow) string { return r.roles })), cell: func(r *procRow) string { return r.roles }},
		{title: "Version", width: widest("Version", version), drop: 2, cell: version},
		{title: "CPU", width: 4, right: true, cell: func(r *procRow) string {
			if down(r) {
				return "-"
			}
			return strconv.Itoa(int(r.p.CPU.UsageCores*100+0.5)) + "%"
		}},
		{title: "Mem", width: 6, right: true, cell: func(r *procRow) string {
			if down(r) {
				return "-"
			}
			return fmtBytesShort(r.p.Memory.UsedBytes)
		}},
		{title: "Free", width: 5, right: true, cell: func(r *procRow) string { return fmtBytesShort(r.p.Disk.FreeBytes) }},
		{title: "Uptime", width: 6, right: true, cell: func(r *procRow) string {
			if down(r) {
				return "-"
			}
			return fmtAge(r.p.UptimeSeconds)
		}},
		{title: "Lag", width: 5, right: true, cell: func(r *procRow) string {
			if r.lag < 0 || down(r) {
				return "-"
			}
			return fmt.Sprintf("%.1fs", r.lag)
		}},
		{title: "Rst", width: 3, right: true, drop: 3, cell: func(r *procRow) string { return strconv.Itoa(r.p.Restarts) }},
	}
	for tableWidth(cols) > m.width {
		worst := -1
		for i, c := range cols {
			if c.drop > 0 && (worst < 0 || c.drop > cols[worst].drop) {
				worst = i
			}
		}
		if worst < 0 {
			break // what is left is clipped
		}
		cols = append(cols[:worst], cols[worst+1:]...)
	}
	return cols
}

func tableWidth(cols []column) int {
	w := len(cols) - 1
	for _, c := range cols {
		w += c.width
	}
	return w
}

// renderProcesses draws the summary line, the header and the visible rows.
func (m Model) renderProcesses(height int) []string {
	s := m.st()
	cols := m.columns()
	order := ""
	if m.sortDesc {
		order = " reversed"
	}
	info := fmt.Sprintf("%d processes · by %s%s", len(m.rows), m.sortBy, order)
	if m.filter != "" {
		info = fmt.Sprintf("%d of %d match %q · by %s%s", len(m.visible), len(m.rows), m.filter, m.sortBy, order)
	}
	lines := []string{s.Muted.Render(info) + "   " + m.legend()}

	var head strings.Builder
	for i, c := range cols {
		if i > 0 {
			head.WriteByte(' ')
		}
		head.WriteString(align(c.title, c.width, c.right))
	}
	lines = append(lines, s.Label.Render(head.String()))

	n := max(0, height-2)
	var symbols [stateOK + 1]string // each state's styled symbol, rendered once per frame
	for st := range symbols {
		symbols[st] = m.stateStyle(procState(st)).Render(procState(st).symbol())
	}
	grouped := m.sortBy == sortZone && !m.sortDesc && m.filter == ""
	var b strings.Builder
	for vi := m.offset; vi < len(m.visible) && vi < m.offset+n; vi++ {
		r := &m.rows[m.visible[vi]]
		repeat := grouped && vi > m.offset && m.rows[m.visible[vi-1]].zone == r.zone
		b.Reset()
		for i, c := range cols {
			if i == 0 {
				continue // the state symbol is styled on its own below
			}
			b.WriteByte(' ')
			text := c.cell(r)
			if repeat && (c.title == "Zone" || c.title == "Machine") {
				text = ""
			}
			b.WriteString(align(text, c.width, c.right))
		}
		rest := b.String()
		// The cursor is a character as well as reverse video, so the
		// selection shows without colour or attributes too.
		if vi == m.sel {
			lines = append(lines, s.Selected.Render("›"+r.state.symbol()+rest))
			continue
		}
		lines = append(lines, " "+symbols[r.state]+s.Value.Render(rest))
	}
	if len(m.visible) == 0 {
		lines = append(lines, s.Muted.Render("no process matches the filter (esc clears it)"))
	}
	return lines
}

// legend explains the state symbols, shortest words so it fits at 80
// columns beside the summary.
func (m Model) legend() string {
	s := m.st()
	short := map[procState]string{stateOK: "ok", stateExcluded: "excl", stateMaintenance: "maint", stateWarning: "warn",
		stateLagging: "lag", stateDegraded: "degr", stateDown: "down"}
	var parts []string
	for st := stateOK; st >= stateDown; st-- {
		parts = append(parts, m.stateStyle(st).Render(st.symbol())+s.Muted.Render(" "+short[st]))
	}
	return strings.Join(parts, " ")
}

func (m Model) stateStyle(st procState) lipgloss.Style {
	s := m.st()
	switch st {
	case stateOK:
		return s.OK
	case stateDown:
		return s.Bad
	case stateMaintenance:
		return s.Info
	case stateExcluded:
		return s.Muted
	}
	return s.Warn
}

// align pads or clips plain text to width cells.
func align(text string, width int, right bool) string {
	if textWidth(text) > width {
		return ansi.Truncate(text, width, "…")
	}
	if right {
		return padLeft(text, width)
	}
	return padRight(text, width)
}

// renderDetails shows everything about the selected process.
func (m Model) renderDetails(r *procRow) []string {
	s := m.st()
	p := r.p
	lines := []string{
		s.Title.Render("Process "+p.Address) + s.Muted.Render("  id "+r.id+" · esc to go back"),
		m.row("State", m.stateStyle(r.state).Render(r.state.symbol()+" "+r.state.word())+flags(p)),
		m.row("Locality", locality(p)),
		m.row("Class", fmt.Sprintf("%s (%s) · version %s", p.ClassType, orDash(p.ClassSource), p.Version)),
		m.row("Uptime", fmt.Sprintf("%s · restarts %d", fmtAge(p.UptimeSeconds), p.Restarts)),
		m.row("CPU", cpuDetail(p)),
		m.row("Memory", fmt.Sprintf("%s used of %s (RSS %s)", fmtBytes(p.Memory.UsedBytes), fmtBytes(p.Memory.LimitBytes), fmtBytes(p.Memory.RSSBytes))),
		m.row("Disk", fmt.Sprintf("%s free of %s · %.0f%% busy", fmtBytes(p.Disk.FreeBytes), fmtBytes(p.Disk.TotalBytes), p.Disk.Busy*100)),
		s.Label.Render("Roles"),
	}
	for _, role := range p.Roles {
		lines = append(lines, "  "+roleDetail(role))
	}
	if len(p.Roles) == 0 {
		lines = append(lines, "  "+s.Muted.Render("none"))
	}
	lines = append(lines, s.Label.Render("Messages"))
	for _, msg := range p.Messages {
		text := messageText(msg)
		if msg.Time > 0 {
			text += " (" + fmtClock(time.Unix(int64(msg.Time), 0), m.opts.Location) + ")"
		}
		lines = append(lines, "  "+s.Warn.Render("!")+" "+text)
	}
	if len(p.Messages) == 0 {
		lines = append(lines, "  "+s.Muted.Render("none"))
	}
	if p.CommandLine != "" {
		lines = append(lines, s.Label.Render("Command line"))
		for _, l := range wrap(p.CommandLine, max(20, m.width-2)) {
			lines = append(lines, "  "+s.Muted.Render(l))
		}
	}
	return lines
}

func flags(p *status.Process) string {
	var f []string
	if p.Excluded {
		f = append(f, "excluded")
	}
	if p.Degraded {
		f = append(f, "degraded")
	}
	if p.UnderMaintenance {
		f = append(f, "under maintenance")
	}
	if len(f) == 0 {
		return ""
	}
	return " (" + strings.Join(f, ", ") + ")"
}

func locality(p *status.Process) string {
	var parts []string
	for _, k := range []string{"zoneid", "machineid", "data_hall", "dcid", "processid"} {
		if v := p.Locality[k]; v != "" {
			parts = append(parts, k+" "+v)
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " · ")
}

// roleDetail renders a role with the metrics that matter for it.
func roleDetail(r status.Role) string {
	parts := []string{r.Role}
	if r.ID != "" {
		parts[0] += " " + r.ID
	}
	if r.StoredBytes > 0 {
		parts = append(parts, "stored "+fmtBytes(r.StoredBytes))
	}
	if r.DataLag != nil {
		parts = append(parts, fmt.Sprintf("data lag %.2fs", r.DataLag.Seconds))
	}
	if r.DurabilityLag != nil {
		parts = append(parts, fmt.Sprintf("durability lag %.2fs", r.DurabilityLag.Seconds))
	}
	if r.ReadLatency != nil {
		parts = append(parts, "read p99 "+fmtLatency(r.ReadLatency.P99))
	}
	if r.QueueDiskUsedBytes > 0 {
		parts = append(parts, "queue "+fmtBytes(r.QueueDiskUsedBytes))
	}
	if r.InputBytes != nil {
		parts = append(parts, "input "+fmtByteRate(r.InputBytes.Hz))
	}
	if r.GRVLatency != nil && r.GRVLatency.Default != nil {
		parts = append(parts, "GRV p99 "+fmtLatency(r.GRVLatency.Default.P99))
	}
	if r.CommitLatency != nil {
		parts = append(parts, "commit p99 "+fmtLatency(r.CommitLatency.P99))
	}
	return strings.Join(parts, " · ")
}

// wrap breaks text at spaces into lines of at most width cells; a word
// longer than width is cut.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		switch {
		case line == "":
			line = word
		case len(line)+1+len(word) <= width:
			line += " " + word
		default:
			lines = append(lines, line)
			line = word
		}
		for len(line) > width {
			lines = append(lines, line[:width])
			line = line[width:]
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

func cpuDetail(p *status.Process) string {
	text := fmt.Sprintf("%.0f%% of a core", p.CPU.UsageCores*100)
	if p.RunLoopBusy > 0 {
		text += fmt.Sprintf(" · run loop %.0f%% busy", p.RunLoopBusy*100)
	}
	return text
}
