package tui

import (
	"fmt"
	"strings"

	"github.com/strata-db/strata/db/status"
)

// renderData shows replication health and data distribution.
func (m Model) renderData(c *status.Cluster) []string {
	s := m.st()
	d := c.Data
	ds := d.State
	health := fmt.Sprintf("%s %s", m.mark(dataLevel(ds)), ds.Name)
	if ds.Description != "" {
		health += ": " + ds.Description
	}
	mv := d.MovingData
	lines := []string{
		m.row("Replication", health),
		m.row("Replicas", fmt.Sprintf("%d remaining of the least replicated shard (of %d configured)", ds.MinReplicasRemaining, c.Configuration.StorageReplicas)),
		m.row("Moving data", fmt.Sprintf("%s in flight · %s queued · highest priority %d", fmtBytes(mv.InFlightBytes), fmtBytes(mv.InQueueBytes), mv.HighestPriority)),
		m.row("Moved so far", fmtBytes(mv.TotalWrittenBytes)),
		m.row("Key-value size", fmt.Sprintf("%s (system %s)", fmtBytes(d.TotalKVSizeBytes), fmtBytes(d.SystemKVSizeBytes))),
		m.row("Disk used", fmtBytes(d.TotalDiskUsedBytes)),
		m.row("Shards", fmt.Sprintf("%d (average %s)", d.PartitionsCount, fmtBytes(d.AveragePartitionSizeBytes))),
	}
	if t := d.Teams; t != nil {
		level := levelOK
		if t.Unhealthy > 0 {
			level = levelWarn
		}
		lines = append(lines, m.row("Teams", fmt.Sprintf("%s %d (%d healthy, %d unhealthy)", m.mark(level), t.Count, t.Healthy, t.Unhealthy)))
	}
	for _, tt := range d.TeamTrackers {
		region := "remote"
		if tt.Primary {
			region = "primary"
		}
		lines = append(lines, m.row("Team tracker", fmt.Sprintf("%s %s: %s · %d unhealthy servers · %s in flight",
			m.mark(dataLevel(tt.State)), region, tt.State.Name, tt.UnhealthyServers, fmtBytes(tt.InFlightBytes))))
	}
	lines = append(lines,
		m.row("Free space", fmt.Sprintf("storage %s · log %s (on the fullest server)", fmtBytes(d.LeastOperatingSpaceStorage), fmtBytes(d.LeastOperatingSpaceLog))),
		m.row("Redundancy", fmt.Sprintf("%s · storage %s · log %s", c.Configuration.RedundancyMode,
			orDash(c.Configuration.StoragePolicy), orDash(c.Configuration.LogPolicy))),
	)
	if len(c.Configuration.ExcludedServers) > 0 {
		var ex []string
		for _, e := range c.Configuration.ExcludedServers {
			ex = append(ex, e.Address+e.Locality)
		}
		lines = append(lines, m.row("Excluded", strings.Join(ex, " ")))
	}
	if c.MaintenanceZone != "" {
		lines = append(lines, m.row("Maintenance", s.Info.Render("◆ zone "+c.MaintenanceZone)+" (no data moves off it)"))
	}
	return lines
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
