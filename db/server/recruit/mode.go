package recruit

import (
	"fmt"
	"strings"
)

// Locality places a process in the failure-domain hierarchy. Its fields are
// those of flow.Locality in the same order, so a flow.Locality converts with
// recruit.Locality(loc).
type Locality struct {
	DC       string
	DataHall string
	Zone     string
	Machine  string
}

// ZoneID is the process's fault zone. Like FoundationDB's zoneid it
// defaults to the machine id; with neither set, every such process shares
// the anonymous zone "", which is never mistaken for independent zones.
func (l Locality) ZoneID() string {
	if l.Zone != "" {
		return l.Zone
	}
	return l.Machine
}

// LocalityKey names a locality field the way FoundationDB's policies do.
type LocalityKey string

// The locality keys of FoundationDB's replication policies.
const (
	KeyZone     LocalityKey = "zoneid"
	KeyMachine  LocalityKey = "machineid"
	KeyDataHall LocalityKey = "data_hall"
	KeyDC       LocalityKey = "dcid"
)

// Value is l's value for key ("" for an unknown key).
func (l Locality) Value(key LocalityKey) string {
	switch key {
	case KeyZone:
		return l.ZoneID()
	case KeyMachine:
		return l.Machine
	case KeyDataHall:
		return l.DataHall
	case KeyDC:
		return l.DC
	}
	return ""
}

// noun is the key's name in messages, singular and plural.
func (key LocalityKey) noun(n int) string {
	names := map[LocalityKey][2]string{
		KeyZone:     {"zone", "zones"},
		KeyMachine:  {"machine", "machines"},
		KeyDataHall: {"data hall", "data halls"},
		KeyDC:       {"datacenter", "datacenters"},
	}
	name, ok := names[key]
	if !ok {
		name = [2]string{string(key), string(key) + "s"}
	}
	if n == 1 {
		return name[0]
	}
	return name[1]
}

// Across is one level of a replication policy: Count distinct values of
// Key, each of which satisfies the rest of the policy.
type Across struct {
	Count int
	Key   LocalityKey
}

// Policy is a FoundationDB replication policy written as its chain of
// Across levels, outermost first; the chain ends in One (a single process).
// Policy{{2, KeyDataHall}, {2, KeyZone}} is FoundationDB's
// Across(2, data_hall, Across(2, zoneid, One())); the empty Policy is One.
type Policy []Across

// String renders the policy as status json's *_replication_policy fields
// do, e.g. "(zoneid^3x1)"; One is "1".
func (p Policy) String() string {
	if len(p) == 0 {
		return "1"
	}
	return fmt.Sprintf("(%s^%dx%s)", p[0].Key, p[0].Count, p[1:])
}

// Replicas is how many processes a minimal set satisfying p holds: the
// product of the level counts.
func (p Policy) Replicas() int {
	n := 1
	for _, level := range p {
		n *= level.Count
	}
	return n
}

// Mode is a redundancy mode (fdb.md §6.4): how many copies of the data the
// storage servers and the logs keep, and where those copies must be.
type Mode struct {
	// Name is the mode as `configure` and status json spell it.
	Name string
	// StorageReplicas is the size of a storage team.
	StorageReplicas int
	// LogReplicas is how many logs hold each commit.
	LogReplicas int
	// StoragePolicy is the rule every storage team satisfies.
	StoragePolicy Policy
	// LogPolicy is the rule every set of logs holding a commit satisfies.
	LogPolicy Policy
	// Coordinators is the recommended coordinator count: 2R-1 for R zone
	// replicas, so a majority survives R-1 zone failures; 9 for
	// three_data_hall (three per hall).
	Coordinators int
}

// The redundancy modes Strata supports (DESIGN.md "Replication").
const (
	ModeSingle        = "single"
	ModeDouble        = "double"
	ModeTriple        = "triple"
	ModeThreeDataHall = "three_data_hall"
)

// ModeNames lists the supported modes, in order of redundancy.
func ModeNames() []string {
	return []string{ModeSingle, ModeDouble, ModeTriple, ModeThreeDataHall}
}

// ParseMode returns the mode named s (case and surrounding space ignored).
func ParseMode(s string) (Mode, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	zones := func(n int) Policy { return Policy{{n, KeyZone}} }
	switch name {
	case ModeSingle:
		return Mode{Name: name, StorageReplicas: 1, LogReplicas: 1, Coordinators: 1}, nil
	case ModeDouble:
		return Mode{Name: name, StorageReplicas: 2, LogReplicas: 2,
			StoragePolicy: zones(2), LogPolicy: zones(2), Coordinators: 3}, nil
	case ModeTriple:
		return Mode{Name: name, StorageReplicas: 3, LogReplicas: 3,
			StoragePolicy: zones(3), LogPolicy: zones(3), Coordinators: 5}, nil
	case ModeThreeDataHall:
		return Mode{Name: name, StorageReplicas: 3, LogReplicas: 4,
			StoragePolicy: Policy{{3, KeyDataHall}},
			LogPolicy:     Policy{{2, KeyDataHall}, {2, KeyZone}},
			Coordinators:  9}, nil
	}
	return Mode{}, fmt.Errorf("unknown redundancy mode %q: use one of %s", s, strings.Join(ModeNames(), ", "))
}

// validate rejects a Mode that ParseMode did not make (the zero Mode in
// particular), so the functions below never divide work by zero replicas.
func (m Mode) validate() error {
	if m.Name == "" || m.StorageReplicas < 1 || m.LogReplicas < 1 {
		return fmt.Errorf("redundancy mode not set (use ParseMode)")
	}
	if m.StoragePolicy.Replicas() != m.StorageReplicas || m.LogPolicy.Replicas() != m.LogReplicas {
		return fmt.Errorf("redundancy mode %s: replica counts %d/%d disagree with policies %s/%s",
			m.Name, m.StorageReplicas, m.LogReplicas, m.StoragePolicy, m.LogPolicy)
	}
	return nil
}

// Counts is how many of each transaction-subsystem role to recruit. A zero
// field takes its default (DefaultCounts).
type Counts struct {
	CommitProxies int
	GRVProxies    int
	Resolvers     int
	Logs          int
}

// DefaultCounts are the counts when the configuration sets none: one commit
// proxy, one GRV proxy and one resolver (FoundationDB's auto values are 3,
// 1 and 1; Strata starts small and the operator raises them with
// `configure commit_proxies=N`), and as many logs as the mode's log
// replication factor (1, 2, 3 and 4), the fewest that satisfy its policy.
func DefaultCounts(m Mode) Counts {
	return Counts{CommitProxies: 1, GRVProxies: 1, Resolvers: 1, Logs: max(m.LogReplicas, 1)}
}

// WithDefaults fills the zero fields of c from DefaultCounts(m) and raises
// Logs to the mode's log replication factor: fewer logs could not hold the
// replicas the policy asks for.
func (c Counts) WithDefaults(m Mode) Counts {
	d := DefaultCounts(m)
	pick := func(v, def int) int {
		if v == 0 {
			return def
		}
		return v
	}
	return Counts{
		CommitProxies: pick(c.CommitProxies, d.CommitProxies),
		GRVProxies:    pick(c.GRVProxies, d.GRVProxies),
		Resolvers:     pick(c.Resolvers, d.Resolvers),
		Logs:          max(pick(c.Logs, d.Logs), m.LogReplicas),
	}
}

func (c Counts) validate() error {
	if c.CommitProxies < 0 || c.GRVProxies < 0 || c.Resolvers < 0 || c.Logs < 0 {
		return fmt.Errorf("negative role count in %+v", c)
	}
	return nil
}
