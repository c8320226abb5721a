package recruit

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// TestDataDriven runs testdata/datadriven/*.txt (rapid keeps its failure
// files in testdata/rapid). Commands:
//
//	workers                      input: one worker a line, "ID key=value... [excluded]"
//	                             with keys class, zone, machine, hall, dc
//	add                          input: more workers, kept with the last placement
//	exclude ids=a,b              marks workers excluded
//	remove ids=a,b               removes workers (they failed)
//	recruit mode=M [cp=N grv=N resolvers=N logs=N] [prefer]
//	                             Recruit over the workers; prefer passes the
//	                             previous recruit's placement
//	servers                      input: storage servers, as workers (no class)
//	teams mode=M [want=N]        BuildTeams; prints teams and teams per server
//	valid mode=M team=a,b,c      ValidTeam
//	destination mode=M team=a,b,c lost=ID [load=ID:N,...]
//	                             ChooseDestination over the servers
//	tolerance mode=M [workers]   input lines "team IDs...", "logs IDs..."
//	                             (worker IDs), "coordinators ZONES..."; workers
//	                             passes the worker list
//	fitness                      the whole class x role table
func TestDataDriven(t *testing.T) {
	datadriven.Walk(t, "testdata/datadriven", func(t *testing.T, path string) {
		var h harness
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			out, err := h.run(t, d)
			if err != nil {
				return "error: " + err.Error() + "\n"
			}
			return out
		})
	})
}

type harness struct {
	workers []Worker
	servers []StorageServer
	last    *Placement
}

func (h *harness) run(t *testing.T, d *datadriven.TestData) (string, error) {
	switch d.Cmd {
	case "workers":
		h.workers = parseWorkers(t, d.Input)
		h.last = nil
		return "", nil
	case "add":
		h.workers = append(h.workers, parseWorkers(t, d.Input)...)
		return "", nil
	case "exclude", "remove":
		var ids string
		d.ScanArgs(t, "ids", &ids)
		for _, id := range strings.Split(ids, ",") {
			i := slices.IndexFunc(h.workers, func(w Worker) bool { return w.ID == id })
			if i < 0 {
				t.Fatalf("%s: no worker %q", d.Pos, id)
			}
			if d.Cmd == "exclude" {
				h.workers[i].Excluded = true
			} else {
				h.workers = slices.Delete(h.workers, i, i+1)
			}
		}
		return "", nil
	case "servers":
		h.servers = nil
		for _, w := range parseWorkers(t, d.Input) {
			h.servers = append(h.servers, StorageServer{ID: w.ID, Locality: w.Locality, Excluded: w.Excluded})
		}
		return "", nil
	case "recruit":
		return h.recruit(t, d)
	case "teams":
		return h.teams(t, d)
	case "valid":
		team := h.team(t, d)
		if err := ValidTeam(team, mode(t, d)); err != nil {
			return "", err
		}
		return "ok\n", nil
	case "destination":
		return h.destination(t, d)
	case "tolerance":
		return h.tolerance(t, d)
	case "fitness":
		return fitnessTable(), nil
	}
	t.Fatalf("%s: unknown command %q", d.Pos, d.Cmd)
	return "", nil
}

func parseWorkers(t *testing.T, input string) []Worker {
	var out []Worker
	for _, line := range strings.Split(strings.TrimSpace(input), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		w := Worker{ID: fields[0], Address: fields[0] + ":4500"}
		for _, f := range fields[1:] {
			k, v, _ := strings.Cut(f, "=")
			switch k {
			case "class":
				w.Class = v
			case "zone":
				w.Locality.Zone = v
			case "machine":
				w.Locality.Machine = v
			case "hall":
				w.Locality.DataHall = v
			case "dc":
				w.Locality.DC = v
			case "excluded":
				w.Excluded = true
			default:
				t.Fatalf("bad worker field %q in %q", f, line)
			}
		}
		out = append(out, w)
	}
	return out
}

