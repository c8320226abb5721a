package conf

import (
	"strings"
	"testing"
)

func TestParseMonitorIgnoresOtherSections(t *testing.T) {
	data := "[server]\ngarbage line\n[monitor]\nstate-file = /s.json\n[server.1]\n"
	m, err := ParseMonitor("x.conf", []byte(data))
	if err != nil || m.StateFile != "/s.json" {
		t.Errorf("ParseMonitor = %+v, %v; want state-file /s.json despite the bad [server] line", m, err)
	}
	_, err = ParseMonitor("x.conf", []byte("[general]\n[monitor]\n\nstate-file =\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "x.conf:4: ") {
		t.Errorf("ParseMonitor error = %v; want one at x.conf:4", err)
	}
}
