package client

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/strata-db/strata/db/flow"
)

func TestParseClusterFile(t *testing.T) {
	got, err := ParseClusterFile("# the test cluster\n  test_db : abc123 @ 10.0.0.1:4500,\n 10.0.0.2:4500 , [::1]:4501 # local\n")
	if err != nil {
		t.Fatal(err)
	}
	want := ClusterFile{Description: "test_db", ID: "abc123",
		Coordinators: []flow.Address{"10.0.0.1:4500", "10.0.0.2:4500", "[::1]:4501"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got.String() != "test_db:abc123@10.0.0.1:4500,10.0.0.2:4500,[::1]:4501" {
		t.Errorf("String() = %s", got)
	}
	for _, bad := range []string{
		"", "db:id", "db@1.2.3.4:1", "d-b:id@1.2.3.4:1", "db:i_d@1.2.3.4:1", "db:a:b@1.2.3.4:1",
		"db:id@1.2.3.4", "db:id@1.2.3.4:0", "db:id@1.2.3.4:99999", "db:id@1.2.3.4:1,1.2.3.4:1", "db:id@[zz]:1",
		"db:id@", ":id@1.2.3.4:1", "db:id@1.2.3.4:1:tls",
	} {
		if _, err := ParseClusterFile(bad); err == nil {
			t.Errorf("ParseClusterFile(%q) accepted", bad)
		}
	}
}
