package status

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// WriteSummary prints the document as fdbcli's `status' does (fdb.md
// §4.2), with the sections the document fills; path is the cluster file.
func WriteSummary(w io.Writer, path string, st *Status) {
	fmt.Fprintf(w, "Using cluster file `%s'.\n\n", path)
	row := func(name, format string, args ...any) {
		fmt.Fprintf(w, "  %-24s - %s\n", name, fmt.Sprintf(format, args...))
	}
	cl := st.Client
	if st.Cluster == nil {
		for _, m := range cl.Messages {
			fmt.Fprintf(w, "%s\n", m.Description)
		}
		writeCoordinators(w, cl)
		return
	}
	c := st.Cluster
	fmt.Fprintln(w, "Configuration:")
	row("Redundancy mode", "%s", c.Configuration.RedundancyMode)
	row("Storage engine", "%s", c.Configuration.StorageEngine)
	row("Coordinators", "%d", c.Configuration.CoordinatorsCount)
	fmt.Fprintln(w, "\nCluster:")
	var unreachable []string
	machines := map[string]bool{}
	for _, p := range c.Processes {
		machines[p.Machine()+"|"+strings.Split(p.Address, ":")[0]] = true
		for _, m := range p.Messages {
			if m.Name == "unreachable_process" {
				unreachable = append(unreachable, p.Address)
			}
		}
	}
	slices.Sort(unreachable)
	row("Strata processes", "%d", len(c.Processes))
	if len(unreachable) > 0 {
		row("Unreachable processes", "%d (%s)", len(unreachable), strings.Join(unreachable, ", "))
	}
	row("Machines", "%d", len(machines))
	row("Fault Tolerance", "%d machines", c.FaultTolerance.MaxZoneFailuresWithoutLosingData)
	row("Recovery state", "%s", c.RecoveryState.Description)
	fmt.Fprintln(w, "\nData:")
	health := "Healthy"
	if !c.Data.State.Healthy {
		health = c.Data.State.Description
		if health == "" {
			health = c.Data.State.Name
		}
	}
	row("Replication health", "%s", health)
	row("Sum of key-value sizes", "%s", humanBytes(c.Data.TotalKVSizeBytes))
	row("Disk space used", "%s", humanBytes(c.Data.TotalDiskUsedBytes))
	wl := c.Workload
	fmt.Fprintln(w, "\nWorkload:")
	row("Read rate", "%.0f Hz", wl.Operations.Reads.Hz)
	row("Write rate", "%.0f Hz", wl.Operations.Writes.Hz)
	row("Transactions started", "%.0f Hz", wl.Transactions.Started.Hz)
	row("Transactions committed", "%.0f Hz", wl.Transactions.Committed.Hz)
	row("Conflict rate", "%.0f Hz", wl.Transactions.Conflicted.Hz)
	fmt.Fprintln(w, "\nProcesses:")
	for _, id := range slices.Sorted(maps.Keys(c.Processes)) {
		p := c.Processes[id]
		var roles []string
		for _, r := range p.Roles {
			roles = append(roles, r.Role)
		}
		state := ""
		if slices.Contains(unreachable, p.Address) {
			state = "  UNREACHABLE"
		}
		fmt.Fprintf(w, "  %-21s %-10s %s%s\n", p.Address, p.ClassType, strings.Join(roles, ","), state)
	}
	writeCoordinators(w, cl)
	for _, m := range c.Messages {
		if m.Name != "unreachable_processes" {
			fmt.Fprintf(w, "\nWARNING: %s\n", m.Description)
		}
	}
	fmt.Fprintf(w, "\nClient time: %s\n", time.Unix(cl.Timestamp, 0).Format(time.UnixDate))
}

func writeCoordinators(w io.Writer, cl Client) {
	fmt.Fprintln(w, "\nCoordination servers:")
	for _, co := range cl.Coordinators.Coordinators {
		state := "(reachable)"
		if !co.Reachable {
			state = "(unreachable)"
		}
		fmt.Fprintf(w, "  %s  %s\n", co.Address, state)
	}
}

func humanBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	f, suffix := float64(n), "B"
	for _, s := range []string{"KB", "MB", "GB", "TB", "PB"} {
		if f < unit {
			break
		}
		f, suffix = f/unit, s
	}
	return fmt.Sprintf("%.1f %s", f, suffix)
}
