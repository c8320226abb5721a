package tui

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/strata-db/strata/db/status"
)

// renderOverview is the cluster at a glance.
func (m Model) renderOverview(c *status.Cluster) []string {
	s := m.st()
	cfg := c.Configuration
	lines := []string{
		m.row("Cluster", fmt.Sprintf("%s · generation %d · protocol %s", c.Name(), c.Generation, c.ProtocolVersion)),
	}
	if m.cur != nil { // the client's verdict, from the latest document
		db := m.cur.Client.DatabaseStatus
		lines = append(lines, m.row("Database", fmt.Sprintf("%s available · %s healthy",
			yesNo(db.Available), yesNo(db.Healthy))))
	}
	lines = append(lines, m.recoveryLine(c))

	conf := []string{cfg.RedundancyMode, cfg.StorageEngine}
	if cfg.CommitProxies > 0 || cfg.GRVProxies > 0 {
		conf = append(conf, fmt.Sprintf("proxies %d commit, %d GRV", cfg.CommitProxies, cfg.GRVProxies))
	}
	if cfg.Resolvers > 0 {
		conf = append(conf, plural(cfg.Resolvers, "resolver", "resolvers"))
	}
	if cfg.Logs > 0 {
		conf = append(conf, plural(cfg.Logs, "log", "logs"))
	}
	lines = append(lines, m.row("Configuration", strings.Join(conf, " · ")))

	ft := c.FaultTolerance
	level := levelOK
	if lo := min(ft.MaxZoneFailuresWithoutLosingData, ft.MaxZoneFailuresWithoutLosingAvailability); lo == 0 {
		level = levelBad
	} else if cfg.StorageReplicas > 0 && lo < cfg.StorageReplicas-1 {
		level = levelWarn
	}
	lines = append(lines, m.row("Fault tolerance", fmt.Sprintf("%s %s can fail keeping data, %d keeping availability",
		m.mark(level), plural(ft.MaxZoneFailuresWithoutLosingData, "zone", "zones"), ft.MaxZoneFailuresWithoutLosingAvailability)))

	if m.cur != nil {
		lines = append(lines, m.coordinatorLines(m.cur.Client)...)
	}
	lines = append(lines, m.processSummary())
	lines = append(lines, m.versionsLine(c))

	ds := c.Data.State
	lines = append(lines, m.row("Replication", fmt.Sprintf("%s %s · %d replicas remaining · moving %s",
		m.mark(dataLevel(ds)), ds.Name, ds.MinReplicasRemaining,
		fmtBytes(c.Data.MovingData.InFlightBytes+c.Data.MovingData.InQueueBytes))))

	tx := c.Workload.Transactions
	lines = append(lines, m.row("Workload", fmt.Sprintf("%s tx/s · %s reads/s · %s writes/s",
		fmtCount(tx.Started.Hz), fmtCount(c.Workload.Operations.Reads.Hz), fmtCount(c.Workload.Operations.Writes.Hz))))
	lines = append(lines, m.limitLine(c))
	if !m.rollout.empty() {
		lines = append(lines, m.row("Rollout", m.rolloutSummary()))
	}

	warnings := m.warnings(c)
	if len(warnings) == 0 {
		lines = append(lines, m.row("Warnings", m.mark(levelOK)+" none"))
	} else {
		lines = append(lines, m.row("Warnings", s.Warn.Render(fmt.Sprintf("%d", len(warnings)))))
		for _, w := range warnings {
			lines = append(lines, "  "+w)
		}
	}
	return lines
}

