package testserver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Cluster is n `strata server` processes sharing one cluster file that
// names every one of them as a coordinator. The first hosts the database.
type Cluster struct {
	ClusterFile string
	Servers     []*Server
}

// StartCluster runs n servers from binary on free ports; they are killed
// when the test ends.
func StartCluster(t testing.TB, binary string, n int) *Cluster {
	t.Helper()
	c := &Cluster{ClusterFile: filepath.Join(t.TempDir(), "strata.cluster")}
	var addrs []string
	for range n {
		s := &Server{Binary: binary, Dir: t.TempDir(), Address: FreeAddress(t), ClusterFile: c.ClusterFile, t: t}
		c.Servers = append(c.Servers, s)
		addrs = append(addrs, s.Address)
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
