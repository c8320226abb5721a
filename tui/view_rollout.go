package tui

import (
	"fmt"
	"strconv"
)

// rolloutSummary is the one-line state of a rollout.
func (m Model) rolloutSummary() string {
	c := m.rollout.counts()
	text := fmt.Sprintf("batch %d · %d hosts: %d running, %d pending, %d done, %d failed · last event %s",
		m.rollout.batch, len(m.rollout.hosts), c.running, c.pending, c.done, c.failed, fmtClock(m.rollout.last, m.opts.Location))
	if c.failed > 0 {
		return m.st().Bad.Render("✖") + " " + text
	}
	if c.running > 0 {
		return m.st().Info.Render("●") + " " + text
	}
	return m.st().OK.Render("✔") + " " + text
}

// stepMark is a step status as symbol and word.
func (m Model) stepMark(status string) string {
	s := m.st()
	switch status {
	case StepDone:
		return s.OK.Render("✔ " + status)
	case StepRunning:
		return s.Info.Render("● " + status)
	case StepFailed:
		return s.Bad.Render("✖ " + status)
	case StepSkipped:
		return s.Muted.Render("- " + status)
	}
	return s.Muted.Render("○ " + status)
}

// renderRollout shows per-host progress of the running apply or playbook.
func (m Model) renderRollout(height int) []string {
	s := m.st()
	var lines []string
	if m.rollout.err != nil {
		lines = append(lines, s.Warn.Render("! ")+m.rollout.err.Error())
	}
	if m.rollout.empty() {
		return append(lines, s.Muted.Render("No rollout events yet."))
	}
	lines = append(lines, m.row("Rollout", m.rolloutSummary()))
	hostW := len("Host")
	stepW := len("Step")
	for _, h := range m.rollout.hosts {
		hostW, stepW = max(hostW, len(h.Host)), max(stepW, len(h.Step))
	}
	stepW = min(stepW, 24)
	lines = append(lines, s.Label.Render(fmt.Sprintf("%s %5s %s %-10s %5s  %s",
		padRight("Host", hostW), "Batch", padRight("Step", stepW), "Status", "Done", "Since")))
	for i, h := range m.rollout.hosts {
		if len(lines) >= height {
			lines[len(lines)-1] = s.Muted.Render(fmt.Sprintf("… %d more hosts", len(m.rollout.hosts)-i+1))
			break
		}
		lines = append(lines, fmt.Sprintf("%s %5s %s %s %5d  %s",
			padRight(h.Host, hostW), strconv.Itoa(h.Batch), align(h.Step, stepW, false),
			padRight(m.stepMark(h.Status), 10), h.StepsDone, fmtClock(h.Since, m.opts.Location)))
	}
	return lines
}
