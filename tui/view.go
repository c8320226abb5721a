package tui

import (
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/strata-db/strata/db/status"
)

// minWidth and minHeight are the smallest screen the layout is designed
// for; smaller screens still render, clipped.
const (
	minWidth   = 80
	minHeight  = 24
	labelWidth = 16
)

// View renders the whole screen.
func (m Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.WindowTitle = "strata dash"
	if name := m.clusterName(); name != "" {
		v.WindowTitle += " · " + name
	}
	return v
}

// render draws the screen as exactly height lines, none wider than width.
func (m Model) render() string {
	if m.quitting {
		return ""
	}
	w, h := max(m.width, 1), max(m.height, 1)
	top := append([]string{m.renderHeader(), m.renderTabs()}, m.renderBanner()...)
	footer := strings.Split(m.renderFooter(), "\n")
	bodyH := max(0, h-len(top)-len(footer))
	body := m.renderBody(bodyH)

	lines := make([]string, 0, h)
	lines = append(lines, top...)
	for i := 0; i < bodyH; i++ {
		if i < len(body) {
			lines = append(lines, body[i])
		} else {
			lines = append(lines, "")
		}
	}
	lines = append(lines, footer...)
	if len(lines) > h {
		lines = lines[:h]
	}
	for i, l := range lines {
		if textWidth(l) > w {
			lines[i] = ansi.Truncate(l, w, "…")
		}
	}
	return strings.Join(lines, "\n")
}

// bodyHeight is the number of lines between the top bars and the footer.
func (m Model) bodyHeight() int {
	top := 2 + len(m.renderBanner())
	return max(0, m.height-top-lipgloss.Height(m.renderFooter()))
}

// tableRows is how many process rows fit under the table's two header
// lines.
func (m Model) tableRows() int {
	return max(1, m.bodyHeight()-2)
}

// shown is the document whose cluster section is drawn: the latest one, or
// while the cluster is unreachable the last good one.
func (m Model) shown() *status.Cluster {
	if m.lastGood == nil {
		return nil
	}
	return m.lastGood.Cluster
}

// st returns the styles for the body: dimmed while it shows the last
// good data of a cluster that no longer answers.
func (m Model) st() Styles {
	if !m.reachable() && m.lastGood != nil {
		return m.dim
	}
	return m.styles
}

func (m Model) clusterName() string {
	if c := m.shown(); c != nil {
		return c.Name()
	}
	return ""
}

func (m Model) renderHeader() string {
	s := m.styles
	sep := s.Muted.Render(" │ ")
	parts := []string{s.Title.Render("strata dash") + " " + s.Muted.Render(fmtClock(m.now, m.opts.Location))}
	if name := m.clusterName(); name != "" {
		parts = append(parts, s.Value.Render(name))
	}
	switch {
	case m.cur == nil && m.fetchErr == nil:
		parts = append(parts, s.Muted.Render("connecting…"))
	case !m.reachable():
		parts = append(parts, s.Bad.Render("✖ unreachable"))
	default:
		db := m.cur.Client.DatabaseStatus
		avail := m.cur.Cluster.DatabaseAvailable && db.Available
		parts = append(parts, m.flag(avail, "available", "unavailable", levelBad),
			m.flag(db.Healthy, "healthy", "unhealthy", levelWarn))
		rs := m.cur.Cluster.RecoveryState
		parts = append(parts, m.flag(rs.Name == status.RecoveryFullyRecovered, rs.Name, rs.Name, levelWarn))
	}
	return strings.Join(parts, sep)
}

// flag renders a condition as symbol and word: ✔ when good, else ! or ✖
// by level, so the state reads without colour.
func (m Model) flag(good bool, yes, no string, level int) string {
	switch {
	case good:
		return m.styles.OK.Render("✔ " + yes)
	case level == levelBad:
		return m.styles.Bad.Render("✖ " + no)
	}
	return m.styles.Warn.Render("! " + no)
}

func (m Model) renderTabs() string {
	s := m.styles
	var b strings.Builder
	for i, v := range m.views() {
		if i > 0 {
			b.WriteString(" ")
		}
		label := fmt.Sprintf(" %d %s ", int(v)+1, v.title())
		if v == m.view {
			b.WriteString(s.TabActive.Render(label))
		} else {
			b.WriteString(s.TabInactive.Render(label))
		}
	}
	return b.String()
}

// renderBanner explains an outage in two lines, what is shown and why;
// nothing while the cluster answers.
func (m Model) renderBanner() []string {
	if m.reachable() || m.cur == nil && m.fetchErr == nil {
		return nil
	}
	reason := "the cluster did not answer"
	switch {
	case m.fetchErr != nil:
		reason = m.fetchErr.Error()
	case m.cur != nil && len(m.cur.Client.Messages) > 0:
		reason = messageText(m.cur.Client.Messages[0])
	}
	head := fmt.Sprintf("✖ UNREACHABLE since %s · retry every %s", fmtClock(m.downSince, m.opts.Location), m.retryDelay())
	if m.lastGood != nil {
		head += fmt.Sprintf(" · last data %s, dimmed", fmtClock(m.lastGoodAt, m.opts.Location))
	}
	return []string{m.styles.Banner.Render(head), m.styles.Bad.Render("  " + reason)}
}