func (m Model) recoveryLine(c *status.Cluster) string {
	rs := c.RecoveryState
	level := levelOK
	if rs.Name != status.RecoveryFullyRecovered {
		level = levelWarn
		if !c.DatabaseAvailable {
			level = levelBad
		}
	}
	text := fmt.Sprintf("%s %s", m.mark(level), rs.Name)
	if rs.Description != "" {
		text += ": " + rs.Description
	}
	if level == levelOK && rs.SecondsSinceLastRecovered > 0 {
		text += fmt.Sprintf(" (%s ago)", fmtAge(rs.SecondsSinceLastRecovered))
	}
	if rs.Name != status.RecoveryFullyRecovered && rs.ActiveGenerations > 1 {
		text += fmt.Sprintf(" (%d active generations)", rs.ActiveGenerations)
	}
	return m.row("Recovery", text)
}

func dataLevel(ds status.DataState) int {
	switch {
	case ds.Healthy:
		return levelOK
	case ds.MinReplicasRemaining == 0 || ds.Name == status.DataMissing:
		return levelBad
	}
	return levelWarn
}

// processSummary counts processes, machines and zones, and the ones in
// trouble.
func (m Model) processSummary() string {
	machines, zones := map[string]bool{}, map[string]bool{}
	var down, excluded, trouble int
	for i := range m.rows {
		r := &m.rows[i]
		machines[r.machine], zones[r.zone] = true, true
		switch r.state {
		case stateDown:
			down++
		case stateExcluded:
			excluded++
		case stateOK, stateMaintenance:
		default:
			trouble++
		}
	}
	level := levelOK
	if down > 0 {
		level = levelBad
	} else if trouble > 0 {
		level = levelWarn
	}
	text := fmt.Sprintf("%s %d on %s in %s", m.mark(level), len(m.rows),
		plural(len(machines), "machine", "machines"), plural(len(zones), "zone", "zones"))
	for _, n := range []struct {
		n    int
		what string
	}{{down, "down"}, {trouble, "in trouble"}, {excluded, "excluded"}} {
		if n.n > 0 {
			text += fmt.Sprintf(" · %d %s", n.n, n.what)
		}
	}
	return m.row("Processes", text)
}

// versionsLine lists the versions running, most common first; more than
// one is flagged (an upgrade is under way or stalled).
func (m Model) versionsLine(c *status.Cluster) string {
	count := map[string]int{}
	for _, p := range c.Processes {
		count[p.Version]++
	}
	versions := slices.SortedFunc(maps.Keys(count), func(a, b string) int {
		if c := cmp.Compare(count[b], count[a]); c != 0 {
			return c
		}
		return naturalCompare(b, a)
	})
	parts := make([]string, 0, len(versions))
	for _, v := range versions {
		parts = append(parts, fmt.Sprintf("%s ×%d", v, count[v]))
	}
	level := levelOK
	if len(versions) > 1 {
		level = levelWarn
	}
	return m.row("Versions", m.mark(level)+" "+strings.Join(parts, " · "))
}

func (m Model) limitLine(c *status.Cluster) string {
	lim := c.QoS.PerformanceLimitedBy
	level := levelOK
	if lim.Name != "" && lim.Name != "workload" {
		level = levelWarn
	}
	text := m.mark(level) + " " + lim.Name
	if lim.Description != "" {
		text += ": " + lim.Description
	}
	if lim.ReasonServerID != "" {
		text += " (server " + lim.ReasonServerID + ")"
	}
	return m.row("Limited by", text)
}

// warnings gathers the cluster's and client's messages and a count of
// processes reporting messages.
func (m Model) warnings(c *status.Cluster) []string {
	s := m.st()
	var out []string
	for _, msg := range c.Messages {
		out = append(out, s.Warn.Render("!")+" "+messageText(msg))
	}
	if m.cur != nil && m.cur.Cluster != nil {
		for _, msg := range m.cur.Client.Messages {
			out = append(out, s.Warn.Render("!")+" "+messageText(msg))
		}
	}
	n := 0
	for _, p := range c.Processes {
		if len(p.Messages) > 0 {
			n++
		}
	}
	if n > 0 {
		out = append(out, s.Warn.Render("!")+" "+plural(n, "process reports", "processes report")+" messages (see Processes)")
	}
	return out
}
