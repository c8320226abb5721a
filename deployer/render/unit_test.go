package render

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMonitorUnit(t *testing.T) {
	got := string(MonitorUnit(MonitorUnitSpec{
		Cluster: "prod",
		Release: "/opt/strata/releases/7.3.1/strata",
		Conf:    "/etc/strata/strata.conf",
		Log:     "/var/lib/strata/monitor.log",
	}))
	want := `# strata monitor of cluster prod. Written by ` + "`strata apply`" + `; edits here are overwritten.
[Unit]
Description=strata monitor (/etc/strata/strata.conf)
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
ExecStart=/opt/strata/releases/7.3.1/strata monitor --conffile /etc/strata/strata.conf --lockfile /etc/strata/strata.conf.lock
WorkingDirectory=/
StandardOutput=append:/var/lib/strata/monitor.log
StandardError=inherit
Restart=always
RestartSec=5
KillMode=mixed
TimeoutStopSec=90
LimitNOFILE=1048576

[Install]
WantedBy=multi-user.target
`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("unit (-want +got):\n%s", diff)
	}
}

// Paths systemd would read as specifiers, variables or word breaks are
// quoted, so ExecStart runs exactly the described binary on its conf.
func TestMonitorUnitQuotesOddPaths(t *testing.T) {
	got := string(MonitorUnit(MonitorUnitSpec{Cluster: "c", Release: "/opt/my strata/100%/strata", Conf: "/etc/$x/strata.conf", Log: "/l"}))
	want := `ExecStart="/opt/my strata/100%%/strata" monitor --conffile "/etc/$$x/strata.conf" --lockfile "/etc/$$x/strata.conf.lock"`
	if !strings.Contains(got, want+"\n") {
		t.Fatalf("unit lacks %q:\n%s", want, got)
	}
}

func TestMonitorUnitName(t *testing.T) {
	for conf, want := range map[string]string{
		"/etc/strata/strata.conf":       "strata-monitor-etc-strata-strata.conf.service",
		"/srv/db-2/etc/strata.conf":     `strata-monitor-srv-db\x2d2-etc-strata.conf.service`,
		"/tmp/x y/.hidden/strata.conf/": `strata-monitor-tmp-x\x20y-.hidden-strata.conf.service`,
		"relative/strata.conf":          "strata-monitor-relative-strata.conf.service",
		"/.dot":                         `strata-monitor-\x2edot.service`,
	} {
		if got := MonitorUnitName(conf); got != want {
			t.Errorf("MonitorUnitName(%q) = %q, want %q", conf, got, want)
		}
	}
	if got := MonitorUnitPath("/etc/strata/strata.conf"); got != "/etc/systemd/system/strata-monitor-etc-strata-strata.conf.service" {
		t.Errorf("MonitorUnitPath = %q", got)
	}
}
