package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// profile fetches the server's CPU profile over ph's measured window into
// r.o.ProfileDir/name.pprof, and a one-second execution trace from the
// window's middle into name.trace. The channel reports the first failure.
func (r *runner) profile(ctx context.Context, name string, ph Phase) <-chan error {
	base := strings.TrimSuffix(r.metricsURL, "/metrics") + "/debug/pprof/"
	seconds := max(1, int(ph.Duration/time.Second))
	done := make(chan error, 1)
	go func() {
		cpu := make(chan error, 1)
		go func() {
			cpu <- fetchAfter(ctx, ph.Warmup, fmt.Sprintf("%sprofile?seconds=%d", base, seconds),
				filepath.Join(r.o.ProfileDir, name+".pprof"))
		}()
		terr := fetchAfter(ctx, ph.Warmup+ph.Duration/2, base+"trace?seconds=1",
			filepath.Join(r.o.ProfileDir, name+".trace"))
		if err := <-cpu; err != nil {
			done <- err
			return
		}
		done <- terr
	}()
	return done
}

// fetchAfter waits d, then saves url's body to path.
func fetchAfter(ctx context.Context, d time.Duration, url, path string) error {
	select {
	case <-time.After(d):
	case <-ctx.Done():
		return ctx.Err()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("fetching %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetching %s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("saving %s: %w", path, err)
	}
	return f.Close()
}
