package remote_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/strata-db/strata/deployer/remote"
)

// A key the hosts do not list logs in with a certificate from their CA,
// found beside the key as KEY-cert.pub.
func TestUserCertificate(t *testing.T) {
	c := needHosts(t)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "id_cert")
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	sh := specHost(c, c.Hosts[0], c.KnownHosts)
	sh.SSH.PrivateKeyFiles = []string{keyFile}

	if _, err := newPool(t, remote.Options{}).Connect(context.Background(), sh); err == nil ||
		!strings.Contains(err.Error(), "authentication") {
		t.Fatalf("Connect with an unlisted key and no certificate = %v; want an authentication failure", err)
	}

	cert := &ssh.Certificate{
		Key:             signer.PublicKey(),
		CertType:        ssh.UserCert,
		KeyId:           "test",
		ValidPrincipals: []string{"root"},
		ValidAfter:      uint64(time.Now().Add(-time.Minute).Unix()),
		ValidBefore:     uint64(time.Now().Add(time.Hour).Unix()),
	}
	if err := cert.SignCert(rand.Reader, c.UserCA); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile+"-cert.pub", ssh.MarshalAuthorizedKey(cert), 0o644); err != nil {
		t.Fatal(err)
	}
	host := connect(t, newPool(t, remote.Options{}), sh)
	if _, err := host.Run(context.Background(), "true", remote.RunOpts{}); err != nil {
		t.Fatal(err)
	}
}

// The agent at SSH_AUTH_SOCK is used when ssh.agent is set.
func TestAgent(t *testing.T) {
	c := needHosts(t)
	raw, err := os.ReadFile(c.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ssh.ParseRawPrivateKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: key}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				agent.ServeAgent(keyring, conn)
				conn.Close()
			}()
		}
	}()
	env := func(k string) string {
		if k == "SSH_AUTH_SOCK" {
			return sock
		}
		return ""
	}
	sh := specHost(c, c.Hosts[1], c.KnownHosts)
	sh.SSH.PrivateKeyFiles = nil
	sh.SSH.Agent = true
	host := connect(t, newPool(t, remote.Options{Getenv: env}), sh)
	if _, err := host.Run(context.Background(), "true", remote.RunOpts{}); err != nil {
		t.Fatal(err)
	}
}

// A peer that stops answering (here: its sshd process is stopped) is
// detected by keepalives, and the next command gets a new connection
// instead of hanging.
func TestKeepaliveReplacesHungConnection(t *testing.T) {
	c := needHosts(t)
	host := connect(t, newPool(t, remote.Options{KeepaliveInterval: 100 * time.Millisecond}),
		specHost(c, c.Hosts[2], c.KnownHosts))
	ctx := context.Background()
	res, err := host.Run(ctx, "echo $PPID", remote.RunOpts{})
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(res.Stdout)))
	if err != nil {
		t.Fatal(err)
	}
	// The test hosts share this machine's PID namespace.
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL); syscall.Kill(pid, syscall.SIGCONT) })

	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	time.Sleep(500 * time.Millisecond) // several unanswered keepalives
	res, err = host.Run(ctx, "echo $PPID", remote.RunOpts{})
	if err != nil {
		t.Fatalf("Run after the peer hung = %v; want a new connection", err)
	}
	if strings.TrimSpace(string(res.Stdout)) == strconv.Itoa(pid) {
		t.Errorf("the command ran on the hung connection")
	}
}

// Concurrent dials that meet the same unknown key pin it once.
func TestAcceptNewPinsOnce(t *testing.T) {
	c := needHosts(t)
	h := c.Hosts[0]
	known := filepath.Join(t.TempDir(), "known_hosts")
	p := newPool(t, remote.Options{AcceptNewHostKeys: true})
	errs := make(chan error, 4)
	for i := range 4 {
		sh := specHost(c, h, known)
		sh.Name = "alias" + strconv.Itoa(i) // separate hosts, one address
		go func() {
			_, err := p.Connect(context.Background(), sh)
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(known)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(string(data), "\n"); lines != 1 {
		t.Errorf("known_hosts has %d lines after 4 concurrent pins of one key, want 1:\n%s", lines, data)
	}
}
