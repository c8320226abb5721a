package layout

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/strata-db/strata/deployer/spec"
)

var sprintf = fmt.Sprintf

func addressRange(h *spec.Host) hcl.Range {
	if h.AddressRange != (hcl.Range{}) {
		return h.AddressRange
	}
	return h.DeclRange
}

// checkAddresses reports hosts that collide on one machine. Two SSH hosts
// at one address are the same machine described twice. Hosts with the local
// transport may share an address (that is how one machine runs several
// zones), but then each needs its own directories, and on any address every
// server and HTTP port must be unique.
func checkAddresses(hosts []*spec.Host, l *Layout) hcl.Diagnostics {
	var diags hcl.Diagnostics
	byAddr := map[string][]int{}
	var addrs []string
	for i, h := range hosts {
		if _, seen := byAddr[h.Address]; !seen {
			addrs = append(addrs, h.Address)
		}
		byAddr[h.Address] = append(byAddr[h.Address], i)
	}
	for _, addr := range addrs {
		group := byAddr[addr]
		for j, hi := range group {
			h := hosts[hi]
			for _, prev := range group[:j] {
				diags = append(diags, sharedMachine(hosts[prev], h)...)
			}
		}
		diags = append(diags, portClashes(group, hosts, l)...)
	}
	return diags
}

func sharedMachine(a, b *spec.Host) hcl.Diagnostics {
	if a.Transport != spec.TransportLocal || b.Transport != spec.TransportLocal {
		return hcl.Diagnostics{errorf(addressRange(b), "Duplicate address",
			"Hosts %q and %q both have address %q. Only hosts with transport = \"local\" may share an address.",
			a.Name, b.Name, b.Address)}
	}
	var diags hcl.Diagnostics
	for _, d := range []struct{ what, a, b string }{
		{"conf", a.Paths.Conf, b.Paths.Conf},
		{"data", a.Paths.Data, b.Paths.Data},
		{"log", a.Paths.Log, b.Paths.Log},
	} {
		if d.a == d.b {
			diags = append(diags, errorf(b.DeclRange, "Shared directory",
				"Hosts %q and %q share address %q and both use %s directory %s; give each its own in overrides { paths { ... } }.",
				a.Name, b.Name, b.Address, d.what, d.a))
		}
	}
	return diags
}

// portClashes finds ports used twice on one address, counting both server
// and HTTP ports.
func portClashes(group []int, hosts []*spec.Host, l *Layout) hcl.Diagnostics {
	var diags hcl.Diagnostics
	owner := map[int]string{}
	for _, hi := range group {
		for _, p := range l.Hosts[hi].Processes {
			for _, use := range []struct {
				port int
				what string
			}{{p.Port, "server port of " + p.ID}, {p.HTTPPort, "HTTP port of " + p.ID}} {
				if prev, taken := owner[use.port]; taken {
					diags = append(diags, errorf(hosts[hi].DeclRange, "Port clash",
						"Port %d on %s is the %s and also the %s; change port_base or http_port_offset.",
						use.port, p.Address, prev, use.what))
					continue
				}
				owner[use.port] = use.what
			}
		}
	}
	return diags
}

// checkLocalities reports a zone that spans data halls or data centres: a
// zone is one unit of failure, so it sits inside one hall and one DC.
func checkLocalities(hosts []*spec.Host) hcl.Diagnostics {
	var diags hcl.Diagnostics
	first := map[string]*spec.Host{}
	for _, h := range hosts {
		prev, seen := first[h.Locality.Zone]
		if !seen {
			first[h.Locality.Zone] = h
			continue
		}
		if prev.Locality.DataHall != h.Locality.DataHall {
			diags = append(diags, errorf(h.DeclRange, "Zone spans data halls",
				"Zone %q holds host %q in data hall %q and host %q in data hall %q; a zone must sit in one hall.",
				h.Locality.Zone, prev.Name, prev.Locality.DataHall, h.Name, h.Locality.DataHall))
		}
		if prev.Locality.DC != h.Locality.DC {
			diags = append(diags, errorf(h.DeclRange, "Zone spans data centres",
				"Zone %q holds host %q in dc %q and host %q in dc %q; a zone must sit in one data centre.",
				h.Locality.Zone, prev.Name, prev.Locality.DC, h.Name, h.Locality.DC))
		}
	}
	return diags
}

// checkReplication reports layouts the redundancy mode cannot use: storage
// must span as many zones as there are copies (halls, for
// three_data_hall). Logs short of zones are only a warning, because the
// database then recruits logs on storage processes.
func checkReplication(s *spec.ClusterSpec, l *Layout) hcl.Diagnostics {
	mode := s.Cluster.Redundancy
	rng := s.Cluster.RedundancyRange
	var diags hcl.Diagnostics
	storageZones, logZones, storageHalls := set{}, set{}, set{}
	for i, h := range l.Hosts {
		if mode == spec.RedundancyThreeDataHall && h.Locality.DataHall == "" {
			diags = append(diags, errorf(s.Host(h.Name).DeclRange, "Missing data hall",
				"Host %q has no data_hall; three_data_hall redundancy places copies by hall, so every host needs one.", l.Hosts[i].Name))
		}
		for _, p := range h.Processes {
			switch p.Class {
			case spec.ClassStorage:
				storageZones.add(p.Locality.Zone)
				if p.Locality.DataHall != "" {
					storageHalls.add(p.Locality.DataHall)
				}
			case spec.ClassLog, spec.ClassTransaction:
				logZones.add(p.Locality.Zone)
			}
		}
	}
	replicas := mode.StorageReplicas()
	switch {
	case len(storageZones) == 0:
		diags = append(diags, errorf(rng, "No storage processes",
			"No host runs a storage process, so the cluster could hold no data; add storage = N to some host's processes."))
	case len(storageZones) < replicas:
		diags = append(diags, errorf(rng, "Too few zones for the redundancy mode",
			"%s keeps %d copies of every key in different zones, but storage processes run in only %d zone(s): %s.",
			mode, replicas, len(storageZones), storageZones.String()))
	}
	if mode == spec.RedundancyThreeDataHall && len(storageHalls) < 3 {
		diags = append(diags, errorf(rng, "Too few data halls for the redundancy mode",
			"three_data_hall keeps a copy in each of 3 data halls, but storage processes run in %d hall(s): %s.",
			len(storageHalls), storageHalls.String()))
	}
	if n := mode.LogReplicas(); len(logZones) > 0 && len(logZones) < n {
		diags = append(diags, warnf(rng, "Too few zones with log processes",
			"%s writes each commit to %d logs in different zones, but log or transaction processes run in %d zone(s); the database will also recruit logs on storage processes.",
			mode, n, len(logZones)))
	}
	return diags
}

// set is a set of names that prints sorted.
type set map[string]struct{}

func (s set) add(v string) { s[v] = struct{}{} }

func (s set) sorted() []string {
	out := make([]string, 0, len(s))
	for v := range s {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

func (s set) String() string {
	names := s.sorted()
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
