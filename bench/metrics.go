package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// serverMetrics are the values of a server's /metrics page (Prometheus
// text), by metric name; quantile lines are left out.
type serverMetrics map[string]float64

// scrapeMetrics fetches and parses url.
func scrapeMetrics(ctx context.Context, url string) (serverMetrics, error) {
	body, err := fetch(ctx, url, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("server metrics: %w", err)
	}
	m := serverMetrics{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.Contains(line, "{") {
			continue
		}
		name, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if v, err := strconv.ParseFloat(value, 64); err == nil {
			m[name] = v
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading server metrics: %w", err)
	}
	return m, nil
}

// fetch GETs url from a server's HTTP port, within timeout, and returns the
// body of an OK answer.
func fetch(ctx context.Context, url string, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching %s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	return body, nil
}

// ServerLatency is a server-side latency histogram's activity over a phase.
type ServerLatency struct {
	Count uint64        `json:"count"`
	Mean  time.Duration `json:"mean_ns"`
}

// latencyDeltas turns two scrapes of prefix_<name>_seconds_{sum,count}
// summaries into each histogram's count and mean between them.
func latencyDeltas(before, after serverMetrics, prefix string) map[string]ServerLatency {
	out := map[string]ServerLatency{}
	for name, sum := range after {
		base, ok := strings.CutSuffix(name, "_seconds_sum")
		if !ok {
			continue
		}
		count := after[base+"_seconds_count"] - before[base+"_seconds_count"]
		if count <= 0 {
			continue
		}
		mean := (sum - before[name]) / count
		out[strings.TrimPrefix(base, prefix+"_")] = ServerLatency{Count: uint64(count), Mean: time.Duration(mean * float64(time.Second))}
	}
	return out
}
