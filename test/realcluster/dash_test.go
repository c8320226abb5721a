package realcluster

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/strata-db/strata/test/testserver"
)

// tmuxPane runs a command in a detached tmux session and reads its screen.
type tmuxPane struct {
	t       *testing.T
	session string
}

func startPane(t *testing.T, command string) *tmuxPane {
	t.Helper()
	p := &tmuxPane{t: t, session: fmt.Sprintf("strata-dash-test-%d", os.Getpid())}
	if out, err := exec.Command("tmux", "new-session", "-d", "-s", p.session, "-x", "120", "-y", "36", command).CombinedOutput(); err != nil {
		t.Fatalf("starting tmux: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("tmux", "kill-session", "-t", p.session).Run() })
	return p
}

func (p *tmuxPane) screen() string {
	out, err := exec.Command("tmux", "capture-pane", "-t", p.session, "-p").Output()
	if err != nil {
		p.t.Fatalf("capture-pane: %v", err)
	}
	return string(out)
}

// waitFor polls the screen until ok holds or limit passes, and returns how
// long it took.
func (p *tmuxPane) waitFor(limit time.Duration, what string, ok func(string) bool) time.Duration {
	p.t.Helper()
	start := time.Now()
	for {
		s := p.screen()
		if ok(s) {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			p.t.Fatalf("the dashboard did not show %s within %v; screen:\n%s", what, limit, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// processesLine is the Overview's "Processes" line.
func processesLine(screen string) string {
	for _, l := range strings.Split(screen, "\n") {
		if strings.HasPrefix(l, "Processes ") {
			return l
		}
	}
	return ""
}

// TestDashShowsAKilledProcessDownAndBackUp runs `strata dash` under tmux
// against two server processes supervised by `strata monitor`: the pane
// shows the cluster healthy, shows a killed process down within 3 s, and
// healthy again once the monitor restarts it.
func TestDashShowsAKilledProcessDownAndBackUp(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a monitor, two servers and the dashboard under tmux")
	}
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (apt-get install tmux)")
	}
	bin := testserver.Binary(t)
	dir := t.TempDir()
	a, b := testserver.FreeAddress(t), testserver.FreeAddress(t)
	_, portA, _ := strings.Cut(a, ":")
	_, portB, _ := strings.Cut(b, ":")
	clusterFile := filepath.Join(dir, "strata.cluster")
	if err := os.WriteFile(clusterFile, []byte("test:dash@"+a+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The monitor waits 5 s before restarting a crashed process, so "down"
	// lasts long enough to be seen. The first process (the database host and
	// coordinator) is stateless so that it wins the controller election; the
	// victim is the other one.
	conf := fmt.Sprintf(`[monitor]
restart-delay = 5
initial-restart-delay = 5
state-file = %[1]s/monitor.json
output-dir = %[1]s/log

[server]
command = %[2]s server
cluster-file = %[3]s
public-address = 127.0.0.1:$ID
datadir = %[1]s/data/$ID
logdir = %[1]s/log

[server.%[4]s]
class = stateless

[server.%[5]s]
class = storage
`, dir, bin, clusterFile, portA, portB)
	confPath := filepath.Join(dir, "strata.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	monitor := exec.Command(bin, "monitor", "--conffile", confPath)
	monitor.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := monitor.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = monitor.Process.Signal(syscall.SIGTERM)
		_ = monitor.Wait()
	})

	pane := startPane(t, bin+" dash -C "+clusterFile)
	pane.waitFor(60*time.Second, "two healthy processes", func(s string) bool {
		return strings.Contains(s, "✔ healthy") && strings.Contains(processesLine(s), "✔ 2 on")
	})

	victim := childPID(t, bin, confPath, portB)
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	took := pane.waitFor(10*time.Second, "the killed process down", func(s string) bool {
		return strings.Contains(processesLine(s), "1 down")
	})
	if took > 3*time.Second {
		t.Errorf("the dashboard showed the killed process down after %v, want within 3s", took)
	}
	t.Logf("the killed process showed as down after %v", took)
	pane.waitFor(30*time.Second, "the cluster healthy again after the monitor restarted the process", func(s string) bool {
		line := processesLine(s)
		return strings.Contains(line, "✔ 2 on") && !strings.Contains(line, "down")
	})
}

// childPID asks the monitor for the pid of its child id.
func childPID(t *testing.T, bin, confPath, id string) int {
	t.Helper()
	out, err := exec.Command(bin, "monitor", "status", "--json", "--conffile", confPath).Output()
	if err != nil {
		t.Fatalf("monitor status: %v", err)
	}
	var st struct {
		Processes []struct {
			ID  string `json:"id"`
			PID int    `json:"pid"`
		} `json:"processes"`
	}
	if err := json.Unmarshal(out, &st); err != nil {
		t.Fatal(err)
	}
	for _, p := range st.Processes {
		if p.ID == id && p.PID > 0 {
			return p.PID
		}
	}
	t.Fatalf("the monitor runs no process %s: %s", id, out)
	return 0
}
