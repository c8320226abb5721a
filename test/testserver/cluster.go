package testserver

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Cluster is `strata server` processes sharing one cluster file. The first
// Coordinators of them are named in it as coordinators; the first hosts the
// database until the elected cluster controller recruits its roles.
type Cluster struct {
	Binary      string
	ClusterFile string
	Servers     []*Server
}

// ClusterOpts shapes a cluster.
type ClusterOpts struct {
	// N is the number of server processes.
	N int
	// Zones puts each process in a zone of its own (--locality-zone z<i>),
	// so that every process is a distinct fault domain, as replication
	// across zones needs on one machine.
	Zones bool
	// Coordinators is how many processes, from the first, the cluster file
	// names (0: all of them).
	Coordinators int
	// Engine is the --storage-engine of every process ("": the server's
	// default).
	Engine string
}

// StartCluster runs n servers from binary on free ports, all of them
// coordinators, in no zone; they are killed when the test ends.
func StartCluster(t testing.TB, binary string, n int) *Cluster {
	t.Helper()
	return StartClusterOpts(t, binary, ClusterOpts{N: n})
}

// StartClusterOpts runs the cluster o describes from binary on free ports;
// its processes are killed when the test ends.
func StartClusterOpts(t testing.TB, binary string, o ClusterOpts) *Cluster {
	t.Helper()
	if o.N <= 0 || o.Coordinators < 0 || o.Coordinators > o.N {
		t.Fatalf("testserver: %d processes with %d coordinators", o.N, o.Coordinators)
	}
	coords := o.Coordinators
	if coords == 0 {
		coords = o.N
	}
	c := &Cluster{Binary: binary, ClusterFile: filepath.Join(t.TempDir(), "strata.cluster")}
	var addrs []string
	for i := range o.N {
		s := &Server{Binary: binary, Dir: t.TempDir(), Address: FreeAddress(t), ClusterFile: c.ClusterFile, Engine: o.Engine, t: t}
		if o.Zones {
			s.Zone = fmt.Sprintf("z%d", i)
		}
		c.Servers = append(c.Servers, s)
		if i < coords {
			addrs = append(addrs, s.Address)
		}
	}
	if err := os.WriteFile(c.ClusterFile, []byte("test:"+filepath.Base(c.Servers[0].Dir)+"@"+strings.Join(addrs, ",")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, s := range c.Servers {
		t.Cleanup(s.Kill)
		s.Restart()
	}
	return c
}

// Server returns the cluster's server at address, or nil.
func (c *Cluster) Server(address string) *Server {
	for _, s := range c.Servers {
		if s.Address == address {
			return s
		}
	}
	return nil
}
