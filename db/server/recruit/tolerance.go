package recruit

import (
	"fmt"
	"slices"
)

// Deployment is the part of a cluster's state that decides its fault
// tolerance.
type Deployment struct {
	// Teams are the storage teams holding data, each with its live members
	// only (a dead member holds no usable replica).
	Teams []Team
	// Logs are the localities of the current generation's logs.
	Logs []Locality
	// Coordinators holds the zone of each coordinator.
	Coordinators []string
	// Workers are the registered processes. After a failure the cluster
	// recovers onto a new log set, so availability needs the survivors to
	// satisfy the log policy; nil skips that bound.
	Workers []Worker
}

// Tolerance is status json's cluster.fault_tolerance: how many zones may
// fail, whichever they are, without losing data or availability.
type Tolerance struct {
	MaxZoneFailuresWithoutLosingData         int
	MaxZoneFailuresWithoutLosingAvailability int
	// DataLimit and AvailabilityLimit name what sets each bound, for
	// status messages: "storage team {s1 s2}", "logs", "coordinators" or
	// "log recruitment".
	DataLimit, AvailabilityLimit string
}

// FaultTolerance computes d's worst-case zone fault tolerance for mode.
//
// Data survives the failure of a set of zones while every storage team
// keeps a live member outside it and so does every set of logs that may
// hold a commit (any set satisfying the log policy: logs hold a commit
// until storage has it). So it is the fewest zones of a team, or of a
// policy-satisfying log set, minus one.
//
// Availability also needs a majority of coordinators outside the failed
// zones (the adversary takes the zones holding most coordinators first)
// and, since losing a log triggers a recovery, enough surviving log-capable
// workers to satisfy the log policy again. It never exceeds the data bound.
//
// An empty field of d sets no bound; with nothing to bound either figure it
// is 0. Figures are never negative: a team already without a live member
// gives 0.
func FaultTolerance(mode Mode, d Deployment) Tolerance {
	if err := mode.validate(); err != nil {
		return Tolerance{DataLimit: err.Error(), AvailabilityLimit: err.Error()}
	}
	var data bound
	for _, t := range d.Teams {
		data.add(len(distinct(t.localities(), KeyZone))-1, fmt.Sprintf("storage team %s", t))
	}
	if len(d.Logs) > 0 {
		data.add(min(mode.LogPolicy.minZones(), len(distinct(d.Logs, KeyZone)))-1, "logs")
	}
	avail := data
	if len(d.Coordinators) > 0 {
		avail.add(coordinatorTolerance(d.Coordinators), "coordinators")
	}
	if d.Workers != nil {
		avail.add(mode.LogPolicy.breakCost(logCapable(d.Workers))-1, "log recruitment")
	}
	return Tolerance{
		MaxZoneFailuresWithoutLosingData:         data.value(),
		MaxZoneFailuresWithoutLosingAvailability: avail.value(),
		DataLimit:                                data.reason(),
		AvailabilityLimit:                        avail.reason(),
	}
}

// bound tracks the smallest of several limits and what set it; the first
// of equal limits names it.
type bound struct {
	v   int
	why string
	set bool
}

func (b *bound) add(v int, why string) {
	if !b.set || v < b.v {
		b.v, b.why, b.set = v, why, true
	}
}

func (b bound) reason() string {
	if !b.set {
		return "nothing to bound it"
	}
	return b.why
}

func (b bound) value() int {
	if !b.set {
		return 0
	}
	return max(b.v, 0)
}

// coordinatorTolerance is how many zones may fail, largest first, while a
// majority of coordinators survives.
func coordinatorTolerance(zones []string) int {
	perZone := map[string]int{}
	for _, z := range zones {
		perZone[z]++
	}
	counts := make([]int, 0, len(perZone))
	for _, c := range perZone {
		counts = append(counts, c)
	}
	slices.Sort(counts)
	slices.Reverse(counts)
	alive, majority, failed := len(zones), len(zones)/2+1, 0
	for _, c := range counts {
		if alive-c < majority {
			break
		}
		alive -= c
		failed++
	}
	return failed
}

// logCapable returns the localities of the workers a log may be recruited
// on.
func logCapable(workers []Worker) []Locality {
	var locs []Locality
	for _, w := range workers {
		if !w.Excluded && Fitness(w.Class, Log) < NeverAssign {
			locs = append(locs, w.Locality)
		}
	}
	return locs
}