func (m Model) renderFooter() string {
	if m.filtering {
		s := m.styles
		return s.Label.Render("/") + s.Value.Render(m.filter) + s.Muted.Render("█  enter keep · esc clear")
	}
	h := m.help
	h.SetWidth(max(m.width, 1))
	short, full := m.keys.helpFor(m.view, m.details)
	if m.fullHelp {
		return h.FullHelpView(full)
	}
	return h.ShortHelpView(short)
}

// renderBody draws the current view into at most height lines.
func (m Model) renderBody(height int) []string {
	if m.view == viewRollout {
		return m.renderRollout(height)
	}
	c := m.shown()
	if c == nil {
		return m.renderNoCluster()
	}
	switch m.view {
	case viewWorkload:
		return m.renderWorkload(c)
	case viewProcesses:
		if m.details {
			if r, ok := m.selected(); ok {
				return m.renderDetails(r)
			}
		}
		return m.renderProcesses(height)
	case viewData:
		return m.renderData(c)
	}
	return m.renderOverview(c)
}

// row renders one "label  value" line.
func (m Model) row(label, value string) string {
	s := m.st()
	return s.Label.Render(padRight(label, labelWidth)) + value
}

// textWidth is the number of cells text takes, with a fast path for
// plain ASCII (most table cells), which is one cell per byte.
func textWidth(text string) int {
	for i := 0; i < len(text); i++ {
		if c := text[i]; c >= 0x80 || c == 0x1b {
			return ansi.StringWidth(text)
		}
	}
	return len(text)
}

// padRight pads plain text with spaces to width cells.
func padRight(text string, width int) string {
	if n := textWidth(text); n < width {
		return text + strings.Repeat(" ", width-n)
	}
	return text
}

// padLeft right-aligns plain text in width cells.
func padLeft(text string, width int) string {
	if n := textWidth(text); n < width {
		return strings.Repeat(" ", width-n) + text
	}
	return text
}

// mark renders a symbol for a level: ✔ ok, ! warning, ✖ bad.
func (m Model) mark(level int) string {
	s := m.st()
	switch level {
	case levelOK:
		return s.OK.Render("✔")
	case levelWarn:
		return s.Warn.Render("!")
	}
	return s.Bad.Render("✖")
}

const (
	levelOK = iota
	levelWarn
	levelBad
)

// renderNoCluster is the body when no document with a cluster section has
// arrived: what the client itself knows.
func (m Model) renderNoCluster() []string {
	s := m.st()
	if m.cur == nil {
		if m.fetchErr != nil {
			return []string{s.Bad.Render("No status has been read."), s.Muted.Render(m.fetchErr.Error())}
		}
		return []string{s.Muted.Render("Waiting for the first status document…")}
	}
	cl := m.cur.Client
	var lines []string
	db := fmt.Sprintf("%s available · %s healthy", yesNo(cl.DatabaseStatus.Available), yesNo(cl.DatabaseStatus.Healthy))
	lines = append(lines, m.row("Database", db))
	lines = append(lines, m.coordinatorLines(cl)...)
	if cl.ClusterFile.Path != "" {
		lines = append(lines, m.row("Cluster file", cl.ClusterFile.Path))
	}
	lines = append(lines, "", s.Label.Render("Messages"))
	for _, msg := range cl.Messages {
		lines = append(lines, "  "+m.mark(levelBad)+" "+messageText(msg))
	}
	if len(cl.Messages) == 0 {
		lines = append(lines, "  "+s.Muted.Render("none"))
	}
	return lines
}

func yesNo(b bool) string {
	if b {
		return "✔"
	}
	return "✖ not"
}

// coordinatorLines lists the coordinators' reachability.
func (m Model) coordinatorLines(cl status.Client) []string {
	s := m.st()
	cs := cl.Coordinators.Coordinators
	up := 0
	for _, c := range cs {
		if c.Reachable {
			up++
		}
	}
	level := levelOK
	if !cl.Coordinators.QuorumReachable {
		level = levelBad
	} else if up < len(cs) {
		level = levelWarn
	}
	quorum := "quorum reachable"
	if !cl.Coordinators.QuorumReachable {
		quorum = "no quorum"
	}
	lines := []string{m.row("Coordinators", fmt.Sprintf("%s %d of %d reachable (%s)", m.mark(level), up, len(cs), quorum))}
	var down []string
	for _, c := range cs {
		if !c.Reachable {
			down = append(down, c.Address)
		}
	}
	if len(down) > 0 {
		lines = append(lines, m.row("", s.Muted.Render("not reachable: "+strings.Join(down, " "))))
	}
	return lines
}

func messageText(msg status.Message) string {
	t := msg.Name
	if msg.Description != "" {
		t += ": " + msg.Description
	}
	if n := len(msg.UnreachableProcesses); n > 0 {
		addrs := make([]string, 0, n)
		for _, a := range msg.UnreachableProcesses {
			addrs = append(addrs, a.Address)
		}
		t += " (" + strings.Join(addrs, " ") + ")"
	}
	return t
}