func mode(t *testing.T, d *datadriven.TestData) Mode {
	var name string
	d.ScanArgs(t, "mode", &name)
	m, err := ParseMode(name)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func intArg(t *testing.T, d *datadriven.TestData, key string) int {
	if !d.HasArg(key) {
		return 0
	}
	var v int
	d.ScanArgs(t, key, &v)
	return v
}

func (h *harness) recruit(t *testing.T, d *datadriven.TestData) (string, error) {
	counts := Counts{
		CommitProxies: intArg(t, d, "cp"),
		GRVProxies:    intArg(t, d, "grv"),
		Resolvers:     intArg(t, d, "resolvers"),
		Logs:          intArg(t, d, "logs"),
	}
	var prefer *Placement
	if d.HasArg("prefer") {
		prefer = h.last
	}
	p, err := Recruit(h.workers, mode(t, d), counts, prefer)
	if err != nil {
		return "", err
	}
	h.last = &p
	return p.String(), nil
}

func (h *harness) teams(t *testing.T, d *datadriven.TestData) (string, error) {
	teams, err := BuildTeams(h.servers, mode(t, d), intArg(t, d, "want"))
	if err != nil {
		return "", err
	}
	var b strings.Builder
	per := map[string]int{}
	for _, team := range teams {
		fmt.Fprintln(&b, team)
		for _, id := range team.IDs() {
			per[id]++
		}
	}
	fmt.Fprintf(&b, "%d teams; per server:", len(teams))
	for _, id := range sortedKeys(per) {
		fmt.Fprintf(&b, " %s=%d", id, per[id])
	}
	return b.String() + "\n", nil
}

func (h *harness) team(t *testing.T, d *datadriven.TestData) Team {
	var ids string
	d.ScanArgs(t, "team", &ids)
	team, err := TeamOf(strings.Split(ids, ","), h.servers)
	if err != nil {
		t.Fatal(err)
	}
	return team
}

func (h *harness) destination(t *testing.T, d *datadriven.TestData) (string, error) {
	var lost string
	d.ScanArgs(t, "lost", &lost)
	load := map[string]int64{}
	if d.HasArg("load") {
		var spec string
		d.ScanArgs(t, "load", &spec)
		for _, kv := range strings.Split(spec, ",") {
			id, n, _ := strings.Cut(kv, ":")
			v, err := strconv.ParseInt(n, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			load[id] = v
		}
	}
	id, err := ChooseDestination(h.team(t, d), lost, h.servers, mode(t, d), load)
	if err != nil {
		return "", err
	}
	return id + "\n", nil
}

func (h *harness) tolerance(t *testing.T, d *datadriven.TestData) (string, error) {
	byID := map[string]Locality{}
	for _, w := range h.workers {
		byID[w.ID] = w.Locality
	}
	var dep Deployment
	for _, line := range strings.Split(strings.TrimSpace(d.Input), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		switch fields[0] {
		case "team":
			team, err := TeamOf(fields[1:], h.servers)
			if err != nil {
				t.Fatal(err)
			}
			dep.Teams = append(dep.Teams, team)
		case "logs":
			for _, id := range fields[1:] {
				dep.Logs = append(dep.Logs, byID[id])
			}
		case "coordinators":
			dep.Coordinators = fields[1:]
		default:
			t.Fatalf("bad tolerance line %q", line)
		}
	}
	if d.HasArg("workers") {
		dep.Workers = slices.Clone(h.workers)
	}
	ft := FaultTolerance(mode(t, d), dep)
	return fmt.Sprintf("data: %d (%s)\navailability: %d (%s)\n",
		ft.MaxZoneFailuresWithoutLosingData, ft.DataLimit,
		ft.MaxZoneFailuresWithoutLosingAvailability, ft.AvailabilityLimit), nil
}

func fitnessTable() string {
	classes := []string{ClassUnset, ClassStorage, ClassLog, ClassTransaction, ClassStateless, ClassMaster,
		ClassCommitProxy, ClassGRVProxy, ClassResolution, ClassClusterController, ClassRatekeeper,
		ClassDataDistributor, ClassLogRouter, "backup", ClassCoordinator, ClassTester, ClassBlobWorker, "proxy", "bogus"}
	var b strings.Builder
	row := func(first string, cells []string) {
		line := fmt.Sprintf("%-18s", first)
		for _, c := range cells {
			line += fmt.Sprintf(" %-6.6s", c)
		}
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	var header []string
	for _, r := range Roles() {
		header = append(header, r.String())
	}
	row("class", header)
	for _, c := range classes {
		var cells []string
		for _, r := range Roles() {
			cells = append(cells, Fitness(c, r).String())
		}
		row(c, cells)
	}
	return b.String()
}
