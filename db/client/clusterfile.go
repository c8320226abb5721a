package client

import (
	"fmt"
	"os"
	"strings"

	"github.com/strata-db/strata/db/clusterfile"
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

// ParseClusterFile parses a cluster file's text with FoundationDB's rules
// (db/clusterfile): comments, whitespace, description and ID characters,
// IPv4, bracketed IPv6 and hostnames, no duplicates.
func ParseClusterFile(text string) (ClusterFile, error) {
	cf, err := clusterfile.Parse(text)
	if err != nil {
		return ClusterFile{}, err
	}
	f := ClusterFile{Description: cf.Description, ID: cf.ID}
	for _, c := range cf.Coordinators {
		f.Coordinators = append(f.Coordinators, flow.Address(c.String()))
	}
	return f, nil
}
