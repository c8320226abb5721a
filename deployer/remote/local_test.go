package remote_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-db/strata/deployer/remote"
)

func TestLocalRun(t *testing.T) {
	l := remote.NewLocal("dev")
	var live bytes.Buffer
	res, err := l.Run(context.Background(), "cat; echo warn >&2", remote.RunOpts{Stdin: strings.NewReader("in\n"), Stdout: &live})
	if err != nil {
		t.Fatal(err)
	}
	want := remote.Result{Stdout: []byte("in\n"), Stderr: []byte("warn\n")}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("Result (-want +got):\n%s", diff)
	}
	if live.String() != "in\n" {
		t.Errorf("live stdout = %q, want %q", live.String(), "in\n")
	}
	_, err = l.Run(context.Background(), "echo nope >&2; exit 7", remote.RunOpts{})
	if !remote.IsExit(err, 7) || !strings.Contains(err.Error(), "dev") || !strings.Contains(err.Error(), "nope") {
		t.Errorf("Run = %v; want exit 7 naming the host and stderr", err)
	}
}

// Cancelling kills the whole command, children included, promptly.
func TestLocalRunCancelKillsChildren(t *testing.T) {
	l := remote.NewLocal("dev")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := l.Run(ctx, "sleep 30 & sleep 30; wait", remote.RunOpts{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Run = %v; want the deadline", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Run returned after %v; the children held it", d)
	}
}

func TestLocalFiles(t *testing.T) {
	l := remote.NewLocal("dev")
	ctx := context.Background()
	dir := t.TempDir()
	dst := filepath.Join(dir, "releases", "1.0", "strata")
	data, sum := randomBytes(t, 100<<10)

	if err := l.Upload(ctx, bytes.NewReader(data), int64(len(data)), dst, 0o750, sum); err != nil {
		t.Fatal(err)
	}
	info, err := l.Stat(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != int64(len(data)) || info.Mode != 0o750 || info.IsDir() {
		t.Errorf("Stat = %+v; want size %d, mode 0750", info, len(data))
	}
	if got, err := l.Digest(ctx, dst); err != nil || got != sum {
		t.Errorf("Digest = %s, %v; want %s", got, err, sum)
	}
	if err := l.Upload(ctx, failingReader{}, int64(len(data)), dst, 0o755, sum); err != nil {
		t.Errorf("re-upload read the source: %v", err)
	}
	if info, err := l.Stat(ctx, dst); err != nil || info.Mode != 0o755 {
		t.Errorf("after re-upload with mode 0755: %+v, %v; want the mode corrected", info, err)
	}

	// A source shorter than announced is reported, and the file survives.
	err = l.Upload(ctx, bytes.NewReader(data[:10]), 20, dst+".new", 0o644, sum)
	if err == nil || !strings.Contains(err.Error(), "10 of 20 bytes") {
		t.Errorf("short upload = %v; want it reported", err)
	}
	if _, err := os.Stat(dst + ".new"); !os.IsNotExist(err) {
		t.Errorf("a failed upload created its destination (%v)", err)
	}
	assertNoTempFiles(t, filepath.Dir(dst))

	if err := l.WriteFile(ctx, filepath.Join(dir, "a.conf"), []byte("x=1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := l.ReadFile(ctx, filepath.Join(dir, "a.conf")); err != nil || string(got) != "x=1\n" {
		t.Errorf("ReadFile = %q, %v", got, err)
	}
	if info, err := l.Stat(ctx, dir); err != nil || !info.IsDir() {
		t.Errorf("Stat(dir) = %+v, %v; want a directory", info, err)
	}
	for name, err := range map[string]error{
		"ReadFile": second(l.ReadFile(ctx, filepath.Join(dir, "missing"))),
		"Stat":     second(l.Stat(ctx, filepath.Join(dir, "missing"))),
		"Digest":   second(l.Digest(ctx, filepath.Join(dir, "missing"))),
	} {
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s of a missing file = %v; want fs.ErrNotExist", name, err)
		}
	}
	if err := l.WriteFile(ctx, "relative/path", nil, 0o644); err == nil {
		t.Error("WriteFile accepted a relative path")
	}
	if err := l.Upload(ctx, bytes.NewReader(data), int64(len(data)), dst, 0o644, "not-a-digest"); err == nil {
		t.Error("Upload accepted a malformed digest")
	}
}

func second[T any](_ T, err error) error { return err }

func TestClosedLocal(t *testing.T) {
	l := remote.NewLocal("dev")
	l.Close()
	if _, err := l.Run(context.Background(), "true", remote.RunOpts{}); !errors.Is(err, remote.ErrClosed) {
		t.Errorf("Run after Close = %v; want ErrClosed", err)
	}
}
