package testhost_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/strata-db/strata/test/e2e/testhost"
)

// A systemd host runs systemd as PID 1 of its own PID namespace, which
// runs sshd; the harness's key logs in with host key verification, and
// the host's PrivateDirs are seen from outside as on the other hosts.
func TestSystemdHostBootsAndServesSSH(t *testing.T) {
	if err := testhost.SystemdRequirements(); err != nil {
		t.Skipf("skipping: %v", err)
	}
	ctx := context.Background()
	c, err := testhost.Create(ctx, 2, testhost.Options{Systemd: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sd, plain := c.Hosts[0], c.Hosts[1]
	if !sd.Systemd || plain.Systemd {
		t.Fatalf("hosts' Systemd = %v, %v; want true, false", sd.Systemd, plain.Systemd)
	}
	if out, err := c.Exec(ctx, sd, "cat", "/proc/1/comm"); err != nil || strings.TrimSpace(string(out)) != "systemd" {
		t.Fatalf("PID 1 of the systemd host: %q, %v", out, err)
	}
	// As sd_booted(3) and the deployer's preflight decide it.
	if _, err := c.Exec(ctx, sd, "test", "-d", "/run/systemd/system"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, plain, "test", "!", "-d", "/run/systemd/system"); err != nil {
		t.Fatal(err)
	}
	out := sshRun(t, c, sd, "systemctl is-active ssh.service; touch /etc/strata/marker")
	if strings.TrimSpace(out) != "active" {
		t.Errorf("sshd's unit: %q, want active", out)
	}
	if _, err := os.Stat(sd.Path("/etc/strata/marker")); err != nil {
		t.Errorf("a file the systemd host wrote is not seen from outside: %v", err)
	}
	// The unprivileged user becomes root through sudo without a password.
	if out := sshRunAs(t, c, sd, "deploy", "id -un; sudo -n id -un"); out != "deploy\nroot\n" {
		t.Errorf("deploy and sudo: %q, want \"deploy\\nroot\\n\"", out)
	}
}

// sshRun runs cmd on h over SSH as root, checking h's key.
func sshRun(t *testing.T, c *testhost.Cluster, h *testhost.Host, cmd string) string {
	t.Helper()
	return sshRunAs(t, c, h, "root", cmd)
}

func sshRunAs(t *testing.T, c *testhost.Cluster, h *testhost.Host, user, cmd string) string {
	t.Helper()
	cfg := &ssh.ClientConfig{
		User:            user,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(c.ClientSigner)},
		HostKeyCallback: ssh.FixedHostKey(h.HostKey),
	}
	client, err := ssh.Dial("tcp", h.SSHAddress(), cfg)
	if err != nil {
		t.Fatalf("ssh to %s: %v", h.Name, err)
	}
	defer client.Close()
	s, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	b, err := s.CombinedOutput(cmd)
	if err != nil {
		t.Fatalf("%s: %s: %v: %s", h.Name, cmd, err, b)
	}
	return string(b)
}
