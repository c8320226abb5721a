package tui

import (
	"cmp"
	"slices"
	"strings"

	"github.com/strata-db/strata/db/status"
)

// procState is a process's condition, worst first.
type procState int

const (
	stateDown procState = iota
	stateDegraded
	stateLagging
	stateWarning
	stateMaintenance
	stateExcluded
	stateOK
)

// laggingSeconds is the storage data lag above which a process is shown
// as lagging. FDB's operators expect data lag well under a second and
// durability lag near five seconds.
const laggingSeconds = 5.0

// symbol and word for each state: the table always shows the symbol, so
// state never depends on colour alone.
func (s procState) symbol() string {
	return [...]string{"✖", "▼", "▲", "!", "◆", "○", "✔"}[s]
}

func (s procState) word() string {
	return [...]string{"down", "degraded", "lagging", "warning", "maintenance", "excluded", "ok"}[s]
}

// stateLegend lists every symbol with its meaning.
func stateLegend() string {
	var parts []string
	for s := stateOK; s >= stateDown; s-- {
		parts = append(parts, s.symbol()+" "+s.word())
	}
	return strings.Join(parts, "  ")
}

// procRow is one process, with what the table shows and sorts by worked
// out once per status document rather than once per frame.
type procRow struct {
	id       string
	p        *status.Process
	state    procState
	zone     string
	machine  string
	roles    string  // abbreviations, e.g. "SS,CO"
	lag      float64 // worst storage data lag in seconds; -1 without a storage role
	haystack string  // lower-case text the filter searches
}

// roleAbbrev shortens FDB role names for the table.
var roleAbbrev = map[string]string{
	status.RoleClusterController: "CC",
	status.RoleMaster:            "SQ",
	status.RoleCommitProxy:       "CP",
	status.RoleGRVProxy:          "GP",
	status.RoleResolver:          "RV",
	status.RoleLog:               "TL",
	status.RoleStorage:           "SS",
	status.RoleDataDistributor:   "DD",
	status.RoleRatekeeper:        "RK",
	status.RoleCoordinator:       "CO",
}

func abbrevRole(r string) string {
	if a, ok := roleAbbrev[r]; ok {
		return a
	}
	return r
}

// buildRows derives the rows of every process in c.
func buildRows(c *status.Cluster) []procRow {
	unreachable := map[string]bool{}
	for _, m := range c.Messages {
		for _, a := range m.UnreachableProcesses {
			unreachable[a.Address] = true
		}
	}
	rows := make([]procRow, 0, len(c.Processes))
	for id := range c.Processes {
		p := c.Processes[id]
		r := procRow{id: id, p: &p, zone: p.Zone(), machine: p.Machine(), lag: -1}
		abbrevs := make([]string, 0, len(p.Roles))
		full := make([]string, 0, len(p.Roles))
		for _, role := range p.Roles {
			abbrevs = append(abbrevs, abbrevRole(role.Role))
			full = append(full, role.Role)
			if role.DataLag != nil {
				r.lag = max(r.lag, role.DataLag.Seconds)
			}
		}
		r.roles = strings.Join(abbrevs, ",")
		r.state = stateOf(&p, r.lag, unreachable[p.Address], c.MaintenanceZone)
		r.haystack = strings.ToLower(strings.Join([]string{
			p.Address, p.ClassType, r.roles, strings.Join(full, " "), r.zone, r.machine, p.Version, r.state.word(),
		}, " "))
		rows = append(rows, r)
	}
	return rows
}

func stateOf(p *status.Process, lag float64, unreachable bool, maintenanceZone string) procState {
	switch {
	case unreachable || hasMessage(p.Messages, "unreachable_process"):
		return stateDown
	case p.Degraded:
		return stateDegraded
	case lag > laggingSeconds:
		return stateLagging
	case len(p.Messages) > 0:
		return stateWarning
	case p.UnderMaintenance || maintenanceZone != "" && p.Zone() == maintenanceZone:
		return stateMaintenance
	case p.Excluded:
		return stateExcluded
	}
	return stateOK
}

func hasMessage(ms []status.Message, name string) bool {
	return slices.ContainsFunc(ms, func(m status.Message) bool { return m.Name == name })
}

// sortKey is a column the table can be sorted by.
type sortKey int

const (
	sortZone sortKey = iota // zone, then machine, then address: grouped by host and zone
	sortAddress
	sortClass
	sortRoles
	sortVersion
	sortCPU
	sortMemory
	sortDisk
	sortUptime
	sortLag
	sortState
	numSortKeys
)

func (k sortKey) String() string {
	return [...]string{"zone", "address", "class", "roles", "version", "cpu", "memory", "free disk", "uptime", "lag", "state"}[k]
}

// compareRows orders two rows by key, falling back to the zone order so
// the result is total and stable from frame to frame.
func compareRows(a, b *procRow, key sortKey) int {
	var c int
	switch key {
	case sortAddress:
		c = naturalCompare(a.p.Address, b.p.Address)
	case sortClass:
		c = cmp.Compare(a.p.ClassType, b.p.ClassType)
	case sortRoles:
		c = cmp.Compare(a.roles, b.roles)
	case sortVersion:
		c = naturalCompare(a.p.Version, b.p.Version)
	case sortCPU:
		c = cmp.Compare(b.p.CPU.UsageCores, a.p.CPU.UsageCores) // busiest first
	case sortMemory:
		c = cmp.Compare(b.p.Memory.UsedBytes, a.p.Memory.UsedBytes)
	case sortDisk:
		c = cmp.Compare(a.p.Disk.FreeBytes, b.p.Disk.FreeBytes) // fullest first
	case sortUptime:
		c = cmp.Compare(a.p.UptimeSeconds, b.p.UptimeSeconds) // newest first
	case sortLag:
		c = cmp.Compare(b.lag, a.lag)
	case sortState:
		c = cmp.Compare(a.state, b.state) // worst first
	}
	if c != 0 {
		return c
	}
	if c = naturalCompare(a.zone, b.zone); c != 0 {
		return c
	}
	if c = naturalCompare(a.machine, b.machine); c != 0 {
		return c
	}
	if c = naturalCompare(a.p.Address, b.p.Address); c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}

// naturalCompare orders strings with embedded numbers by value ("z2" <
// "z10", "10.0.1.9:4500" < "10.0.1.10:4500").
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		da, db := isDigit(a[0]), isDigit(b[0])
		if da && db {
			na, ra := leadingDigits(a)
			nb, rb := leadingDigits(b)
			ta, tb := strings.TrimLeft(na, "0"), strings.TrimLeft(nb, "0")
			if c := cmp.Compare(len(ta), len(tb)); c != 0 {
				return c
			}
			if c := cmp.Compare(ta, tb); c != 0 {
				return c
			}
			a, b = ra, rb
			continue
		}
		if a[0] != b[0] {
			return cmp.Compare(a[0], b[0])
		}
		a, b = a[1:], b[1:]
	}
	return cmp.Compare(len(a), len(b))
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func leadingDigits(s string) (digits, rest string) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return s[:i], s[i:]
}
