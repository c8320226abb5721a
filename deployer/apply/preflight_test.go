package apply

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-db/strata/deployer/plan"
)

// scriptedHost answers every command with fixed output, or fails to connect.
type scriptedHost struct {
	name string
	out  string
	err  error
}

func (h scriptedHost) Name() string { return h.name }
func (h scriptedHost) Exec(context.Context, string, bool) ([]byte, error) {
	return []byte(h.out), h.err
}
func (h scriptedHost) Stream(context.Context, string, bool, io.Reader, io.Writer) error {
	return errors.New("not used")
}

func facts(clock time.Time, uname, missing string, freeKB int64) string {
	out := fmt.Sprintf("clock %d %s\n", clock.Unix(), uname)
	if missing != "" {
		out += "missing " + missing + "\n"
	}
	return out + fmt.Sprintf("df\nFilesystem 1024-blocks Used Available Capacity Mounted on\n/dev/vda 100000000 5000 %d 5%% /\n", freeKB)
}

func TestPreflightNamesEachHostAndCheck(t *testing.T) {
	now := time.Now()
	d := &plan.Desired{}
	for _, n := range []string{"good", "arm", "bare", "full", "skewed", "down", "busy"} {
		d.Hosts = append(d.Hosts, plan.DesiredHost{Name: n, MonitorState: "/var/lib/strata/monitor.json"})
	}
	hosts := map[string]Host{
		"good":   scriptedHost{name: "good", out: facts(now, "Linux x86_64", "", 50<<20)},
		"arm":    scriptedHost{name: "arm", out: facts(now, "Linux aarch64", "", 50<<20)},
		"bare":   scriptedHost{name: "bare", out: facts(now, "Linux x86_64", "setsid", 50<<20)},
		"full":   scriptedHost{name: "full", out: facts(now, "Linux x86_64", "", 1024)},
		"skewed": scriptedHost{name: "skewed", out: facts(now.Add(-2*time.Minute), "Linux x86_64", "", 50<<20)},
		"down":   scriptedHost{name: "down", err: errors.New("dial tcp 10.0.0.9:22: connect: connection refused")},
		"busy":   scriptedHost{name: "busy", out: facts(now, "Linux x86_64", "", 50<<20) + "busy 1194 00000000:0000 0A\nbusy 1194 00000000:0000 0A\n"},
	}
	req := Requirements{Arch: "x86_64", MinFreeBytes: 1 << 30, Commands: DefaultCommands(), MaxClockSkew: 30 * time.Second}
	got, err := Preflight(context.Background(), d, hosts, req, 4)
	var pe *PreflightError
	if !errors.As(err, &pe) {
		t.Fatalf("Preflight = %v, want a *PreflightError", err)
	}
	var checks []string
	for _, f := range pe.Failures {
		checks = append(checks, f.Host+" "+f.Check)
	}
	want := []string{"arm os/arch", "bare commands", "busy ports", "down reachable", "full disk", "skewed clock"}
	if diff := cmp.Diff(want, checks); diff != "" {
		t.Fatalf("failed checks (-want +got):\n%s\n%v", diff, err)
	}
	for _, s := range []string{"aarch64", "setsid is not installed", "connection refused", "1.0 MiB free", "2m0s off", "port 4500 is already in use"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("preflight error lacks %q:\n%v", s, err)
		}
	}
	if g := got["good"]; g.OS != "linux" || g.Arch != "x86_64" || g.FreeBytes != 50<<30 {
		t.Errorf("facts of the good host: %+v", g)
	}
}

func TestBinaryArchOfThisTestBinary(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	arch, err := BinaryArch(exe)
	if err != nil {
		t.Fatal(err)
	}
	if arch != "x86_64" && arch != "aarch64" {
		t.Fatalf("BinaryArch = %q", arch)
	}
	if _, err := BinaryArch("/etc/hostname"); err == nil {
		t.Fatal("BinaryArch accepted a file that is not ELF")
	}
}
