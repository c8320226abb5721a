package apply

import (
	"context"

	"golang.org/x/sync/errgroup"

	"github.com/strata-db/strata/db/monitor"
)

// MonitorStatus is whether the host's monitor runs and its state file, in
// the shape `strata monitor status --json` prints.
type MonitorStatus struct {
	Running bool `json:"running"`
	monitor.State
}

func errgroupWithLimit(ctx context.Context, n int) (*errgroup.Group, context.Context) {
	g, ctx := errgroup.WithContext(ctx)
	if n <= 0 {
		n = 8
	}
	g.SetLimit(n)
	return g, ctx
}

// digestCachePath is where the release's cached digest lives.
func digestCachePath(release string) string { return release + ".sha256" }

// statKeyCommand prints the cache key of a file: size, mtime, inode.
func statKeyCommand(path string) string { return "stat -c '%s %Y %i' -- " + shQuote(path) }

// shQuote quotes s for /bin/sh.
func shQuote(s string) string {
	out := []byte{'\''}
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			out = append(out, `'\''`...)
		} else {
			out = append(out, s[i])
		}
	}
	return string(append(out, '\''))
}
