package apply_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-db/strata/deployer/apply"
)

// A release resource remembers every release installed on its host before
// the current one, so destroy removes them all.
func TestPreviousReleases(t *testing.T) {
	for _, tc := range []struct {
		name    string
		attrs   map[string]string
		current string
		want    []string
	}{
		{"first install", map[string]string{}, "/r/v1/strata", []string{}},
		{"same release again", map[string]string{"path": "/r/v1/strata"}, "/r/v1/strata", []string{}},
		{"an upgrade", map[string]string{"path": "/r/v1/strata"}, "/r/v2/strata", []string{"/r/v1/strata"}},
		{"a second upgrade", map[string]string{"path": "/r/v2/strata", "previous": "/r/v1/strata"}, "/r/v3/strata",
			[]string{"/r/v1/strata", "/r/v2/strata"}},
		{"a rollback", map[string]string{"path": "/r/v2/strata", "previous": "/r/v1/strata"}, "/r/v1/strata",
			[]string{"/r/v2/strata"}},
		{"relative paths are ignored", map[string]string{"path": "v1/strata"}, "/r/v2/strata", []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := apply.PreviousReleases(tc.attrs, tc.current)
			if got == nil {
				got = []string{}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("PreviousReleases (-want +got):\n%s", diff)
			}
		})
	}
}
