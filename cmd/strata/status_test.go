package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-db/strata/db/status"
)

func TestStatusOfAnUnreachableClusterExitsTwo(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	cf := filepath.Join(t.TempDir(), "strata.cluster")
	if err := os.WriteFile(cf, []byte("test:abc@"+addr+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runStrata(t, "status", "--json", "-C", cf, "--timeout", "300ms")
	if err == nil || exitCode(err) != exitClusterUnreachable {
		t.Fatalf("status of an unreachable cluster: error %v (exit %d), want exit %d\n%s", err, exitCode(err), exitClusterUnreachable, out)
	}
}

func TestStatusSummaryNamesUnreachableProcesses(t *testing.T) {
	data, err := os.ReadFile("../../db/status/testdata/dead_zone.json")
	if err != nil {
		t.Fatal(err)
	}
	st, err := status.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	status.WriteSummary(&b, "strata.cluster", st)
	out := b.String()
	for _, want := range []string{"Redundancy mode", "Unreachable processes    - 4 (10.0.1.13:4500, 10.0.1.13:4501, 10.0.1.13:4502, 10.0.1.13:4503)", "10.0.1.13:4500", "UNREACHABLE", "Replication health", "Coordination servers:"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}
