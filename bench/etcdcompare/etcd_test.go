package etcdcompare

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/strata-db/strata/test/testserver"
)

// etcdCluster is three etcd members on loopback.
type etcdCluster struct {
	clientURLs []string
	http       *http.Client
}

// startEtcd runs three members of a new etcd cluster with their data in
// the test's temporary directory; they are killed when the benchmark ends.
func startEtcd(b *testing.B, binary string) *etcdCluster {
	b.Helper()
	const n = 3
	var peers, clients, initial []string
	for i := range n {
		peers = append(peers, "http://"+testserver.FreeAddress(b))
		clients = append(clients, "http://"+testserver.FreeAddress(b))
		initial = append(initial, fmt.Sprintf("m%d=%s", i, peers[i]))
	}
	for i := range n {
		dir := b.TempDir()
		out, err := os.Create(filepath.Join(dir, "etcd.log"))
		if err != nil {
			b.Fatal(err)
		}
		cmd := exec.Command(binary, "--name", fmt.Sprintf("m%d", i), "--data-dir", filepath.Join(dir, "data"),
			"--listen-client-urls", clients[i], "--advertise-client-urls", clients[i],
			"--listen-peer-urls", peers[i], "--initial-advertise-peer-urls", peers[i],
			"--initial-cluster", strings.Join(initial, ","), "--initial-cluster-state", "new",
			"--initial-cluster-token", "strata-bench")
		cmd.Stdout, cmd.Stderr = out, out
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			b.Fatalf("starting etcd: %v", err)
		}
		b.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			out.Close()
		})
	}
	e := &etcdCluster{clientURLs: clients, http: &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 1024, MaxConnsPerHost: 1024},
	}}
	e.waitReady(b)
	return e
}

// waitReady waits until a put succeeds on every member.
func (e *etcdCluster) waitReady(b *testing.B) {
	b.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for i := range e.clientURLs {
		for {
			err := e.put(context.Background(), i, []byte("ready"), []byte("1"))
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("etcd member %s not ready: %v", e.clientURLs[i], err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// put writes key through member i's JSON gateway (POST /v3/kv/put).
func (e *etcdCluster) put(ctx context.Context, member int, key, value []byte) error {
	body, err := json.Marshal(map[string]string{
		"key": base64.StdEncoding.EncodeToString(key), "value": base64.StdEncoding.EncodeToString(value),
	})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.clientURLs[member]+"/v3/kv/put", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.http.Do(req)
	if err != nil {
		return fmt.Errorf("etcd put: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("etcd put: %s: %s", resp.Status, msg)
	}
	return nil
}
