package client

import (
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/strata-db/strata/db/flow"
)

// ClusterFile is a parsed cluster file: `description:ID@host:port,...`
// (fdb.md §5.2). The addresses are the coordinators; until cluster
// formation exists they are the addresses that serve ClientDBInfo.
type ClusterFile struct {
	Description  string
	ID           string
	Coordinators []flow.Address
}

func (f ClusterFile) String() string {
	addrs := make([]string, len(f.Coordinators))
	for i, a := range f.Coordinators {
		addrs[i] = string(a)
	}
	return f.Description + ":" + f.ID + "@" + strings.Join(addrs, ",")
}

// ReadClusterFile reads and parses the cluster file at path.
func ReadClusterFile(path string) (ClusterFile, error) {
	b, err := os.ReadFile(path) //lint:allow os the Go API reads the cluster file on the caller's goroutine, outside any loop
	if err != nil {
		return ClusterFile{}, fmt.Errorf("reading cluster file: %w", err)
	}
	f, err := ParseClusterFile(string(b))
	if err != nil {
		return ClusterFile{}, fmt.Errorf("cluster file %s: %w", path, err)
	}
	return f, nil
}

// ParseClusterFile parses a cluster file's text: `#` starts a comment to
// the end of its line, all whitespace is ignored, the description is
// [a-zA-Z0-9_]+, the ID alphanumeric, and the addresses host:port (IPv6 in
// brackets, an optional :tls suffix) without duplicates.
func ParseClusterFile(text string) (ClusterFile, error) {
	var sb strings.Builder
	for _, line := range strings.Split(text, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		for _, r := range line {
			if !strings.ContainsRune(" \t\r\v\f", r) {
				sb.WriteRune(r)
			}
		}
	}
	s := sb.String()
	key, addrs, ok := strings.Cut(s, "@")
	if !ok {
		return ClusterFile{}, fmt.Errorf("%q: missing '@' between description:ID and the coordinators", s)
	}
	desc, id, ok := strings.Cut(key, ":")
	if !ok || strings.Contains(id, ":") {
		return ClusterFile{}, fmt.Errorf("%q: want exactly one ':' in description:ID", key)
	}
	if desc == "" || !onlyRunes(desc, true) {
		return ClusterFile{}, fmt.Errorf("description %q: want letters, digits and '_'", desc)
	}
	if id == "" || !onlyRunes(id, false) {
		return ClusterFile{}, fmt.Errorf("ID %q: want letters and digits", id)
	}
	f := ClusterFile{Description: desc, ID: id}
	seen := map[string]bool{}
	for _, a := range strings.Split(addrs, ",") {
		addr, err := parseCoordinator(a)
		if err != nil {
			return ClusterFile{}, err
		}
		if seen[addr] {
			return ClusterFile{}, fmt.Errorf("coordinator %s listed twice", addr)
		}
		seen[addr] = true
		f.Coordinators = append(f.Coordinators, flow.Address(addr))
	}
	return f, nil
}

func onlyRunes(s string, underscore bool) bool {
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || underscore && r == '_'
		if !ok {
			return false
		}
	}
	return true
}

// parseCoordinator checks one host:port[:tls] and returns host:port.
func parseCoordinator(a string) (string, error) {
	a = strings.TrimSuffix(a, ":tls")
	var host, port string
	if strings.HasPrefix(a, "[") {
		end := strings.Index(a, "]:")
		if end < 0 {
			return "", fmt.Errorf("coordinator %q: want [ipv6]:port", a)
		}
		host, port = a[1:end], a[end+2:]
		if _, err := netip.ParseAddr(host); err != nil {
			return "", fmt.Errorf("coordinator %q: %w", a, err)
		}
		host = "[" + host + "]"
	} else {
		var ok bool
		host, port, ok = strings.Cut(a, ":")
		if !ok || host == "" || strings.Contains(port, ":") {
			return "", fmt.Errorf("coordinator %q: want host:port", a)
		}
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("coordinator %q: port %q not in 1..65535", a, port)
	}
	return host + ":" + port, nil
}
