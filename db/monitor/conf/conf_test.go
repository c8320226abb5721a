package conf

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
	"github.com/google/go-cmp/cmp"
)

// TestParse runs the data-driven cases in testdata/. Each case is
//
//	parse [pid=N]
//	<configuration file>
//	----
//	<processes, or the error>
func TestParse(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			if d.Cmd != "parse" {
				d.Fatalf(t, "unknown command %q", d.Cmd)
			}
			pid := 1234
			if d.HasArg("pid") {
				d.ScanArgs(t, "pid", &pid)
			}
			cfg, err := Parse("test.conf", []byte(d.Input), pid)
			if err != nil {
				return "error: " + err.Error() + "\n"
			}
			return render(cfg)
		})
	})
}

func render(cfg *Config) string {
	var b strings.Builder
	m := cfg.Monitor
	fmt.Fprintf(&b, "monitor: state-file=%s output-dir=%s output-max-size=%s output-keep=%d stop-grace-period=%s\n",
		m.StateFile, m.OutputDir, FormatSize(m.OutputMaxSize), m.OutputKeep, m.GracePeriod)
	for _, p := range cfg.Processes {
		fmt.Fprintf(&b, "[server.%s] (line %d)\n", p.ID, p.Line)
		for _, a := range p.Argv {
			fmt.Fprintf(&b, "  argv %s\n", a)
		}
		for _, e := range p.Env {
			fmt.Fprintf(&b, "  env %s\n", e)
		}
		for _, e := range p.DeleteEnv {
			fmt.Fprintf(&b, "  delete-env %s\n", e)
		}
		r := p.Restart
		fmt.Fprintf(&b, "  restart delay=%s initial=%s backoff=%s reset=%s\n",
			r.Delay, r.Initial, strconv.FormatFloat(r.Backoff, 'g', -1, 64), r.ResetInterval)
		fmt.Fprintf(&b, "  memory=%s kill-on-configuration-change=%t\n", FormatSize(p.Memory), p.KillOnConfigChange)
	}
	return b.String()
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"8GiB", 8 << 30}, {"100MiB", 100 << 20}, {"100MB", 100e6}, {"1KB", 1000}, {"1kib", 1024},
		{"4096", 4096}, {"10B", 10}, {"1.5GiB", 3 << 29}, {"2TB", 2e12}, {" 1 MiB ", 1 << 20},
	} {
		got, err := ParseSize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "GiB", "-1MB", "1XB", "lots", "1e30TiB", "NaN"} {
		if got, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", bad, got)
		}
	}
}

func TestDigestAndSameLaunch(t *testing.T) {
	a := Process{Argv: []string{"x", "--a=1"}, Env: []string{"A=B"}}
	b := a
	b.Restart.Delay = 5 // restart settings alone do not change the launch
	if !a.SameLaunch(b) || a.Digest() != b.Digest() {
		t.Errorf("restart settings changed the launch identity")
	}
	for _, c := range []Process{
		{Argv: []string{"x", "--a=2"}, Env: a.Env},
		{Argv: a.Argv, Env: []string{"A=C"}},
		{Argv: a.Argv, Env: a.Env, DeleteEnv: []string{"HOME"}},
		{Argv: []string{"x", "--a=1A=B"}}, // the same bytes split differently
	} {
		if a.SameLaunch(c) || a.Digest() == c.Digest() {
			t.Errorf("launch %+v not told apart from %+v", c, a)
		}
	}
	if diff := cmp.Diff(16, len(a.Digest())); diff != "" {
		t.Errorf("digest length (-want +got):\n%s", diff)
	}
}
